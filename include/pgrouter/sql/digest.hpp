// pgrouter/sql/digest.hpp — the XXH3 digest that names a prepared statement on the servers: equal
// text and parameter types give the same name on every server connection, for every client.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pgrouter::sql {

// XXH3-64 of the query text, a NUL, then the raw parameter-type OIDs.
std::uint64_t statement_digest(std::string_view query,
                               std::span<const std::uint8_t> param_types) noexcept;

// "pgr_" followed by the digest in 16 lower-case hex digits.
std::string server_statement_name(std::uint64_t digest);

}  // namespace pgrouter::sql
