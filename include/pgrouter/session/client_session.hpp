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
#include "pgrouter/session/prepared.hpp"
#include "pgrouter/session/response_queue.hpp"
#include "pgrouter/session/runtime.hpp"
#include "pgrouter/session/tx_tracker.hpp"
#include "pgrouter/wire/frame.hpp"
#include "pgrouter/wire/messages.hpp"

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

    // client_session.cpp: lifecycle, the client reader, the client writer
    awaitable<void> run();
    awaitable<void> send_client(std::span<const std::uint8_t> bytes);
    awaitable<void> send_error(std::string_view severity, std::string_view sqlstate,
                               std::string_view message);
    // Stops both coroutines: closes the client once queued bytes are written, cancels server I/O.
    void close();
    std::string tag() const;

    // client_messages.cpp: what each client message becomes on the server
    awaitable<bool> ensure_server();
    // Takes an idle server connection without suspending; false when the pool has none.
    bool lease_idle_server();
    void on_leased(std::unique_ptr<pool::BackendConn> conn);
    // Adds one complete client message to the batch for the server (as is, rewritten, or
    // answered by pgrouter itself). False: protocol violation.
    bool on_client_frame(const wire::Frame& frame);
    void on_parse(const wire::Frame& frame, const wire::ParseView& parse);
    // The server name of `statement`, preparing it first (hidden) when this connection lacks it.
    const std::string& ensure_prepared(const PreparedStatement& statement);
    // Records SETs, pins or refuses statements with session effects. True when the statement was
    // replaced (error or rewritten DEALLOCATE); otherwise a Query is forwarded as is.
    bool check_session_effects(std::string_view text, const wire::Frame& frame, bool is_query,
                               std::string_view parse_statement = {});
    void append_client_bytes(const wire::Frame& frame);
    std::vector<std::uint8_t>& own_bytes_begin();
    void own_bytes_end(std::size_t begin);
    // Replaces the statement with one that fails on the server with this SQLSTATE and message,
    // so the error lands where PostgreSQL would put it and the transaction aborts the same way.
    void inject_error(std::string_view sqlstate, const std::string& message, bool as_query);
    void pin(std::string_view reason);

    // server_pump.cpp: the server reader
    awaitable<void> pump();
    // Sorts the buffered server bytes into what the client gets (fwd_*); returns bytes consumed.
    std::size_t scan_server_bytes();
    void on_server_frame(const wire::Frame& frame, bool hidden);
    void release_server(pool::BackendPool::Return how);

    Runtime& rt_;
    tcp::socket client_;
    const std::uint64_t id_;
    std::string user_name_;
    std::string database_name_;
    std::string peer_;
    const UserAuth* user_ = nullptr;
    pool::Credentials credentials_;  // towards servers; set once at login
    bool transaction_mode_ = true;
    bool counted_ = false;
    bool registered_cancel_ = false;
    wire::CancelKey cancel_key_{};

    net::ReadBuffer from_client_;
    net::ReadBuffer from_server_;
    // The batch for the server: client bytes by reference plus pgrouter's own messages; and the
    // same for replies to the client (server bytes by reference plus synthetic replies).
    struct Segment {
        bool own = false;  // in *_own_ (else in from_client_ / from_server_)
        std::size_t offset = 0;
        std::size_t length = 0;
    };
    std::vector<Segment> to_server_;
    std::vector<std::uint8_t> to_server_own_;
    std::vector<Segment> to_client_;
    std::vector<std::uint8_t> to_client_own_;
    std::vector<asio::const_buffer> buffers_;         // run(): the batch being written
    std::vector<asio::const_buffer> client_buffers_;  // pump(): replies being written
    std::string script_;                              // settings replay, reused
    std::size_t batch_base_ = 0;         // offset of the current message in from_client_.data()
    std::vector<std::uint8_t> pending_;  // client bytes queued while a write is in flight
    std::vector<std::uint8_t> inflight_;
    bool writing_ = false;
    bool close_when_flushed_ = false;

    std::shared_ptr<pool::BackendPool> pool_;
    std::unique_ptr<pool::BackendConn> server_;
    asio::steady_timer server_ready_;  // wakes pump() when a server connection is leased
    TxTracker tx_;
    ResponseQueue responses_;
    ParamState params_;
    ClientStatements statements_;
    // Parses in flight that must be undone if the server does not carry them out (queue tags).
    struct ParseRecord {
        std::string client_name;  // empty for pgrouter's hidden Parse
        std::string server_name;
        bool on_server = true;  // the Parse was sent (not answered by pgrouter itself)
    };
    std::vector<ParseRecord> parse_records_;
    std::uint32_t record_parse(std::string_view client_name, const std::string& server_name,
                               bool on_server);
    void undo_parse(std::uint32_t tag);
    bool pinned_ = false;
    std::size_t stream_remaining_ = 0;  // bytes of a large DataRow/CopyData still to forward
    bool server_lost_ = false;
    bool closing_ = false;
    bool draining_ = false;
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
