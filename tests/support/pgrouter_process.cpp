// tests/support/pgrouter_process.cpp — fork/exec of the pgrouter binary with its output in a log
// file. The child gets PR_SET_PDEATHSIG so a crashed test never leaves pgrouter running.
#include "support/pgrouter_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

using Clock = std::chrono::steady_clock;

// Temp dirs made for CLI runs and config files, removed when the test binary exits.
struct TempDirs {
    std::mutex mutex;
    std::vector<std::string> dirs;
    ~TempDirs() {
        if (std::getenv("PGROUTER_IT_KEEP") != nullptr) {
            return;
        }
        for (const std::string& dir : dirs) {
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
        }
    }
};

TempDirs& temp_dirs() {
    static TempDirs instance;
    return instance;
}

std::string make_temp_dir(const char* prefix) {
    std::string templ = std::string("/tmp/") + prefix + "-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
    }
    return templ;
}

std::string make_owned_temp_dir(const char* prefix) {
    std::string dir = make_temp_dir(prefix);
    std::lock_guard lock(temp_dirs().mutex);
    temp_dirs().dirs.push_back(dir);
    return dir;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
    std::size_t pos = 0;
    while ((pos = text.find(from, pos)) != std::string::npos) {
        text.replace(pos, from.size(), to);
        pos += to.size();
    }
}

// fork + exec with stdout/stderr into `log_fd`. The child dies with the test process.
pid_t spawn(const std::vector<std::string>& args, int log_fd) {
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (const std::string& arg : args) {
        argv.push_back(const_cast<char*>(arg.c_str()));
    }
    argv.push_back(nullptr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        throw std::runtime_error("fork failed: " + std::string(std::strerror(errno)));
    }
    if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);
        }
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) {
            ::dup2(devnull, STDIN_FILENO);
        }
        ::execv(argv[0], argv.data());
        std::fprintf(stderr, "exec %s failed: %s\n", argv[0], std::strerror(errno));
        ::_exit(127);
    }
    return pid;
}

std::optional<int> wait_pid(pid_t pid, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        int status = 0;
        const pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return status;
        }
        if (r < 0 && errno != EINTR) {
            return std::nullopt;
        }
        if (Clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

}  // namespace

std::string pgrouter_binary() {
    if (const char* from_env = std::getenv("PGROUTER_BINARY")) {
        if (*from_env != '\0') {
            return from_env;
        }
    }
    return PGROUTER_BINARY;
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) {
        return "exited with status " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    }
    return "wait status " + std::to_string(status);
}

void raise_nofile_limit() {
    static std::once_flag once;
    std::call_once(once, [] {
        rlimit limit{};
        if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
            limit.rlim_cur = limit.rlim_max;
            ::setrlimit(RLIMIT_NOFILE, &limit);
        }
    });
}

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        throw std::runtime_error("socket failed");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("bind to 127.0.0.1:0 failed");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

bool port_accepts(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return false;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

std::string substitute(std::string yaml, std::uint16_t listen_port) {
    replace_all(yaml, "{{listen}}", "127.0.0.1:" + std::to_string(listen_port));
    replace_all(yaml, "{{primary}}", "127.0.0.1:" + std::to_string(topology().primary_port));
    replace_all(yaml, "{{replica1}}", "127.0.0.1:" + std::to_string(topology().replica1_port));
    replace_all(yaml, "{{replica2}}", "127.0.0.1:" + std::to_string(topology().replica2_port));
    replace_all(yaml, "{{shard0}}", "127.0.0.1:" + std::to_string(topology().shard0_port));
    replace_all(yaml, "{{shard0r}}", "127.0.0.1:" + std::to_string(topology().shard0_replica_port));
    replace_all(yaml, "{{shard1}}", "127.0.0.1:" + std::to_string(topology().shard1_port));
    return yaml;
}

PgrouterProcess::PgrouterProcess(std::string yaml) {
    raise_nofile_limit();
    dir_ = make_temp_dir("pgrouter-it");
    config_path_ = dir_ + "/pgrouter.yaml";
    log_path_ = dir_ + "/pgrouter.log";
    // free_port() is a guess: between closing the probe socket and pgrouter's bind, another
    // process (a parallel test, an outgoing connection) may take the port. Retry then.
    constexpr int kAttempts = 3;
    for (int attempt = 1;; ++attempt) {
        port_ = free_port();
        {
            std::ofstream out(config_path_, std::ios::trunc);
            out << substitute(yaml, port_);
        }
        const int log_fd =
            ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log_fd < 0) {
            throw std::runtime_error("cannot create " + log_path_);
        }
        pid_ = spawn({pgrouter_binary(), "--config", config_path_}, log_fd);
        ::close(log_fd);
        status_.reset();

        const auto deadline = Clock::now() + std::chrono::seconds(10);
        bool retry = false;
        while (!port_accepts(port_)) {
            if (auto status = wait_pid(pid_, std::chrono::milliseconds(0))) {
                status_ = status;
                const std::string text = log();
                if (attempt < kAttempts && text.find("in use") != std::string::npos) {
                    retry = true;
                    break;
                }
                throw std::runtime_error("pgrouter " + describe_wait_status(*status) +
                                         " during start-up; config " + config_path_ + "; log:\n" +
                                         text);
            }
            if (Clock::now() >= deadline) {
                ::kill(pid_, SIGKILL);
                status_ = wait_pid(pid_, std::chrono::seconds(5));
                throw std::runtime_error(
                    "pgrouter did not accept TCP on 127.0.0.1:" + std::to_string(port_) +
                    " within 10 s; config " + config_path_ + "; log:\n" + log());
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        if (!retry) {
            return;
        }
    }
}

PgrouterProcess::~PgrouterProcess() {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGTERM);
        status_ = wait_pid(pid_, std::chrono::seconds(10));
        if (!status_) {
            ::kill(pid_, SIGKILL);
            status_ = wait_pid(pid_, std::chrono::seconds(5));
        }
    }
    const bool failed = ::testing::Test::HasFailure();
    if (failed || std::getenv("PGROUTER_IT_KEEP") != nullptr) {
        const std::string text = log();
        const std::size_t tail = text.size() > 6000 ? text.size() - 6000 : 0;
        std::fprintf(stderr, "--- pgrouter log %s (config %s), last %zu bytes:\n%s\n---\n",
                     log_path_.c_str(), config_path_.c_str(), text.size() - tail,
                     text.c_str() + tail);
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

std::string PgrouterProcess::conninfo(std::string_view user, std::string_view password,
                                      std::string_view db, std::string_view extra) const {
    std::string out = "host=127.0.0.1 port=" + std::to_string(port_) +
                      " user=" + conninfo_quote(user) + " dbname=" + conninfo_quote(db) +
                      " connect_timeout=10 gssencmode=disable";
    if (!password.empty()) {
        out += " password=" + conninfo_quote(password);
    }
    if (!extra.empty()) {
        out += " ";
        out += extra;
    }
    return out;
}

std::string PgrouterProcess::log() const {
    return read_file(log_path_);
}

bool PgrouterProcess::send_signal(int signal) const {
    return pid_ > 0 && !status_ && ::kill(pid_, signal) == 0;
}

std::optional<int> PgrouterProcess::wait_exit(std::chrono::milliseconds timeout) {
    if (!status_ && pid_ > 0) {
        status_ = wait_pid(pid_, timeout);
    }
    return status_;
}

bool PgrouterProcess::running() {
    return !wait_exit(std::chrono::milliseconds(0)).has_value();
}

CommandResult run_pgrouter(const std::vector<std::string>& args,
                           std::chrono::milliseconds timeout) {
    std::vector<std::string> argv{pgrouter_binary()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_program(argv, timeout);
}

CommandResult run_program(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
    static const std::string dir = make_owned_temp_dir("pgrouter-cli");
    static std::atomic<int> counter{0};
    const std::string out_path = dir + "/out" + std::to_string(++counter) + ".txt";
    const int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw std::runtime_error("cannot create " + out_path);
    }
    const pid_t pid = spawn(argv, fd);
    ::close(fd);
    CommandResult result;
    result.status = wait_pid(pid, timeout);
    if (!result.status) {
        ::kill(pid, SIGKILL);
        wait_pid(pid, std::chrono::seconds(5));
    }
    result.output = read_file(out_path);
    return result;
}

std::string write_temp_file(std::string_view name, std::string_view text) {
    const std::string dir = make_owned_temp_dir("pgrouter-it-file");
    const std::string path = dir + "/" + std::string(name);
    std::ofstream out(path, std::ios::binary);
    out << text;
    return path;
}

}  // namespace pgrouter::test
