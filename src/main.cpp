// pgrouter main — command-line flags, config loading, the Server and shard-of; nothing else.
#include <malloc.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include "pgrouter/config/load.hpp"
#include "pgrouter/logging/logging.hpp"
#include "pgrouter/net/server.hpp"
#include "pgrouter/sharding/shard_of.hpp"

namespace {

constexpr const char* kUsage =
    "pgrouter " PGROUTER_VERSION
    " - a transparent PostgreSQL proxy with transaction pooling\n"
    "\n"
    "Usage:\n"
    "  pgrouter --config FILE        run with the YAML config FILE\n"
    "  pgrouter --check-config FILE  validate FILE, print every error with its line, exit 1 if "
    "any\n"
    "  pgrouter shard-of --config FILE --database NAME --table TABLE --key VALUE\n"
    "                                print the slot, shard and primary of one shard key\n"
    "  pgrouter --version            print the version\n"
    "  pgrouter --help               this text\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop accepting, let running transactions finish (bounded by\n"
    "limits.shutdown_timeout_ms), then exit; a second signal exits at once.\n";

int print_errors(const pgrouter::config::LoadResult& result, const std::string& file) {
    for (const auto& error : result.errors) {
        std::cerr << pgrouter::config::format_error(error, file) << "\n";
    }
    return result.ok() ? 0 : 1;
}

// `pgrouter shard-of --config FILE --database NAME --table TABLE --key VALUE`, options in any
// order, each once. Exit 2 for a usage error, 1 when the config, database, table or key is wrong.
int shard_of_command(int argc, char** argv) {
    std::optional<std::string> file, database, table, key;
    for (int i = 2; i < argc; i += 2) {
        const std::string_view flag = argv[i];
        std::optional<std::string>* slot = flag == "--config"     ? &file
                                           : flag == "--database" ? &database
                                           : flag == "--table"    ? &table
                                           : flag == "--key"      ? &key
                                                                  : nullptr;
        if (slot == nullptr || slot->has_value() || i + 1 >= argc) {
            std::cerr << kUsage;
            return 2;
        }
        *slot = argv[i + 1];  // taken as is, so "--key -7" works
    }
    if (!file || !database || !table || !key) {
        std::cerr << kUsage;
        return 2;
    }
    pgrouter::config::LoadResult loaded = pgrouter::config::load_config_file(*file);
    if (!loaded.ok()) {
        print_errors(loaded, *file);
        return 1;
    }
    const pgrouter::config::DatabaseConfig* found = loaded.config->find_database(*database);
    if (found == nullptr) {
        std::cerr << "pgrouter shard-of: no database '" << *database << "' in " << *file << "\n";
        return 1;
    }
    const pgrouter::sharding::ShardOfResult result =
        pgrouter::sharding::shard_of(*found, *table, *key);
    if (!result.ok()) {
        std::cerr << "pgrouter shard-of: " << result.message << "\n";
        return 1;
    }
    std::cout << pgrouter::sharding::format_shard_of(result.value) << "\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
        std::cout << kUsage;
        return 0;
    }
    if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-V") == 0)) {
        std::cout << "pgrouter " PGROUTER_VERSION "\n";
        return 0;
    }
    if (argc >= 2 && std::strcmp(argv[1], "shard-of") == 0) {
        return shard_of_command(argc, argv);
    }
    if (argc != 3 ||
        (std::strcmp(argv[1], "--config") != 0 && std::strcmp(argv[1], "--check-config") != 0)) {
        std::cerr << kUsage;
        return 2;
    }
    const std::string file = argv[2];
    pgrouter::config::LoadResult loaded = pgrouter::config::load_config_file(file);
    if (std::strcmp(argv[1], "--check-config") == 0) {
        int rc = print_errors(loaded, file);
        if (rc == 0) {
            std::cout << file << ": OK\n";
        }
        return rc;
    }
    if (!loaded.ok()) {
        print_errors(loaded, file);
        std::cerr << "pgrouter: not starting, the config has errors\n";
        return 1;
    }
    auto config = std::make_shared<const pgrouter::config::Config>(std::move(*loaded.config));
    pgrouter::logging::setup(config->log.level);
    try {
        // Read buffers (16 KiB) and large messages come straight from the kernel and go back to it:
        // a burst of busy clients then leaves no holes between the small, long-lived objects of
        // idle ones. Steady traffic takes its buffers from per-thread caches, not from here.
        mallopt(M_MMAP_THRESHOLD, 16 * 1024);
        pgrouter::net::Server server(config);
        return server.run();
    } catch (const std::exception& e) {
        spdlog::critical("pgrouter: {}", e.what());
        return 1;
    }
}
