// pgrouter/session/client_session.hpp — one client connection, client side only: login, then one
// coroutine (run) that takes each client message through frame → understand → route → attach →
// rewrite → write, and one server reader (pump) per attached link. What belongs to a server
// connection lives in its link::ServerLink; the session keeps what belongs to the client (its
// settings, its prepared statements, what it has been told). docs/data_path.md has the design.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pgrouter/backend/param_state.hpp"
#include "pgrouter/health/server_health.hpp"
#include "pgrouter/io/asio.hpp"
#include "pgrouter/io/read_buffer.hpp"
#include "pgrouter/link/server_link.hpp"
#include "pgrouter/routing/route.hpp"
#include "pgrouter/session/prepared.hpp"
#include "pgrouter/session/runtime.hpp"
#include "pgrouter/session/understand.hpp"
#include "pgrouter/wire/frame.hpp"
#include "pgrouter/wire/messages.hpp"

namespace pgrouter::session {

class ClientSession : public std::enable_shared_from_this<ClientSession> {
public:
    ClientSession(Runtime& runtime, Socket socket, std::uint64_t id);
    ~ClientSession();

    // Spawns the session on its socket's executor. The coroutines own the session.
    void start();
    // Thread-safe: finish the current transaction, then tell the client 57P01 and close.
    void drain();
    // Thread-safe: a CancelRequest carrying this session's key arrived.
    void cancel_current_query();
    // Run periodically on every I/O thread: sessions of this thread that have been idle for an
    // interval with their reader still suspended mid-wait give that coroutine frame up.
    static void trim_parked();

private:
    // client_startup.cpp
    awaitable<bool> login();
    awaitable<bool> authenticate(const UserAuth* user, const std::string& user_name);
    awaitable<void> handle_cancel_request(std::span<const std::uint8_t> packet);
    void adopt_startup_params(const std::vector<std::pair<std::string, std::string>>& params);

    // client_session.cpp: lifecycle, the client reader (the pipeline), the client writer
    awaitable<void> run();  // login, then serve
    // Reads and handles client messages until the client is idle between transactions, then
    // hands over to wait_while_idle(). `readable`: the socket was just reported readable.
    awaitable<void> serve(bool readable);
    void wait_while_idle();
    // The pump ended the transaction while the reader waits in its frame: trim_parked() may
    // release that frame if the client stays idle.
    void park();
    void on_reader_done(std::exception_ptr e);
    // One pass over the complete messages buffered, `first` being the first one already framed;
    // false ends the session.
    awaitable<bool> handle_batch(const wire::DecodeResult& first, std::size_t max_message);
    // The head of a message too large to buffer: attach, send it, stream the rest.
    // `started` stays false while the head is not all here yet.
    awaitable<bool> start_stream(const wire::DecodeResult& head, bool& started);
    // by_first_statement: whether the first statement after a BEGIN, further on in `rest` (the
    // batch's remaining bytes), is a read.
    bool first_statement_reads(std::span<const std::uint8_t> rest, std::size_t max_message);
    awaitable<bool> flush_to_server();
    awaitable<void> send_client(std::span<const std::uint8_t> bytes);
    awaitable<void> send_error(std::string_view severity, std::string_view sqlstate,
                               std::string_view message);
    // Stops every coroutine: closes the client once queued bytes are written, cancels server I/O.
    void close();
    std::string tag() const;

    // attach.cpp: route and attach
    link::ServerLink* attached() noexcept {
        return links_.empty() ? nullptr : links_.front().get();
    }
    enum class Attach { Attached, Refused, Failed };
    // Routes `request` and leases a connection from the chosen server's pool (waits when none is
    // idle). Refused: the client got an ErrorResponse (no primary, ...) and the session goes on;
    // Failed: the client was told why and the session ends.
    awaitable<Attach> attach(const Request& request);
    bool attach_idle(const routing::Decision& decision);
    void on_attached(pool::BackendLease lease, const routing::Decision& decision);
    std::shared_ptr<pool::BackendPool>& pool_for(std::size_t server);
    // Messages answered without a server when nothing is attached: Close of a statement, and a
    // Parse of a statement some server has already accepted plus its Sync.
    bool answer_without_server(const Request& request);

    // route_step.cpp: routing state of the session (read-your-writes, status snapshot, links that
    // cannot take a request, refusals, trace)
    void init_routing();
    RoutingContext routing_context();
    routing::RouteRequest transaction_request(const Request& request) const;
    routing::SessionView session_view(const Request& request);
    std::span<const routing::ServerStatus> snapshot_status();
    // False when `request` must not go to `link` (a read-only replica link and a request that may
    // write, outside the transaction the link carries).
    bool accepts(const link::ServerLink& link, const Request& request) const;
    // Sends what is batched for the attached link, then waits until the pump has let it go
    // (until_idle: or until it owes nothing). False: the session is closing.
    awaitable<bool> wait_for_link(bool until_idle);
    void wake_reader();
    // The request cannot be routed: ErrorResponse now; a Query gets its ReadyForQuery, an
    // extended-protocol batch is skipped up to its Sync.
    void refuse(const Request& request, std::string_view sqlstate, const std::string& message);
    awaitable<void> trace(const routing::Decision& decision);
    // A transaction that may have changed data ended on `link` (ReadyForQuery 'I').
    void record_write(link::ServerLink& link);
    void on_lsn_row(link::ServerLink& link, const wire::Frame& frame);
    // Before a batch goes to `link`: in lsn mode, ask for the WAL position after a write.
    void finish_unit(link::ServerLink& link, char last_type);
    // pgrouter's own statements, answered without a server: SET/RESET/SHOW pgrouter.*, a held
    // BEGIN and what ends it. False: not one of them.
    bool answer_locally(const Request& request);
    void finish_local_query(const char* tag, char status);

    // rewrite.cpp: what each understood message becomes on the attached server connection
    bool rewrite(const wire::Frame& frame, const Request& request);
    void rewrite_parse(const wire::Frame& frame, const Request& request);
    // Records SETs, pins or refuses statements with session effects. True when the statement was
    // replaced (error or rewritten DEALLOCATE).
    bool check_session_effects(const Request& request);
    void forward(const wire::Frame& frame);
    // Replaces the statement with one that fails on the server with this SQLSTATE and message,
    // so the error lands where PostgreSQL would put it and the transaction aborts the same way.
    void inject_error(std::string_view sqlstate, const std::string& message, bool as_query);
    void pin(std::string_view reason);
    void count_ready_request(char type);

    // server_pump.cpp: the server reader of one link
    awaitable<void> pump(std::shared_ptr<link::ServerLink> link);
    // Takes `link` out of the session (the pump keeps it alive until its last write).
    void detach(const link::ServerLink& link);
    void give_back(link::ServerLink& link, pool::BackendPool::Return how);
    // Sorts the link's buffered bytes into what the client gets; returns bytes consumed.
    std::size_t scan_server_bytes(link::ServerLink& link);
    // False: the message is hidden from the client.
    bool on_server_frame(link::ServerLink& link, const wire::Frame& frame, bool visible);
    // False: the value is what the client already knows (the message is hidden).
    bool on_parameter_status(const wire::ParameterStatusView& ps);
    void on_ready_for_query(link::ServerLink& link, const wire::Frame& frame, bool hidden);

    Runtime& rt_;
    Socket client_;
    const std::uint64_t id_;
    std::string user_name_;
    std::string database_name_;
    std::string peer_;
    const UserAuth* user_ = nullptr;
    const config::DatabaseConfig* database_ = nullptr;
    const routing::DatabaseTopology* topology_ = nullptr;
    std::shared_ptr<const pool::Credentials> credentials_;  // towards servers; set at login
    bool transaction_mode_ = true;
    bool counted_ = false;
    bool registered_cancel_ = false;
    wire::CancelKey cancel_key_{};

    io::ReadBuffer from_client_;
    std::size_t batch_base_ = 0;               // offset of the current message in from_client_
    std::size_t client_stream_remaining_ = 0;  // bytes of a large client message to stream on
    std::vector<asio::const_buffer> buffers_;  // run(): the batch being written
    std::vector<std::uint8_t> replies_;        // run(): replies pgrouter gives itself

    // The client writer: one write in flight, later bytes queued behind it.
    std::vector<std::uint8_t> pending_;
    std::vector<std::uint8_t> inflight_;
    bool writing_ = false;
    bool close_when_flushed_ = false;

    // The server side: none or one link today; several once a statement spans shards.
    std::vector<std::shared_ptr<link::ServerLink>> links_;
    std::vector<std::shared_ptr<pool::BackendPool>> pools_;  // by topology server index

    backend::ParamState params_;  // the client's settings (what every server must match)
    // Every reported parameter the client has been told, as told: a ParameterStatus goes out only
    // when it changes one of these (exactly what PostgreSQL would send). The server's start-up
    // values are shared by every client of the pool; only this client's differences are its own.
    std::shared_ptr<const backend::ParamState::Entries> told_base_;
    std::vector<std::pair<std::string, std::string>> told_changes_;
    ClientStatements statements_;
    bool pinned_ = false;
    bool server_lost_ = false;
    bool closing_ = false;
    bool draining_ = false;
    bool fatal_forwarded_ = false;
    bool waiting_in_frame_ = false;  // the reader waits for the client inside serve()
    bool parked_ = false;            // listed for trim_parked()
    bool trim_requested_ = false;    // trim_parked() cancelled that wait

    // Session-level SETs are recorded only once their transaction commits.
    struct PendingSettings {
        std::uint64_t ready_seq = 0;  // the ReadyForQuery that completes the statement
        std::vector<sql::SettingChange> changes;
    };
    std::vector<sql::SettingChange> batch_settings_;  // from Parse/Query, until their Sync/Query
    std::vector<PendingSettings> pending_settings_;   // oldest first (a deque allocates when empty)
    std::vector<sql::SettingChange> tx_settings_;     // done, waiting for the transaction to end
    std::uint64_t ready_sent_ = 0;                    // Queries/Syncs the client sent
    std::uint64_t ready_seen_ = 0;                    // their ReadyForQuery (hidden ones excluded)
    bool error_since_ready_ = false;
    bool last_tag_rollback_ = false;
    // Answered without a server: a Sync then gets ReadyForQuery 'I' from pgrouter.
    bool serverless_batch_ = false;

    // Routing (route_step.cpp). Only used when the database has replicas.
    bool routing_ = false;
    std::vector<health::ServerHealth*> health_;     // by topology server index
    std::vector<routing::ServerStatus> status_;     // snapshot for the current decision
    routing::SessionRoute route_mode_ = routing::SessionRoute::Auto;  // SET pgrouter.route
    bool trace_ = false;                             // SET pgrouter.trace
    std::string consistency_key_;                    // SET pgrouter.consistency_key
    std::string held_begin_;   // a BEGIN pgrouter answered; sent before the next statement
    bool held_failed_ = false;  // that transaction failed before reaching a server
    bool first_statement_reads_ = false;  // attach(): a BEGIN whose first statement reads
    bool skip_until_sync_ = false;  // a refused extended-protocol batch
    char skip_status_ = 'I';
    // Read-your-writes, connection scope.
    bool wrote_ = false;
    health::Clock::time_point wrote_at_{};
    std::uint64_t write_lsn_ = 0;  // 0 while still being learnt
    std::string write_key_;        // user/key scope: the key the last write was recorded under
    std::uint64_t write_ticket_ = 0;
    std::string user_key_;         // user scope: "<user>@<database>"
    std::string last_statement_key_;  // a key=... hint of the last statement that may write
    std::unique_ptr<Timer> link_wait_;
    bool waiting_for_link_ = false;
    std::shared_ptr<const std::unordered_set<std::string>> write_functions_;
    bool builtins_trusted_ = false;
};

}  // namespace pgrouter::session
