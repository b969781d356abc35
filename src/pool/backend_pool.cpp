// pgrouter/pool/backend_pool.cpp — checkout, hand-over and upkeep of server connections.
#include "pgrouter/pool/backend_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "pgrouter/wire/sqlstate.hpp"

namespace pgrouter::pool {

std::atomic<std::uint64_t> BackendPool::next_id_{1};

namespace {
const std::string kDiscardAll = "DISCARD ALL";
}  // namespace

// A client queued for a connection. Shared with release(), which posts the timer's cancel to the
// waiter's io_context; the waiter started its wait before it could yield its thread, so the
// wake-up cannot be lost.
struct BackendPool::Waiter {
    explicit Waiter(Executor here) : home(here), timer(here) {}
    Executor home;
    Timer timer;
    std::unique_ptr<BackendConn> conn;  // handed over by release()
    bool may_connect = false;           // a slot under `size` was reserved for this waiter
};

BackendPool::BackendPool(config::Address server, std::string dbname, std::string user,
                         PoolSettings settings)
    : server_(std::move(server)),
      dbname_(std::move(dbname)),
      user_(std::move(user)),
      settings_(std::move(settings)) {}

BackendPool::~BackendPool() {
    close_all();
}

awaitable<ConnectResult> BackendPool::open(const Credentials& credentials) {
    ConnectResult result = co_await settings_.connector(server_, dbname_, credentials,
                                                        settings_.connect_timeout, next_id_++);
    if (result.conn) {
        result.conn->prepared.set_capacity(settings_.prepared_statements);
    }
    std::lock_guard lock(mutex_);
    if (!result.conn) {
        dropped_locked();
    } else if (!startup_params_) {
        startup_params_ =
            std::make_shared<const backend::ParamState::Entries>(result.conn->startup_status);
    }
    co_return result;
}

awaitable<ConnectResult> BackendPool::acquire(const Credentials& credentials) {
    auto here = co_await asio::this_coro::executor;
    auto deadline = Clock::now() + settings_.query_wait_timeout;
    std::shared_ptr<Waiter> waiter;
    {
        std::unique_lock lock(mutex_);
        if (auto conn = pop_idle_locked(&here.context())) {
            lock.unlock();
            conn->move_to(here);
            co_return ConnectResult{std::move(conn), {}};
        }
        if (total_ < settings_.size) {
            ++total_;
            lock.unlock();
            co_return co_await open(credentials);
        }
        waiter = std::make_shared<Waiter>(here);
        waiter->timer.expires_at(deadline);
        waiters_.push_back(waiter);
    }
    error_code ec;
    co_await waiter->timer.async_wait(asio::redirect_error(use_awaitable, ec));
    {
        std::unique_lock lock(mutex_);
        if (waiter->conn) {
            lock.unlock();
            waiter->conn->move_to(here);
            co_return ConnectResult{std::move(waiter->conn), {}};
        }
        if (!waiter->may_connect) {
            auto it = std::find(waiters_.begin(), waiters_.end(), waiter);
            if (it != waiters_.end()) {
                waiters_.erase(it);
            }
            co_return ConnectResult{
                nullptr,
                ServerError{std::string(wire::sqlstate::kTooManyConnections),
                            "no server connection available within query_wait_timeout (" +
                                std::to_string(settings_.query_wait_timeout.count()) + " ms)",
                            {}}};
        }
    }
    co_return co_await open(credentials);
}

std::unique_ptr<BackendConn> BackendPool::try_acquire_idle(const Executor& here) {
    std::unique_ptr<BackendConn> conn;
    {
        std::lock_guard lock(mutex_);
        conn = pop_idle_locked(&here.context());
    }
    if (conn) {
        conn->move_to(here);
    }
    return conn;
}

std::unique_ptr<BackendConn> BackendPool::pop_idle_locked(const asio::execution_context* here) {
    // Checked only after a pause: a connection used a moment ago is alive, and the peek is a
    // system call we do not want on every transaction (PgBouncer's server_check_delay idea).
    constexpr auto kCheckAfter = std::chrono::seconds(1);
    // This thread's own connections first (no move between io_contexts), then any other's.
    auto own = std::find_if(idle_.begin(), idle_.end(),
                            [here](const IdleList& l) { return l.context == here; });
    for (int pass = 0; pass < 2; ++pass) {
        for (auto it = idle_.begin(); it != idle_.end(); ++it) {
            if ((pass == 0) != (it == own)) {
                continue;
            }
            auto& conns = it->conns;
            while (!conns.empty()) {
                std::unique_ptr<BackendConn> conn = std::move(conns.back());
                conns.pop_back();
                if (settings_.check_idle && Clock::now() - conn->last_used > kCheckAfter &&
                    conn->looks_dead()) {
                    SPDLOG_DEBUG("[s{} {}] closed by the server while idle", conn->id,
                                 server_.to_string());
                    --total_;
                    continue;
                }
                return conn;
            }
        }
    }
    return nullptr;
}

std::size_t BackendPool::idle_count_locked() const noexcept {
    std::size_t n = 0;
    for (const auto& list : idle_) {
        n += list.conns.size();
    }
    return n;
}

void BackendPool::release(std::unique_ptr<BackendConn> conn, Return how) {
    auto now = Clock::now();
    if (how != Return::Close && now - conn->created > settings_.lifetime) {
        how = Return::Close;
    }
    if (how == Return::Close) {
        error_code ignored;
        conn->socket.close(ignored);
        std::lock_guard lock(mutex_);
        dropped_locked();
        return;
    }
    if (how == Return::Reset) {
        // On the connection's own io_context: its socket belongs there.
        const Executor home = conn->socket.get_executor();
        asio::co_spawn(
            home,
            [self = shared_from_this(), conn = std::move(conn)]() mutable -> awaitable<void> {
                // Pinned transaction-mode sessions are always reset, even when session mode is
                // configured without a reset query.
                const std::string& query =
                    self->settings_.reset_query.empty() ? kDiscardAll : self->settings_.reset_query;
                bool ok = co_await reset_backend(*conn, query, self->settings_.reset_timeout);
                self->release(std::move(conn), ok ? Return::Clean : Return::Close);
            },
            [](std::exception_ptr e) {
                if (e) {
                    SPDLOG_ERROR("server connection reset failed with an exception");
                }
            });
        return;
    }
    conn->last_used = now;
    std::lock_guard lock(mutex_);
    if (closed_) {
        error_code ignored;
        conn->socket.close(ignored);
        --total_;
        return;
    }
    if (!waiters_.empty()) {
        auto waiter = std::move(waiters_.front());
        waiters_.pop_front();
        waiter->conn = std::move(conn);
        asio::post(waiter->home, [waiter] { waiter->timer.cancel(); });
        return;
    }
    const asio::execution_context* home = &conn->socket.get_executor().context();
    auto list = std::find_if(idle_.begin(), idle_.end(),
                             [home](const IdleList& l) { return l.context == home; });
    if (list == idle_.end()) {
        list = idle_.insert(idle_.end(), IdleList{home, {}});
    }
    list->conns.push_back(std::move(conn));
}

// A connection went away: its slot may let a waiter open a new one.
void BackendPool::dropped_locked() {
    --total_;
    offer_slot_locked();
}

void BackendPool::offer_slot_locked() {
    if (waiters_.empty() || total_ >= settings_.size || closed_) {
        return;
    }
    auto waiter = std::move(waiters_.front());
    waiters_.pop_front();
    waiter->may_connect = true;
    ++total_;
    asio::post(waiter->home, [waiter] { waiter->timer.cancel(); });
}

std::uint32_t BackendPool::sweep(Clock::time_point now) {
    std::lock_guard lock(mutex_);
    // Oldest-used first: the front of a LIFO list has been idle longest.
    for (auto& list : idle_) {
        for (auto it = list.conns.begin(); it != list.conns.end();) {
            BackendConn& conn = **it;
            bool idle_expired =
                now - conn.last_used > settings_.idle_timeout && total_ > settings_.min_size;
            bool too_old = now - conn.created > settings_.lifetime;
            if (idle_expired || too_old) {
                error_code ignored;
                conn.socket.close(ignored);
                it = list.conns.erase(it);
                dropped_locked();
            } else {
                ++it;
            }
        }
    }
    return closed_ || total_ >= settings_.min_size ? 0 : settings_.min_size - total_;
}

awaitable<void> BackendPool::add_idle(const Credentials& credentials) {
    {
        std::lock_guard lock(mutex_);
        if (closed_ || total_ >= settings_.size) {
            co_return;
        }
        ++total_;
    }
    ConnectResult result = co_await open(credentials);
    if (result.conn) {
        release(std::move(result.conn), Return::Clean);
    }
}

std::shared_ptr<const backend::ParamState::Entries> BackendPool::startup_params() const {
    std::lock_guard lock(mutex_);
    return startup_params_;
}

PoolStats BackendPool::stats() const {
    std::lock_guard lock(mutex_);
    return PoolStats{total_, static_cast<std::uint32_t>(idle_count_locked()),
                     static_cast<std::uint32_t>(waiters_.size())};
}

void BackendPool::close_all() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& list : idle_) {
        for (auto& conn : list.conns) {
            error_code ignored;
            conn->socket.close(ignored);
            --total_;
        }
    }
    idle_.clear();
}

}  // namespace pgrouter::pool
