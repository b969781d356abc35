// pgrouter/pool/pool_set.cpp — lazy creation and enumeration of pools.
#include "pgrouter/pool/pool_set.hpp"

namespace pgrouter::pool {

std::shared_ptr<BackendPool> PoolSet::get(const config::Address& server, const std::string& dbname,
                                          const std::string& user) {
    Key key{server.host, server.port, dbname, user};
    std::lock_guard lock(mutex_);
    auto& slot = pools_[key];
    if (!slot) {
        slot = std::make_shared<BackendPool>(server, dbname, user, settings_);
    }
    return slot;
}

std::vector<std::shared_ptr<BackendPool>> PoolSet::all() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<BackendPool>> out;
    out.reserve(pools_.size());
    for (const auto& [key, pool] : pools_) {
        out.push_back(pool);
    }
    return out;
}

void PoolSet::close_all() {
    for (auto& pool : all()) {
        pool->close_all();
    }
}

}  // namespace pgrouter::pool
