// pgrouter/session/client_session.hpp — one client connection: login, then two coroutines on the
// session's strand. run() is the only reader of the client and the only writer to the server;
// pump() is the only reader of the server and decides when the server connection goes back to the
// pool. Writes to the client go through send_client(), which keeps one write in flight.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "pgrouter/net/asio.hpp"
#include "pgrouter/net/read_buffer.hpp"
#include "pgrouter/pool/backend_pool.hpp"
#include "pgrouter/session/param_sync.hpp"
#include "pgrouter/session/runtime.hpp"
#include "pgrouter/session/tx_tracker.hpp"
#include "pgrouter/wire/frame.hpp"

namespace pgrouter::session {

class ClientSession : public std::enable_shared_from_this<ClientSession> {
public:
    ClientSession(Runtime& runtime, tcp::socket socket, std::uint64_t id);
    ~ClientSession();

    // Spawns the session on its socket's strand. The coroutines own the session.
    void start();
    // Thread-safe: finish the current transaction, then tell the client 57P01 and close.
    void drain();
    // Thread-safe: a CancelRequest carrying this session's key arrived.
    void cancel_current_query();

private:
    // client_startup.cpp
    awaitable<bool> login();
    awaitable<bool> authenticate(const UserAuth* user, const std::string& user_name);
    awaitable<void> handle_cancel_request(std::span<const std::uint8_t> packet);
    void adopt_startup_params(const std::vector<std::pair<std::string, std::string>>& params);

    // client_session.cpp
    awaitable<void> run();
    awaitable<void> pump();
    // Inspects one complete client message before it is forwarded. False: protocol violation.
    bool on_client_frame(const wire::Frame& frame);
    awaitable<bool> ensure_server();
    // Scans server bytes; returns how many leading bytes are ready to forward (hidden replies are
    // consumed here). Sets release_now_ when the connection may go back to the pool.
    void scan_server_bytes(std::size_t& forward_begin, std::size_t& forward_end);
    void on_server_frame(const wire::Frame& frame, bool hidden);
    void release_server(pool::BackendPool::Return how);
    awaitable<void> send_client(std::span<const std::uint8_t> bytes);
    awaitable<void> send_error(std::string_view severity, std::string_view sqlstate,
                               std::string_view message);
    // Stops both coroutines: closes the client once queued bytes are written, cancels server I/O.
    void close();
    std::string tag() const;

    Runtime& rt_;
    tcp::socket client_;
    const std::uint64_t id_;
    std::string user_name_;
    std::string database_name_;
    std::string peer_;
    const UserAuth* user_ = nullptr;
    bool transaction_mode_ = true;
    bool counted_ = false;
    bool registered_cancel_ = false;
    wire::CancelKey cancel_key_{};

    net::ReadBuffer from_client_;
    net::ReadBuffer from_server_;
    std::vector<std::uint8_t> scratch_;  // messages pgrouter builds (sync scripts, errors)
    std::vector<std::uint8_t> pending_;  // client bytes queued while a write is in flight
    std::vector<std::uint8_t> inflight_;
    bool writing_ = false;
    bool close_when_flushed_ = false;

    std::shared_ptr<pool::BackendPool> pool_;
    std::unique_ptr<pool::BackendConn> server_;
    asio::steady_timer server_ready_;  // wakes pump() when a server connection is leased
    TxTracker tx_;
    ParamState params_;
    std::size_t stream_remaining_ = 0;  // bytes of a large DataRow/CopyData still to forward
    bool server_lost_ = false;
    bool closing_ = false;
    bool draining_ = false;
    bool pump_running_ = false;
    bool fatal_forwarded_ = false;

    // Session-level SETs are recorded only once their transaction commits.
    struct PendingSettings {
        std::uint64_t ready_seq = 0;  // the ReadyForQuery that completes the statement
        std::vector<sql::SettingChange> changes;
    };
    std::vector<sql::SettingChange> batch_settings_;  // from Parse/Query, until their Sync/Query
    std::deque<PendingSettings> pending_settings_;
    std::vector<sql::SettingChange> tx_settings_;  // done, waiting for the transaction to end
    std::uint64_t ready_sent_ = 0;                 // Queries/Syncs the client sent
    std::uint64_t ready_seen_ = 0;                 // their ReadyForQuery (hidden ones excluded)
    bool error_since_ready_ = false;
    bool last_tag_rollback_ = false;
};

}  // namespace pgrouter::session
