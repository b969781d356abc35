// pgrouter/session/client_session.hpp — one client connection, client side only: login, then one
// coroutine (run) that takes each client message through frame → understand → route → attach →
// rewrite → write, and one server reader (pump) per attached link. What belongs to a server
// connection lives in its link::ServerLink; the session keeps what belongs to the client (its
// settings, its prepared statements, what it has been told). docs/data_path.md has the design.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
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

// Where a unit of work on a sharded database goes (shard_step.cpp).
struct ShardTarget {
    enum class Kind : std::uint8_t { Any, One, All, Refuse };
    Kind kind = Kind::Any;
    std::size_t shard = 0;                       // One
    std::shared_ptr<const sql::ShardPlan> plan;  // All: how to run it on every shard
    std::string message;                         // Refuse: the 0A000 text
    std::vector<std::size_t> row_shards;         // All for a Split INSERT: each row's shard
    std::vector<std::size_t> pair_shards;        // All for a batch of keyed writes: each Bind's
};

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
    // Whether a message further on in the same extended-protocol unit (up to its Sync) may write.
    bool unit_may_write(std::span<const std::uint8_t> rest, std::size_t max_message);
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
    // The pump found `link` failed before answering a read: hand its unit to the reader.
    void retry_elsewhere(link::ServerLink& link);
    // Puts a unit to be sent again in front of what the client has sent since.
    void take_replay();
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

    // shard_step.cpp: which shard a unit of work goes to (sharded databases only)
    void init_sharding();
    // handle_batch(), nothing attached: the shard of the unit starting at data[at] (switched to,
    // then Attach), the unit handled here (Done: answered or refused; Stop: the batch stops, for
    // the rest of the unit or for copy_in_split()), or FanOut: `target` runs on several shards.
    struct ShardStep {
        enum class Action : std::uint8_t { Attach, Done, Stop, FanOut };
        Action action = Action::Attach;
        std::size_t consumed = 0;  // bytes of data handled, from `at`
        ShardTarget target;
    };
    ShardStep route_unit(const Request& request, const wire::Frame& frame,
                         std::span<const std::uint8_t> data, std::size_t at,
                         std::size_t max_message);
    // The plan of a statement text (parsed once per literal shape for this session); `keys`, when
    // given, gets the key values of this very text if they differ from the plan's own (a plan
    // shared by texts of one shape with other literals).
    std::shared_ptr<const sql::ShardPlan> shard_plan(std::string_view text,
                                                     std::vector<sql::KeyValue>* keys = nullptr);
    // Where a statement goes, its Bind (parameters) when it has one.
    ShardTarget statement_target(std::string_view text, const wire::Frame* bind,
                                 const PreparedStatement* prepared,
                                 std::span<const std::uint8_t> param_types);
    // Where the unit of work that starts with `first` (up to its Sync, or the Query) goes; false
    // in `complete` when the unit is not all buffered yet.
    ShardTarget unit_target(const wire::Frame& first, std::span<const std::uint8_t> rest,
                            std::size_t max_message, bool& complete);
    // Makes `shard` the one topology_, pools and health refer to (nothing attached).
    void switch_shard(std::size_t shard);
    // Whether the attached link's shard can take `request` (a transaction stays on one shard);
    // false: it was refused (0A000 injected so the transaction aborts as PostgreSQL's would).
    void check_shard(const wire::Frame& frame, const Request& request);
    // An extended-protocol BEGIN alone in its unit (held until a shard is chosen), its COMMIT or
    // ROLLBACK when nothing ran, or a statement after a refusal in such a transaction (25P02).
    bool answer_unit_locally(const Request& first, std::span<const std::uint8_t> unit,
                             std::size_t max_message, std::size_t& consumed);

    // fan_out.cpp: a unit of work run on every shard, replies merged. Consumes the unit's
    // messages from `unit` (up to its Sync, or the Query) into `consumed`; false ends the session.
    awaitable<bool> fan_out(const ShardTarget& target, std::span<const std::uint8_t> unit,
                            std::size_t max_message, std::size_t& consumed);
    // A named Parse carried out on the shards: the client's statement from now on.
    void remember_statement(const wire::ParseView& parse);
    // The user-defined aggregate `text` calls, as a refusal ("" when none).
    std::string user_aggregate_in(std::string_view text);
    // fan_out_pairs.cpp: a batch of Bind/Execute pairs of one keyed write over several shards
    // (target.pair_shards), all-or-nothing as its implicit transaction is.
    awaitable<bool> fan_out_pairs(const ShardTarget& target, std::span<const std::uint8_t> unit,
                                  std::size_t max_message, std::size_t& consumed);
    // A connection to shard k's primary, or why not (SQLSTATE, message).
    awaitable<std::optional<std::pair<std::string, std::string>>> lease_shard(
        std::size_t k, pool::BackendLease& lease);
    // copy_split.cpp: COPY ... FROM STDIN into a sharded table, its rows streamed to their
    // shards (copy_split_query_ holds the statement). False ends the session.
    awaitable<bool> copy_in_split();
    // Reads more client bytes into from_client_. False: the client is gone.
    awaitable<bool> read_client();
    std::string shard_name(std::size_t shard) const;
    // After a Flush that ends a batch which only prepared and described (asyncpg's prepare):
    // a hidden Sync lets the link go, so the Bind that follows picks its own shard.
    void end_prepare_only_batch(char type);

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
    std::vector<health::ServerHealth*> health_;  // by topology server index
    std::vector<routing::ServerStatus> status_;  // snapshot for the current decision
    routing::SessionRoute route_mode_ = routing::SessionRoute::Auto;  // SET pgrouter.route
    bool trace_ = false;                                              // SET pgrouter.trace
    std::string consistency_key_;  // SET pgrouter.consistency_key
    std::string held_begin_;       // a BEGIN pgrouter answered; sent before the next statement
    bool held_failed_ = false;     // that transaction failed before reaching a server
    bool first_statement_reads_ = false;  // attach(): a BEGIN whose first statement reads
    bool unit_writes_ = false;            // attach(): a read opening a unit that also writes
    bool skip_until_sync_ = false;        // a refused extended-protocol batch
    char skip_status_ = 'I';
    // Read-your-writes, connection scope.
    bool wrote_ = false;
    health::Clock::time_point wrote_at_{};
    std::uint64_t write_lsn_ = 0;  // 0 while still being learnt
    std::string write_key_;        // user/key scope: the key the last write was recorded under
    std::uint64_t write_ticket_ = 0;
    std::string user_key_;            // user scope: "<user>@<database>"
    std::string last_statement_key_;  // a key=... hint of the last statement that may write
    std::unique_ptr<Timer> link_wait_;
    bool waiting_for_link_ = false;
    // A read a failing replica never answered, to be sent again (to another server).
    std::vector<std::uint8_t> replay_;
    std::uint32_t replay_readies_ = 0;
    std::size_t avoid_server_ = SIZE_MAX;  // the next route treats it as unavailable
    bool replay_requested_ = false;        // the frame wait was cancelled to send replay_
    std::shared_ptr<const std::unordered_set<std::string>> write_functions_;
    bool builtins_trusted_ = false;
    std::uint64_t write_functions_version_ = 0;

    // Sharding (shard_step.cpp). Only used when the database is sharded.
    const ShardingRuntime* sharding_ = nullptr;
    const routing::DatabaseTopology* database_topology_ = nullptr;  // every shard
    std::size_t shard_ = 0;  // the shard topology_, pools_ and health_ are about
    // Per shard: its pools and its read-your-writes state while another shard is current.
    struct ShardState {
        std::vector<std::shared_ptr<pool::BackendPool>> pools;
        bool wrote = false;
        health::Clock::time_point wrote_at{};
        std::uint64_t write_lsn = 0;
    };
    std::vector<ShardState> shard_states_;
    std::optional<std::size_t> session_shard_;  // SET pgrouter.shard
    std::string session_shard_key_;             // SET pgrouter.shard_key
    std::string unnamed_query_;                 // the last unnamed Parse's text
    std::vector<std::uint8_t> unnamed_types_;   // and its parameter types
    struct ShapePlan {
        std::shared_ptr<const sql::ShardPlan> plan;
        // Per plan key: the index of the literal it was read from (-1: a parameter or NULL);
        // empty when no key comes from a literal.
        std::vector<int> literal_of;
    };
    std::unordered_map<std::string, ShapePlan> shard_plans_;  // by sql::LiteralShape key
    bool unit_incomplete_ = false;  // handle_batch() stopped for the rest of a unit
    bool batch_bound_ = false;      // the current extended-protocol batch has a Bind/Execute
    std::string copy_split_query_;  // a COPY FROM STDIN to split, taken over by copy_in_split()
    bool discard_copy_ = false;     // a failed COPY: the client's CopyData/Done/Fail are dropped
    std::string shard_refusal_;     // rewrite(): refuse the next Query/Bind with 0A000
};

}  // namespace pgrouter::session
