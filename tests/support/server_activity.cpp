// tests/support/server_activity.cpp — /proc/<pid>/fd + /proc/<pid>/net/tcp{,6} to find the ports
// of a process's sockets, joined with pg_stat_activity. Never changes server state.
#include "support/server_activity.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

std::set<unsigned long> socket_inodes(pid_t pid) {
    std::set<unsigned long> inodes;
    std::error_code ec;
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        std::error_code link_ec;
        const std::string target = std::filesystem::read_symlink(entry.path(), link_ec).string();
        constexpr std::string_view kPrefix = "socket:[";
        if (!link_ec && target.rfind(kPrefix, 0) == 0) {
            inodes.insert(std::stoul(target.substr(kPrefix.size())));
        }
    }
    return inodes;
}

int hex_port(const std::string& address) {
    const auto colon = address.rfind(':');
    return colon == std::string::npos ? -1 : std::stoi(address.substr(colon + 1), nullptr, 16);
}

}  // namespace

std::set<int> socket_ports_of(pid_t pid, std::uint16_t remote_port) {
    std::set<int> ports;
    const std::set<unsigned long> inodes = socket_inodes(pid);
    if (inodes.empty()) {
        return ports;
    }
    for (const char* table : {"tcp", "tcp6"}) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/net/" + table);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            std::istringstream fields(line);
            std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
            unsigned long inode = 0;
            if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >>
                  uid >> timeout >> inode)) {
                continue;
            }
            if (inodes.count(inode) != 0 && hex_port(remote) == remote_port) {
                ports.insert(hex_port(local));
            }
        }
    }
    return ports;
}

Rows backends_of(PgConn& admin, pid_t pid, const std::string& columns, const std::string& where) {
    const std::uint16_t primary = topology().primary_port;
    std::set<int> ports = socket_ports_of(pid, primary);
    Rows rows = admin.exec("SELECT client_port, " + columns +
                           " FROM pg_stat_activity WHERE client_port IS NOT NULL"
                           " AND backend_type = 'client backend' AND (" +
                           where + ")");
    const std::set<int> after = socket_ports_of(pid, primary);
    ports.insert(after.begin(), after.end());
    Rows mine;
    for (Row& row : rows) {
        if (row[0] && ports.count(std::stoi(*row[0])) != 0) {
            row.erase(row.begin());
            mine.push_back(std::move(row));
        }
    }
    return mine;
}

int count_backends_of(PgConn& admin, pid_t pid, const std::string& where) {
    return static_cast<int>(backends_of(admin, pid, "pid", where).size());
}

BackendCountMonitor::BackendCountMonitor(pid_t pid, std::string where,
                                         std::chrono::milliseconds interval) {
    std::promise<void> ready;
    std::future<void> started = ready.get_future();
    thread_ = std::thread([this, pid, where = std::move(where), interval, &ready] {
        run(pid, where, interval, ready);
    });
    started.wait();
}

BackendCountMonitor::~BackendCountMonitor() {
    stop();
}

void BackendCountMonitor::stop() {
    stop_ = true;
    if (thread_.joinable()) {
        thread_.join();
    }
}

void BackendCountMonitor::record(int count) {
    samples_.fetch_add(1);
    int seen = max_seen_.load();
    while (count > seen && !max_seen_.compare_exchange_weak(seen, count)) {
    }
}

void BackendCountMonitor::run(pid_t pid, const std::string& where,
                              std::chrono::milliseconds interval, std::promise<void>& ready) {
    bool signalled = false;
    try {
        PgConn admin(admin_conninfo());
        record(count_backends_of(admin, pid, where));
        ready.set_value();
        signalled = true;
        while (!stop_) {
            std::this_thread::sleep_for(interval);
            record(count_backends_of(admin, pid, where));
        }
    } catch (const TestAbort&) {
        // Already recorded as a test failure by PgConn.
    }
    if (!signalled) {
        ready.set_value();
    }
}

std::string admin_conninfo() {
    return direct_conninfo("postgres", "postgres", "postgres");
}

}  // namespace pgrouter::test
