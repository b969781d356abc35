// pgrouter/session/understand.hpp — the first step of the client pipeline: what one client message
// is and asks for (statement text and its classification, the prepared statement a Bind or
// Describe names), before any server is chosen. Pure: no I/O, no server state.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

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
};

// `frame` may be the head of a streamed message (`partial`); for a Bind it must hold the portal
// and statement names, for a Query its text is only the part that has arrived and is not
// classified (the caller treats it as unreadable).
Request understand(const wire::Frame& frame, bool partial, const ClientStatements& statements,
                   bool transaction_mode, sql::StatementCache& cache);

// The statement a named Parse creates, under pgrouter's digest name (same text and parameter
// types, same name on every server).
std::shared_ptr<PreparedStatement> make_statement(const Request& parse);

// What routing needs from a request.
routing::RouteRequest route_request(const Request& request) noexcept;

// Effects a transaction pooler cannot hand to the next client.
inline constexpr std::uint32_t kPinningEffects = sql::kListen | sql::kAdvisoryLock |
                                                 sql::kTempTable | sql::kHoldCursor |
                                                 sql::kPreparedStatement | sql::kSetConfig;

}  // namespace pgrouter::session
