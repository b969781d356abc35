// tests/integration/cli_test.cpp — the pgrouter command line: --version, --help, --check-config on
// good and bad files (every error with file name and YAML line), and refusing to start on a bad
// config without ever listening.
#include <sys/wait.h>

#include <atomic>
#include <future>
#include <regex>
#include <string>

#include <gtest/gtest.h>

#include "support/pgrouter_process.hpp"
#include "support/pgrouter_yaml.hpp"

namespace pgrouter::test {
namespace {

using std::chrono::milliseconds;

bool exited_with(const CommandResult& result, int code) {
    return result.status && WIFEXITED(*result.status) && WEXITSTATUS(*result.status) == code;
}

std::string status_text(const CommandResult& result) {
    return result.status ? describe_wait_status(*result.status) : "timed out";
}

// 1-based line of the first line of `text` that starts with `prefix`; 0 when none.
int line_starting_with(const std::string& text, const std::string& prefix) {
    int line = 1;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        if (text.compare(pos, prefix.size(), prefix) == 0) {
            return line;
        }
        const std::size_t next = text.find('\n', pos);
        if (next == std::string::npos) {
            break;
        }
        pos = next + 1;
        ++line;
    }
    return 0;
}

// base_yaml with `pool.size: many` and an unknown top-level key: two independent errors.
std::string yaml_with_two_errors() {
    std::string yaml = substitute(base_yaml(), free_port());
    const std::size_t size = yaml.find("  size: ");
    const std::size_t end = yaml.find('\n', size);
    yaml.replace(size, end - size, "  size: many");
    yaml += "bogus_key: 1\n";
    return yaml;
}

TEST(Cli, VersionPrintsAVersionAndExitsZero) {
    const CommandResult result = run_pgrouter({"--version"});
    EXPECT_TRUE(exited_with(result, 0)) << status_text(result);
    EXPECT_TRUE(std::regex_search(result.output, std::regex("[0-9]+\\.[0-9]+\\.[0-9]+")))
        << result.output;
}

TEST(Cli, HelpExitsZeroAndMentionsTheConfigFlag) {
    const CommandResult result = run_pgrouter({"--help"});
    EXPECT_TRUE(exited_with(result, 0)) << status_text(result);
    EXPECT_NE(result.output.find("--config"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("--check-config"), std::string::npos) << result.output;
}

TEST(Cli, CheckConfigAcceptsAGoodFile) {
    const std::uint16_t port = free_port();
    const std::string path = write_temp_file("good.yaml", substitute(base_yaml(), port));
    const CommandResult result = run_pgrouter({"--check-config", path});
    EXPECT_TRUE(exited_with(result, 0)) << status_text(result) << "\n" << result.output;
    EXPECT_FALSE(port_accepts(port)) << "--check-config must not start listening";
}

// The issue's sharded database: two shards, half of the slots each.
constexpr const char* kShardedYaml = R"(listen: "127.0.0.1:16999"
users:
  - name: app
    password: app
databases:
  app:
    sharding:
      function: xxh3
      slots: 1024
      tables:
        accounts: { key: user_id, type: bigint }
        notes:    { key: owner, type: text }
      reference_tables: [countries]
    shards:
      - { slots: "0-511",    primary: "127.0.0.1:5441", replicas: ["127.0.0.1:5443"] }
      - { slots: "512-1023", primary: "127.0.0.1:5442" }
)";

TEST(Cli, ShardOfPrintsSlotShardAndPrimary) {
    const std::string path = write_temp_file("sharded.yaml", kShardedYaml);
    // XXH3-64 (seed 0) of 42 as 8 little-endian bytes is 0xd5a6f8c838df27c8; mod 1024 = 968.
    CommandResult result = run_pgrouter(
        {"shard-of", "--config", path, "--database", "app", "--table", "accounts", "--key", "42"});
    EXPECT_TRUE(exited_with(result, 0)) << status_text(result) << "\n" << result.output;
    EXPECT_EQ(result.output, "slot=968 shard=1 primary=127.0.0.1:5442\n");
    result = run_pgrouter(
        {"shard-of", "--config", path, "--database", "app", "--table", "accounts", "--key", "4.0"});
    EXPECT_TRUE(exited_with(result, 1)) << status_text(result) << "\n" << result.output;
    result = run_pgrouter({"shard-of", "--config", path, "--database", "app"});
    EXPECT_TRUE(exited_with(result, 2)) << status_text(result) << "\n" << result.output;
}

TEST(Cli, CheckConfigReportsEveryErrorWithFileAndLine) {
    const std::string yaml = yaml_with_two_errors();
    const int size_line = line_starting_with(yaml, "  size: many");
    const int bogus_line = line_starting_with(yaml, "bogus_key:");
    ASSERT_GT(size_line, 0);
    ASSERT_GT(bogus_line, size_line);
    const std::string path = write_temp_file("two_errors.yaml", yaml);

    const CommandResult result = run_pgrouter({"--check-config", path});
    EXPECT_TRUE(exited_with(result, 1)) << status_text(result) << "\n" << result.output;
    const std::string size_at = "two_errors.yaml:" + std::to_string(size_line) + ":";
    const std::string bogus_at = "two_errors.yaml:" + std::to_string(bogus_line) + ":";
    EXPECT_NE(result.output.find(size_at), std::string::npos)
        << "no error at " << size_at << " in:\n"
        << result.output;
    EXPECT_NE(result.output.find(bogus_at), std::string::npos)
        << "no error at " << bogus_at << " in:\n"
        << result.output;
    EXPECT_NE(result.output.find("pool.size"), std::string::npos) << result.output;
    EXPECT_NE(result.output.find("bogus_key"), std::string::npos) << result.output;
}

TEST(Cli, RefusesToStartWithABadConfigAndNeverListens) {
    const std::string yaml = yaml_with_two_errors();
    const std::string listen = "listen: \"127.0.0.1:";
    const std::size_t at = yaml.find(listen) + listen.size();
    const std::uint16_t port = static_cast<std::uint16_t>(std::stoi(yaml.substr(at)));
    const std::string path = write_temp_file("bad.yaml", yaml);

    auto run = std::async(std::launch::async, [&] {
        return run_pgrouter({"--config", path}, milliseconds(10000));
    });
    bool listened = false;
    while (run.wait_for(milliseconds(20)) != std::future_status::ready) {
        listened = listened || port_accepts(port);
    }
    const CommandResult result = run.get();
    ASSERT_TRUE(result.status.has_value()) << "pgrouter kept running with a bad config";
    EXPECT_TRUE(WIFEXITED(*result.status) && WEXITSTATUS(*result.status) != 0)
        << status_text(result) << "\n"
        << result.output;
    EXPECT_FALSE(listened) << "pgrouter listened on " << port << " despite a bad config";
    EXPECT_NE(result.output.find("bad.yaml:"), std::string::npos) << result.output;
}

}  // namespace
}  // namespace pgrouter::test
