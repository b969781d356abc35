// tests/integration/docker_compose_test.cpp — the docker-compose demo is wired consistently: the
// services exist, pgrouter is built from the repo's Dockerfile with config/pgrouter.docker.yaml
// mounted where its entrypoint reads it, and that config loads and points at the postgres
// service (the primary) with the credentials that service creates, and at replica services
// that copy that primary through a slot and role the primary's init script creates. Reads files
// only; runs no container.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "pgrouter/config/load.hpp"

namespace pgrouter::test {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = PGROUTER_SOURCE_DIR;

std::string read_text(const fs::path& path) {
    std::ifstream in(path);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

// A compose `command`/`entrypoint`: list form, or a string split on spaces.
std::vector<std::string> words(const YAML::Node& node) {
    std::vector<std::string> out;
    if (!node.IsDefined()) {
        return out;  // a missing key gives a "zombie" node: anything but IsDefined() throws
    }
    if (node.IsSequence()) {
        for (const YAML::Node& item : node) {
            out.push_back(item.as<std::string>());
        }
    } else if (node.IsScalar()) {
        std::istringstream in(node.as<std::string>());
        for (std::string word; in >> word;) {
            out.push_back(word);
        }
    }
    return out;
}

// The value after "--config" (or of "--config=..."), if any.
std::optional<std::string> config_flag(const std::vector<std::string>& args) {
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--config" && i + 1 < args.size()) {
            return args[i + 1];
        }
        if (args[i].rfind("--config=", 0) == 0) {
            return args[i].substr(9);
        }
    }
    return std::nullopt;
}

// ENTRYPOINT and CMD of the final stage of a Dockerfile, exec (JSON) or shell form.
std::vector<std::string> dockerfile_command(const std::string& dockerfile) {
    std::vector<std::string> entrypoint, cmd;
    std::istringstream in(dockerfile);
    const std::regex quoted("\"([^\"]*)\"");
    for (std::string line; std::getline(in, line);) {
        std::vector<std::string>* target = nullptr;
        if (line.rfind("FROM ", 0) == 0) {
            entrypoint.clear();
            cmd.clear();
        } else if (line.rfind("ENTRYPOINT ", 0) == 0) {
            target = &entrypoint;
        } else if (line.rfind("CMD ", 0) == 0) {
            target = &cmd;
        }
        if (target == nullptr) {
            continue;
        }
        target->clear();
        const std::string rest = line.substr(line.find(' ') + 1);
        if (rest.find('[') != std::string::npos) {
            for (std::sregex_iterator it(rest.begin(), rest.end(), quoted), end; it != end; ++it) {
                target->push_back((*it)[1]);
            }
        } else {
            std::istringstream words_in(rest);
            for (std::string word; words_in >> word;) {
                target->push_back(word);
            }
        }
    }
    entrypoint.insert(entrypoint.end(), cmd.begin(), cmd.end());
    return entrypoint;
}

struct Mount {
    std::string source;
    std::string target;
};

std::vector<Mount> mounts(const YAML::Node& service) {
    std::vector<Mount> out;
    if (!service.IsDefined() || !service["volumes"].IsDefined()) {
        return out;
    }
    for (const YAML::Node& volume : service["volumes"]) {
        if (volume.IsScalar()) {
            const std::string spec = volume.as<std::string>();
            const std::size_t first = spec.find(':');
            if (first == std::string::npos) {
                continue;
            }
            const std::size_t second = spec.find(':', first + 1);
            out.push_back(
                {spec.substr(0, first),
                 spec.substr(first + 1, second == std::string::npos ? std::string::npos
                                                                    : second - first - 1)});
        } else if (volume.IsMap() && volume["source"] && volume["target"]) {
            out.push_back({volume["source"].as<std::string>(), volume["target"].as<std::string>()});
        }
    }
    return out;
}

std::string normalized(std::string path) {
    while (path.rfind("./", 0) == 0) {
        path = path.substr(2);
    }
    return path;
}

// environment: as a map or as a list of KEY=VALUE.
std::optional<std::string> env_value(const YAML::Node& service, const std::string& key) {
    if (!service.IsDefined() || !service["environment"].IsDefined()) {
        return std::nullopt;
    }
    const YAML::Node env = service["environment"];
    if (env.IsMap() && env[key]) {
        return env[key].as<std::string>();
    }
    if (env.IsSequence()) {
        for (const YAML::Node& item : env) {
            const std::string entry = item.as<std::string>();
            if (entry.rfind(key + "=", 0) == 0) {
                return entry.substr(key.size() + 1);
            }
        }
    }
    return std::nullopt;
}

// The port a postgres-image service listens on inside the compose network.
int postgres_listen_port(const YAML::Node& service) {
    const std::vector<std::string> args = words(service["command"]);
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
        if (args[i] == "-p") {
            return std::stoi(args[i + 1]);
        }
        if (args[i] == "-c" && args[i + 1].rfind("port=", 0) == 0) {
            return std::stoi(args[i + 1].substr(5));
        }
    }
    return 5432;
}

// depends_on: as a list of names or as a map of name -> {condition: ...}.
std::vector<std::string> dependencies(const YAML::Node& service) {
    std::vector<std::string> out;
    if (!service.IsDefined() || !service["depends_on"].IsDefined()) {
        return out;
    }
    const YAML::Node deps = service["depends_on"];
    if (deps.IsSequence()) {
        for (const YAML::Node& item : deps) {
            out.push_back(item.as<std::string>());
        }
    } else if (deps.IsMap()) {
        for (auto it = deps.begin(); it != deps.end(); ++it) {
            out.push_back(it->first.as<std::string>());
        }
    }
    return out;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

class DockerCompose : public ::testing::Test {
protected:
    void SetUp() override {
        const fs::path compose_path = kSource / "docker-compose.yml";
        ASSERT_TRUE(fs::exists(compose_path)) << compose_path;
        try {
            compose_ = YAML::LoadFile(compose_path.string());
        } catch (const YAML::Exception& e) {
            FAIL() << "docker-compose.yml is not valid YAML: " << e.what();
        }
        const YAML::Node& compose = compose_;
        services_ = compose["services"];
        ASSERT_TRUE(services_.IsMap()) << "no services: map";
    }

    // Read through a const node: yaml-cpp's non-const operator[] may add keys.
    YAML::Node service(const std::string& name) const { return services_[name]; }

    YAML::Node compose_;
    YAML::Node services_;
};

TEST_F(DockerCompose, HasPrimaryReplicasAndPgrouterServices) {
    for (const char* name : {"postgres", "replica1", "replica2", "pgrouter"}) {
        EXPECT_TRUE(service(name).IsMap()) << "no service " << name;
    }
}

TEST_F(DockerCompose, PgrouterIsBuiltFromTheRepoDockerfile) {
    const YAML::Node build = service("pgrouter")["build"];
    ASSERT_TRUE(build.IsDefined()) << "the pgrouter service has no build:";
    std::string context = ".";
    std::string dockerfile = "Dockerfile";
    if (build.IsScalar()) {
        context = build.as<std::string>();
    } else {
        if (build["context"]) {
            context = build["context"].as<std::string>();
        }
        if (build["dockerfile"]) {
            dockerfile = build["dockerfile"].as<std::string>();
        }
    }
    EXPECT_TRUE(fs::equivalent(kSource / context, kSource)) << "build context " << context;
    EXPECT_TRUE(fs::is_regular_file(kSource / context / dockerfile)) << dockerfile;
}

TEST_F(DockerCompose, ConfigIsMountedWhereTheEntrypointReadsIt) {
    const YAML::Node pgrouter = service("pgrouter");
    std::vector<std::string> command = words(pgrouter["entrypoint"]);
    const std::vector<std::string> cmd = words(pgrouter["command"]);
    command.insert(command.end(), cmd.begin(), cmd.end());
    std::optional<std::string> config_path = config_flag(command);
    if (!config_path) {
        config_path = config_flag(dockerfile_command(read_text(kSource / "Dockerfile")));
    }
    ASSERT_TRUE(config_path.has_value())
        << "neither the compose service nor the Dockerfile passes --config";

    bool mounted = false;
    for (const Mount& m : mounts(pgrouter)) {
        if (normalized(m.source) == "config/pgrouter.docker.yaml") {
            EXPECT_EQ(m.target, *config_path) << "mounted somewhere pgrouter does not read";
            mounted = mounted || m.target == *config_path;
        }
    }
    EXPECT_TRUE(mounted) << "./config/pgrouter.docker.yaml is not mounted at " << *config_path;
}

TEST_F(DockerCompose, DockerConfigLoadsAndPointsAtThePostgresService) {
    const std::string path = (kSource / "config" / "pgrouter.docker.yaml").string();
    const config::LoadResult loaded = config::load_config_file(path);
    std::string errors;
    for (const config::ConfigError& e : loaded.errors) {
        errors += config::format_error(e, "pgrouter.docker.yaml") + "\n";
    }
    ASSERT_TRUE(loaded.ok()) << errors;
    const config::Config& cfg = *loaded.config;
    ASSERT_FALSE(cfg.databases.empty());
    ASSERT_FALSE(cfg.users.empty());

    const std::vector<std::string> router_deps = dependencies(service("pgrouter"));
    for (const config::DatabaseConfig& db : cfg.databases) {
        std::vector<config::Address> servers = {db.primary};
        servers.insert(servers.end(), db.replicas.begin(), db.replicas.end());
        for (const config::Address& server : servers) {
            const YAML::Node target = service(server.host);
            ASSERT_TRUE(target.IsMap())
                << db.name << ": host '" << server.host << "' is not a compose service";
            EXPECT_EQ(server.port, postgres_listen_port(target))
                << db.name << ": service " << server.host << " does not listen on that port";
            EXPECT_TRUE(contains(router_deps, server.host))
                << "pgrouter does not wait for (depends_on) " << server.host;
        }
    }

    // pgrouter must be reachable through the published port.
    EXPECT_TRUE(cfg.listen.host == "0.0.0.0" || cfg.listen.host == "::")
        << "listen " << cfg.listen.to_string() << " is unreachable from outside the container";
    bool published = false;
    const YAML::Node ports = service("pgrouter")["ports"];
    ASSERT_TRUE(ports.IsSequence()) << "the pgrouter service publishes no ports";
    for (const YAML::Node& port : ports) {
        const std::string spec = port.IsScalar()  ? port.as<std::string>()
                                 : port["target"] ? port["target"].as<std::string>()
                                                  : "";
        const std::string container = spec.substr(spec.rfind(':') + 1);
        published = published || container == std::to_string(cfg.listen.port) ||
                    container == std::to_string(cfg.listen.port) + "/tcp";
    }
    EXPECT_TRUE(published) << "port " << cfg.listen.port << " is not published";
}

// Each configured replica is a service that copies the configured primary: its entrypoint is the
// mounted docker/replica-entrypoint.sh, PRIMARY_HOST names the primary's service, and the slot and
// the replication role's password it uses are the ones docker/primary-init.sh creates on the
// primary (which must be mounted as an init script of the primary's service).
TEST_F(DockerCompose, ReplicasStreamFromTheConfiguredPrimary) {
    const config::LoadResult loaded =
        config::load_config_file((kSource / "config" / "pgrouter.docker.yaml").string());
    ASSERT_TRUE(loaded.ok());
    const config::Config& cfg = *loaded.config;
    const std::string init_script = read_text(kSource / "docker" / "primary-init.sh");
    ASSERT_FALSE(init_script.empty()) << "docker/primary-init.sh is missing";
    const std::regex role_password(
        R"(CREATE ROLE (\w+) WITH REPLICATION LOGIN PASSWORD '([^']*)')");
    std::smatch role;
    ASSERT_TRUE(std::regex_search(init_script, role, role_password))
        << "docker/primary-init.sh creates no replication role";

    std::size_t replicas = 0;
    for (const config::DatabaseConfig& db : cfg.databases) {
        const YAML::Node primary = service(db.primary.host);
        bool init_mounted = false;
        for (const Mount& m : mounts(primary)) {
            init_mounted = init_mounted || (normalized(m.source) == "docker/primary-init.sh" &&
                                            m.target.rfind("/docker-entrypoint-initdb.d/", 0) == 0);
        }
        EXPECT_TRUE(init_mounted) << db.primary.host
                                  << " does not run docker/primary-init.sh as an init script";
        for (const config::Address& address : db.replicas) {
            ++replicas;
            const YAML::Node replica = service(address.host);
            ASSERT_TRUE(replica.IsMap()) << address.host << " is not a compose service";
            EXPECT_NE(address.host, db.primary.host) << db.name << ": replica is the primary";
            EXPECT_EQ(env_value(replica, "PRIMARY_HOST").value_or(""), db.primary.host)
                << address.host << " does not copy " << db.primary.host;
            EXPECT_EQ(env_value(replica, "REPLICATION_USER").value_or("replicator"), role[1].str())
                << address.host << ": not the replication role docker/primary-init.sh creates";
            EXPECT_EQ(env_value(replica, "PGPASSWORD").value_or(""), role[2].str())
                << address.host << ": PGPASSWORD is not the replication role's password";
            const std::string slot = env_value(replica, "REPLICA_SLOT").value_or("");
            EXPECT_NE(init_script.find("pg_create_physical_replication_slot('" + slot + "'"),
                      std::string::npos)
                << address.host << ": docker/primary-init.sh creates no slot '" << slot << "'";
            EXPECT_TRUE(contains(dependencies(replica), db.primary.host))
                << address.host << " must start after (depends_on) " << db.primary.host;

            // The entrypoint runs the mounted script.
            std::string script_target;
            for (const Mount& m : mounts(replica)) {
                if (normalized(m.source) == "docker/replica-entrypoint.sh") {
                    script_target = m.target;
                }
            }
            ASSERT_FALSE(script_target.empty())
                << address.host << " does not mount docker/replica-entrypoint.sh";
            EXPECT_TRUE(contains(words(replica["entrypoint"]), script_target))
                << address.host << "'s entrypoint does not run " << script_target;
        }
    }
    EXPECT_GE(replicas, 2U) << "the demo config names fewer than two replicas";
    EXPECT_TRUE(fs::is_regular_file(kSource / "docker" / "replica-entrypoint.sh"));
}

TEST_F(DockerCompose, CredentialsMatchWhatThePostgresServiceCreates) {
    const YAML::Node postgres = service("postgres");
    ASSERT_TRUE(postgres.IsMap());
    const std::string user = env_value(postgres, "POSTGRES_USER").value_or("postgres");
    const std::optional<std::string> password = env_value(postgres, "POSTGRES_PASSWORD");
    const std::string db = env_value(postgres, "POSTGRES_DB").value_or(user);
    ASSERT_TRUE(password.has_value()) << "postgres service without POSTGRES_PASSWORD";

    const config::LoadResult loaded =
        config::load_config_file((kSource / "config" / "pgrouter.docker.yaml").string());
    ASSERT_TRUE(loaded.ok());
    const config::Config& cfg = *loaded.config;
    // A fresh postgres container has only POSTGRES_USER and POSTGRES_DB, unless init scripts
    // create more; then at least one configured user and database must be those.
    bool init_scripts = false;
    for (const Mount& m : mounts(postgres)) {
        init_scripts = init_scripts || m.target.rfind("/docker-entrypoint-initdb.d", 0) == 0;
    }
    bool user_found = false;
    for (const config::UserConfig& u : cfg.users) {
        const bool match = u.name == user && u.server_password == *password;
        user_found = user_found || match;
        if (!init_scripts) {
            EXPECT_TRUE(match) << "user " << u.name << " does not exist in the container, or its"
                               << " server password is not POSTGRES_PASSWORD";
        }
    }
    EXPECT_TRUE(user_found) << "no configured user is POSTGRES_USER " << user
                            << " with POSTGRES_PASSWORD";
    bool db_found = false;
    for (const config::DatabaseConfig& d : cfg.databases) {
        db_found = db_found || d.dbname == db;
        if (!init_scripts) {
            EXPECT_EQ(d.dbname, db) << d.name << ": the container has only POSTGRES_DB";
        }
    }
    EXPECT_TRUE(db_found) << "no configured database is POSTGRES_DB " << db;
}

}  // namespace
}  // namespace pgrouter::test
