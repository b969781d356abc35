// pgrouter/pool/backend_pool.hpp — the server connections of one (server, database, user): LIFO
// idle lists, a FIFO of waiting clients and a size limit shared by every I/O thread.
// The mutex guards O(1) list operations only, never a co_await (STYLE.md 4.5 rule 8).
//
// Each I/O thread has its own io_context. A connection's socket belongs to one of them, so idle
// connections are listed per io_context: a session takes one of its own thread first and moves
// one from another thread only when its own list is empty (BackendConn::move_to).
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "pgrouter/pool/backend_conn.hpp"

namespace pgrouter::pool {

// How a pool opens a server connection: connect_backend's signature.
using Connector = std::function<awaitable<ConnectResult>(const config::Address&, const std::string&,
                                                         const Credentials&,
                                                         std::chrono::milliseconds, std::uint64_t)>;

struct PoolSettings {
    std::uint32_t size = 20;
    std::uint32_t min_size = 0;
    std::chrono::milliseconds query_wait_timeout{5000};
    std::chrono::milliseconds idle_timeout{600000};
    std::chrono::milliseconds lifetime{3600000};
    std::chrono::milliseconds connect_timeout{2000};
    std::chrono::milliseconds reset_timeout{5000};
    std::uint32_t prepared_statements = 200;  // per server connection
    std::string reset_query = "DISCARD ALL";
    bool check_idle = true;
    Connector connector = connect_backend;  // replaced only by unit tests (no server needed)
};

struct PoolStats {
    std::uint32_t total = 0;  // open or opening
    std::uint32_t idle = 0;
    std::uint32_t waiting = 0;  // clients queued for a connection
};

class BackendPool : public std::enable_shared_from_this<BackendPool> {
public:
    BackendPool(config::Address server, std::string dbname, std::string user,
                PoolSettings settings);
    ~BackendPool();

    // A connection within query_wait_timeout: an idle one, a new one while under `size`, or one
    // handed over by release(). `credentials` are used only when a new connection is opened.
    // The connection comes on the caller's io_context. On failure `error` says why (53300 on
    // timeout, or the server's error).
    awaitable<ConnectResult> acquire(const Credentials& credentials);
    // The fast path of acquire(): an idle connection if there is one, without waiting, on `here`.
    std::unique_ptr<BackendConn> try_acquire_idle(const Executor& here);

    enum class Return { Clean, Reset, Close };
    // Gives a connection back. Clean: hand to a waiter or list it idle. Reset: run the reset query
    // first (bounded), close on failure. Close: close it. Connections past their lifetime close.
    void release(std::unique_ptr<BackendConn> conn, Return how);

    // Janitor: closes idle connections past idle timeout or lifetime. Returns how many connections
    // are missing to reach min_size.
    std::uint32_t sweep(Clock::time_point now);
    // Opens one connection for min_size and lists it idle.
    awaitable<void> add_idle(const Credentials& credentials);

    // ParameterStatus values of the first server connection (what clients are told at login);
    // null until one connection has been made.
    std::shared_ptr<const backend::ParamState::Entries> startup_params() const;

    PoolStats stats() const;
    const config::Address& server() const noexcept { return server_; }
    const std::string& user() const noexcept { return user_; }
    const std::string& dbname() const noexcept { return dbname_; }
    void close_all();

private:
    struct Waiter;
    awaitable<ConnectResult> open(const Credentials& credentials);
    void offer_slot_locked();
    std::unique_ptr<BackendConn> pop_idle_locked(const asio::execution_context* here);
    std::size_t idle_count_locked() const noexcept;
    void dropped_locked();

    const config::Address server_;
    const std::string dbname_;
    const std::string user_;
    const PoolSettings settings_;

    mutable std::mutex mutex_;
    struct IdleList {
        const asio::execution_context* context = nullptr;  // the io_context of these sockets
        std::vector<std::unique_ptr<BackendConn>> conns;   // back = most recently used
    };
    std::vector<IdleList> idle_;  // one per io_context that has given connections back
    std::deque<std::shared_ptr<Waiter>> waiters_;
    std::uint32_t total_ = 0;
    bool closed_ = false;
    std::shared_ptr<const backend::ParamState::Entries> startup_params_;
    static std::atomic<std::uint64_t> next_id_;
};

}  // namespace pgrouter::pool
