// pgrouter/pool/pool_set.hpp — every BackendPool, one per (server, database, user), created on
// first use. Looked up once per client login, never per transaction.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "pgrouter/pool/backend_pool.hpp"

namespace pgrouter::pool {

class PoolSet {
public:
    explicit PoolSet(PoolSettings settings) : settings_(std::move(settings)) {}

    std::shared_ptr<BackendPool> get(const config::Address& server, const std::string& dbname,
                                     const std::string& user);
    std::vector<std::shared_ptr<BackendPool>> all() const;
    void close_all();
    const PoolSettings& settings() const noexcept { return settings_; }

private:
    using Key = std::tuple<std::string, std::uint16_t, std::string, std::string>;
    const PoolSettings settings_;
    mutable std::mutex mutex_;
    std::map<Key, std::shared_ptr<BackendPool>> pools_;
};

}  // namespace pgrouter::pool
