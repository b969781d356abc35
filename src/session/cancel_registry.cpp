// pgrouter/session/cancel_registry.cpp — random cancel keys and their lookup.
#include "pgrouter/session/cancel_registry.hpp"

#include "pgrouter/auth/md5.hpp"

namespace pgrouter::session {

wire::CancelKey CancelRegistry::add(std::weak_ptr<ClientSession> session) {
    std::lock_guard lock(mutex_);
    for (;;) {
        std::uint8_t raw[8];
        auth::random_bytes(raw);
        wire::CancelKey key;
        // Positive pids look like real backends to clients that print them.
        key.pid = static_cast<std::int32_t>(
            ((raw[0] << 24) | (raw[1] << 16) | (raw[2] << 8) | raw[3]) & 0x7fffffff);
        key.secret =
            static_cast<std::int32_t>((raw[4] << 24) | (raw[5] << 16) | (raw[6] << 8) | raw[7]);
        if (key.pid != 0 && sessions_.emplace(pack(key), session).second) {
            return key;
        }
    }
}

void CancelRegistry::remove(wire::CancelKey key) {
    std::lock_guard lock(mutex_);
    sessions_.erase(pack(key));
}

std::shared_ptr<ClientSession> CancelRegistry::find(wire::CancelKey key) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(pack(key));
    return it == sessions_.end() ? nullptr : it->second.lock();
}

}  // namespace pgrouter::session
