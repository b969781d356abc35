// pgrouter/pool/backend_conn.hpp — one server connection: its socket, identity, reported parameters
// and applied settings, plus the coroutines that open it (startup + authentication) and reset it.
// Owned by exactly one of: a pool's idle list, a BackendLease, or a connect in progress.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "pgrouter/backend/param_state.hpp"
#include "pgrouter/backend/statement_cache.hpp"
#include "pgrouter/config/config.hpp"
#include "pgrouter/io/asio.hpp"
#include "pgrouter/wire/startup.hpp"

namespace pgrouter::pool {

using Clock = std::chrono::steady_clock;

// What pgrouter logs into a server with.
struct Credentials {
    std::string user;
    std::string password;  // plaintext or "md5..." hash; empty if none
    // SCRAM pass-through: ClientKey recovered from a client's own exchange plus the configured
    // verifier's ServerKey. Only set when no plaintext password is configured.
    std::optional<std::array<std::uint8_t, 32>> scram_client_key;
    std::optional<std::array<std::uint8_t, 32>> scram_server_key;
};

// An error to show the client: either the server's own ErrorResponse fields or pgrouter's.
struct ServerError {
    std::string sqlstate;
    std::string message;
    std::string detail;
    explicit operator bool() const noexcept { return !sqlstate.empty(); }
};

struct BackendConn {
    explicit BackendConn(Executor ex) : socket(std::move(ex)) {}

    Socket socket;
    config::Address address;
    wire::CancelKey server_key;
    backend::ParamState params;  // what this server session currently has
    // Every ParameterStatus of the start-up (what clients of this pool are told at login).
    backend::ParamState::Entries startup_status;
    backend::ServerStatementCache prepared;  // pgrouter's statement names prepared here
    Clock::time_point created{};
    Clock::time_point last_used{};
    std::uint64_t id = 0;

    // True when the peer closed or sent something unsolicited while idle (checked without
    // blocking).
    bool looks_dead() const noexcept;
    // Re-homes the socket on `ex`'s io_context, the thread of the session that leases it: the
    // descriptor moves from one epoll set to the other, nothing is reconnected. Only for an idle
    // connection (no operation pending). A failure closes the socket (the lease then sees it).
    void move_to(const Executor& ex);
};

struct ConnectResult {
    std::unique_ptr<BackendConn> conn;
    ServerError error;
};

// Opens a connection: TCP connect, StartupMessage(user, database), authentication, parameters,
// until ReadyForQuery. Bounded by `timeout` as a whole. Never throws.
awaitable<ConnectResult> connect_backend(const config::Address& address, const std::string& dbname,
                                         const Credentials& credentials,
                                         std::chrono::milliseconds timeout, std::uint64_t id);

// Runs `query` (e.g. DISCARD ALL) and waits for ReadyForQuery 'I'. False on any error or timeout;
// the caller then closes the connection.
awaitable<bool> reset_backend(BackendConn& conn, const std::string& query,
                              std::chrono::milliseconds timeout);

// Sends CancelRequest(key) to `address` on a fresh connection (how PostgreSQL cancels).
awaitable<void> send_cancel(const config::Address& address, wire::CancelKey key,
                            std::chrono::milliseconds timeout);

}  // namespace pgrouter::pool
