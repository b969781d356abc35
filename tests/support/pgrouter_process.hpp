// tests/support/pgrouter_process.hpp — runs the built pgrouter binary on a free loopback port with
// a generated YAML, and runs it as a CLI. Owns the child process and its temp dir; never inspects
// PostgreSQL (tests ask the server who answered, not pgrouter's log).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgrouter::test {

// The binary under test: $PGROUTER_BINARY when set (e.g. a sanitizer build), else the
// compile-time PGROUTER_BINARY (the `pgrouter` target of this build).
std::string pgrouter_binary();

// "exited with status 1" / "killed by signal 11" for a raw wait status.
std::string describe_wait_status(int status);

// Raises RLIMIT_NOFILE's soft limit to the hard limit for this process (and so for children).
// Idempotent; called by PgrouterProcess.
void raise_nofile_limit();

// A port on 127.0.0.1 that was free a moment ago (bound to port 0, then closed).
std::uint16_t free_port();

// True when something accepts TCP connections on 127.0.0.1:`port`.
bool port_accepts(std::uint16_t port);

// `{{listen}}` -> "127.0.0.1:<listen_port>", `{{primary}}` -> "127.0.0.1:<PRIMARY_PORT>",
// `{{replica1}}`/`{{replica2}}` -> "127.0.0.1:<REPLICA1_PORT>"/"127.0.0.1:<REPLICA2_PORT>",
// `{{shard0}}`, `{{shard0r}}`, `{{shard1}}` -> the shard nodes (SHARD0_PORT,
// SHARD0_REPLICA_PORT, SHARD1_PORT).
std::string substitute(std::string yaml, std::uint16_t listen_port);

class PgrouterProcess {
public:
    // Substitutes the placeholders, writes the YAML to a temp dir, starts
    // `pgrouter_binary() --config <file>` with stdout+stderr going to a log file, and waits up to
    // 10 s until the port accepts TCP. Throws std::runtime_error (with the log) when it does not.
    explicit PgrouterProcess(std::string yaml);
    // SIGTERM, then SIGKILL if it has not exited after 10 s. Keeps the temp dir (and prints the
    // log's tail) when the current test failed, or when PGROUTER_IT_KEEP is set.
    ~PgrouterProcess();
    PgrouterProcess(const PgrouterProcess&) = delete;
    PgrouterProcess& operator=(const PgrouterProcess&) = delete;

    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    const std::string& config_path() const { return config_path_; }
    const std::string& log_path() const { return log_path_; }

    // libpq conninfo to pgrouter (sslmode left at libpq's default "prefer", as real clients do).
    std::string conninfo(std::string_view user, std::string_view password, std::string_view db,
                         std::string_view extra = "") const;

    std::string log() const;  // the whole log file as it is now
    bool send_signal(int signal) const;
    // Waits for the process to exit; returns the raw wait status (use WIFEXITED...), or nullopt
    // when it is still running after `timeout`.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    bool running();

private:
    std::string dir_;
    std::string config_path_;
    std::string log_path_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    std::optional<int> status_;
};

struct CommandResult {
    std::optional<int> status;  // raw wait status; nullopt = killed after the timeout
    std::string output;         // stdout and stderr interleaved
};

// Runs pgrouter_binary() with `args` (no config substitution), bounded by `timeout`.
CommandResult run_pgrouter(const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds{10000});

// Runs the program `argv[0]` (an absolute path: no PATH lookup) with `argv`, stdout and stderr
// captured, bounded by `timeout` (then killed: status nullopt). For other tools, e.g. pgbench.
CommandResult run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// Writes `text` to a new file in a fresh temp dir and returns its path (removed at exit).
std::string write_temp_file(std::string_view name, std::string_view text);

}  // namespace pgrouter::test
