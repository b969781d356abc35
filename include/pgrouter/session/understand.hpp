// pgrouter/session/understand.hpp — the first step of the client pipeline: what one client message
// is and asks for (statement text and its classification, the prepared statement a Bind or
// Describe names), before any server is chosen. Pure: no I/O, no server state.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>

#include "pgrouter/routing/route.hpp"
#include "pgrouter/session/prepared.hpp"
#include "pgrouter/sql/statement_cache.hpp"
#include "pgrouter/wire/frame.hpp"

namespace pgrouter::session {

struct Request {
    char type = 0;                  // frontend message type letter
    bool valid = true;              // false: the message is malformed (08P01)
    bool partial = false;           // only the head of a large message is here (it is streamed)
    std::string_view text;          // Query, Parse: the statement text
    std::string_view name;          // Parse, Bind: statement; Describe, Close: statement or portal
    std::string_view portal;        // Bind
    char target = 0;                // Describe, Close: 'S' statement or 'P' portal
    std::uint16_t param_count = 0;  // Parse
    std::span<const std::uint8_t> param_types;  // Parse: raw OIDs
    // Bind/Describe of a client statement pgrouter renames (transaction mode only).
    const PreparedStatement* prepared = nullptr;
    // Query/Parse texts that may touch session state, through the statement cache (parsed once).
    std::shared_ptr<const sql::Classification> classification;
    // Bytes of the body after the Bind's statement name (what a renamed Bind keeps).
    std::size_t bind_rest_offset = 0;

    // Routing facts (only worked out when the database has replicas).
    routing::RouteRequest route;
    bool neutral = false;     // no statement of its own (Execute, Sync, Describe of a portal...)
    bool may_modify = false;  // may change data: the client's next reads must see it
    bool begin = false;       // exactly one plain BEGIN / START TRANSACTION (read-write)
    bool ends_tx = false;     // exactly one COMMIT / ROLLBACK (not AND CHAIN)
    bool sets_read_only = false;       // SET TRANSACTION READ ONLY
    std::string_view consistency_key;  // a /* pgrouter: key=... */ hint
};

// What understand() needs to work out where a request may go.
struct RoutingContext {
    bool enabled = false;  // the database has replicas: classify every statement
    // Functions that write beyond the builtin ones (catalogue VOLATILE + configured). Null until
    // the catalogue has been read: then any function call counts as a write.
    const std::unordered_set<std::string>* write_functions = nullptr;
    // No user function that writes shadows a built-in the fast path accepts.
    bool builtins_trusted = false;
};

// `frame` may be the head of a streamed message (`partial`); for a Bind it must hold the portal
// and statement names, for a Query its text is only the part that has arrived and is not
// classified (the caller treats it as unreadable).
Request understand(const wire::Frame& frame, bool partial, const ClientStatements& statements,
                   bool transaction_mode, sql::StatementCache& cache,
                   const RoutingContext& routing = {});

// The statement a named Parse creates, under pgrouter's digest name (same text and parameter
// types, same name on every server).
std::shared_ptr<PreparedStatement> make_statement(const Request& parse);

// What routing needs from a request.
routing::RouteRequest route_request(const Request& request) noexcept;

// The routing facts of a statement text (Query or Parse), into `request`.
void understand_statement(std::string_view text, Request& request, sql::StatementCache& cache,
                          const RoutingContext& routing);

// Effects a transaction pooler cannot hand to the next client.
inline constexpr std::uint32_t kPinningEffects = sql::kListen | sql::kAdvisoryLock |
                                                 sql::kTempTable | sql::kHoldCursor |
                                                 sql::kPreparedStatement | sql::kSetConfig;

}  // namespace pgrouter::session
