// pgrouter/link/server_link.hpp — one server connection in use by one session: the lease, the batch
// queued for the server, what the server still owes (ResponseQueue), the transaction state
// (TxTracker) and the read buffer. Everything about one server connection lives here, so a session
// holds none, one or several links (docs/data_path.md). Touched only on its session's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pgrouter/backend/param_state.hpp"
#include "pgrouter/backend/response_queue.hpp"
#include "pgrouter/backend/statement_cache.hpp"
#include "pgrouter/backend/tx_tracker.hpp"
#include "pgrouter/io/read_buffer.hpp"
#include "pgrouter/pool/lease.hpp"
#include "pgrouter/wire/segments.hpp"

namespace pgrouter::link {

// Server reads: the buffer comes from the thread's cache when the link is made and goes back
// when it is given back, so idle clients hold none.
inline constexpr std::size_t kServerReadChunk = 16 * 1024;

class ServerLink {
public:
    // `server` is the topology index the router chose.
    ServerLink(pool::BackendLease lease, std::size_t server);
    // A link from this thread's cache of finished links (their buffers and queues keep their
    // capacity, so attaching allocates nothing once warm), or a new one.
    static std::shared_ptr<ServerLink> make(pool::BackendLease lease, std::size_t server);
    // Puts a finished link (connection given back, nothing else holding it) in the cache.
    static void recycle(std::shared_ptr<ServerLink> link) noexcept;
    ServerLink(const ServerLink&) = delete;
    ServerLink& operator=(const ServerLink&) = delete;

    pool::BackendConn& conn() noexcept { return *lease_; }
    Socket& socket() noexcept { return lease_->socket; }
    std::size_t server() const noexcept { return server_; }
    std::uint64_t id() const noexcept { return lease_->id; }

    // Towards the server: client bytes by reference plus pgrouter's own messages, one write.
    wire::Segments& out() noexcept { return out_; }
    // Towards the client: this link's server bytes by reference plus pgrouter's own replies.
    wire::Segments& replies() noexcept { return replies_; }
    // Makes the server session match `wanted` with one hidden Query whose reply is swallowed
    // (nothing when they already match).
    void sync_settings(const backend::ParamState& wanted);
    // A Query of pgrouter's own whose reply the client never sees (a held BEGIN, the WAL
    // position after a write).
    void send_hidden_query(std::string_view sql);
    // pgrouter's name of `statement` on this connection, preparing it first (hidden) when the
    // connection lacks it (and closing the statement the LRU evicts).
    const std::string& ensure_prepared(const backend::PreparedStatement& statement);
    // Sends the client's Parse of `statement` under pgrouter's name. `client_name` is undone if
    // the server does not carry the Parse out.
    void send_parse(const backend::PreparedStatement& statement, std::string_view client_name);

    // A Parse whose failure must be undone (client name and this connection's cache).
    struct ParseRecord {
        std::string client_name;  // empty for pgrouter's hidden Parse
        std::string server_name;
        bool on_server = true;  // sent to the server (not answered by pgrouter itself)
    };
    std::uint32_t record_parse(std::string_view client_name, const std::string& server_name,
                               bool on_server);
    const ParseRecord* parse_record(std::uint32_t tag) const noexcept {
        return tag == 0 || tag > parse_records_.size() ? nullptr : &parse_records_[tag - 1];
    }
    // Forgets the server side of a failed Parse and returns its record (null if unknown).
    const ParseRecord* undo_parse(std::uint32_t tag);
    void forget_parse_records() noexcept { parse_records_.clear(); }

    backend::TxTracker& tx() noexcept { return tx_; }
    const backend::TxTracker& tx() const noexcept { return tx_; }
    backend::ResponseQueue& responses() noexcept { return responses_; }
    io::ReadBuffer& in() noexcept { return in_; }

    // Bytes of a large server message (DataRow/CopyData) still to be streamed to the client.
    std::size_t stream_remaining = 0;
    // The connection failed (I/O error, garbage); it is closed, never reused.
    bool lost = false;

    // Routing state of the unit of work this link carries (reset when it is made).
    bool on_replica = false;   // routed to a replica: takes reads and its own transaction only
    bool explicit_tx = false;  // carries a client transaction (BEGIN ...) opened on it
    bool tx_ending = false;    // that transaction's COMMIT/ROLLBACK has been sent
    bool wrote = false;        // a statement that may modify data ran since the last idle point
    std::uint32_t lsn_queries = 0;  // hidden WAL-position queries not answered yet
    bool counts_in_flight = false;  // counted in its server's in-flight transactions

    // A read outside a transaction on a replica can be sent again elsewhere if this server fails
    // before any byte of the answer reached the client: the client's bytes of the unit, as sent.
    bool retryable = false;
    std::vector<std::uint8_t> replay;
    std::uint32_t replay_readies = 0;  // Queries and Syncs in `replay`
    bool answered = false;             // some reply has gone to the client
    bool retry = false;                // failed before answering: send `replay` elsewhere

    // Returns the connection to its pool (Clean), resets it first (Reset) or closes it (Close).
    // The link's buffers stay until the link is destroyed (replies may still be being written
    // from them). A link destroyed without this closes its connection (the lease's rule).
    void give_back(pool::BackendPool::Return how) { lease_.give_back(how); }
    ~ServerLink();

private:
    void reuse(pool::BackendLease lease, std::size_t server);
    // Parse under pgrouter's name (plus the Close of the statement the LRU evicts).
    void write_parse(const backend::PreparedStatement& statement, bool hidden,
                     std::string_view client_name);

    pool::BackendLease lease_;
    std::size_t server_;
    wire::Segments out_;
    wire::Segments replies_;
    backend::TxTracker tx_;
    backend::ResponseQueue responses_;
    std::vector<ParseRecord> parse_records_;
    io::ReadBuffer in_;
    std::string script_;
};

}  // namespace pgrouter::link
