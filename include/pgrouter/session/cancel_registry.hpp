// pgrouter/session/cancel_registry.hpp — the BackendKeyData pgrouter gave each client, mapped to
// the session. A CancelRequest looks the key up here and is forwarded by the session itself (on its
// own thread) to whichever server connection runs its query at that moment. Thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "pgrouter/wire/startup.hpp"

namespace pgrouter::session {

class ClientSession;

class CancelRegistry {
public:
    // Draws a fresh random key not in use and registers `session` under it.
    wire::CancelKey add(std::weak_ptr<ClientSession> session);
    void remove(wire::CancelKey key);
    // The session with exactly this key (pid and secret), or null.
    std::shared_ptr<ClientSession> find(wire::CancelKey key) const;

private:
    static std::uint64_t pack(wire::CancelKey key) noexcept {
        return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(key.pid)) << 32) |
               static_cast<std::uint32_t>(key.secret);
    }
    mutable std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::weak_ptr<ClientSession>> sessions_;
};

}  // namespace pgrouter::session
