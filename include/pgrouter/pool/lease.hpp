// pgrouter/pool/lease.hpp — BackendLease: the only way a session holds a server connection.
// Move-only RAII: whoever drops a lease without saying how (an exception, an early return, a
// session torn down mid-transaction) closes the connection, so no path can lose a pool slot or hand
// a dirty connection on.
#pragma once

#include <memory>

#include "pgrouter/pool/backend_pool.hpp"

namespace pgrouter::pool {

class BackendLease {
public:
    BackendLease() = default;
    BackendLease(std::shared_ptr<BackendPool> pool, std::unique_ptr<BackendConn> conn) noexcept
        : pool_(std::move(pool)), conn_(std::move(conn)) {}
    BackendLease(BackendLease&& other) noexcept = default;
    BackendLease& operator=(BackendLease&& other) noexcept {
        if (this != &other) {
            give_back(BackendPool::Return::Close);
            pool_ = std::move(other.pool_);
            conn_ = std::move(other.conn_);
        }
        return *this;
    }
    BackendLease(const BackendLease&) = delete;
    BackendLease& operator=(const BackendLease&) = delete;
    // Not known to be clean: closed, never listed idle again.
    ~BackendLease() { give_back(BackendPool::Return::Close); }

    explicit operator bool() const noexcept { return conn_ != nullptr; }
    BackendConn* operator->() const noexcept { return conn_.get(); }
    BackendConn& operator*() const noexcept { return *conn_; }
    BackendConn* get() const noexcept { return conn_.get(); }
    const std::shared_ptr<BackendPool>& pool() const noexcept { return pool_; }

    // Gives the connection back now: Clean lists it idle (or hands it to a waiter), Reset runs the
    // pool's reset query first, Close closes it. A no-op on an empty lease.
    void give_back(BackendPool::Return how) noexcept {
        if (conn_) {
            pool_->release(std::move(conn_), how);
        }
        conn_.reset();
    }

private:
    std::shared_ptr<BackendPool> pool_;
    std::unique_ptr<BackendConn> conn_;
};

}  // namespace pgrouter::pool
