// pgrouter/routing/route.hpp — where a client request goes. Pure: a function of (what the request
// is, the client's session view, the database's topology); no I/O, no clock, no logging. Returns
// a server index and a Reason enum; text is made only when someone logs it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pgrouter/config/config.hpp"

namespace pgrouter::routing {

// The servers behind one client-facing database. Index 0..n-1 into `servers`.
struct DatabaseTopology {
    std::string dbname;  // on the servers
    std::vector<config::Address> servers;
    std::size_t primary = 0;
};

// Every database of a config, built once per config snapshot.
class Topology {
public:
    explicit Topology(const config::Config& config);
    const DatabaseTopology* find(std::string_view database) const noexcept;

private:
    std::unordered_map<std::string, DatabaseTopology> databases_;
};

// What routing needs to know about the request (filled by the session's understand step).
struct RouteRequest {
    char type = 0;                 // frontend message type letter that starts the transaction
    bool unparsed = false;         // the statement was too large or too deep to read
    bool session_effects = false;  // creates session state (LISTEN, temp table, ...)
};

// What routing needs to know about the client.
struct SessionView {
    bool pinned = false;  // holds one server connection for its whole session
};

enum class Reason : std::uint8_t {
    Primary,  // the database has one server that takes everything (no replicas configured)
};

struct Decision {
    std::size_t server = 0;
    Reason reason = Reason::Primary;
};

Decision route(const RouteRequest& request, const SessionView& session,
               const DatabaseTopology& topology) noexcept;

std::string_view to_string(Reason reason) noexcept;

}  // namespace pgrouter::routing
