// pgrouter/session/param_sync.hpp — which session settings a client has and what must be sent to a
// server connection so that it matches. Pure: strings in, SQL text out, no I/O.
//
// Two sources: parameters the server reports with ParameterStatus (client_encoding, DateStyle,
// TimeZone, application_name, ...) are tracked by value, exactly as reported; other session
// parameters (search_path, ...) are tracked by the SET statement that changed them, replayed as-is.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgrouter/sql/classify.hpp"

namespace pgrouter::session {

// True for the parameters that PostgreSQL reports and pgrouter keeps in step per client.
bool is_synced_reported(std::string_view name) noexcept;

class ParamState {
public:
    using Entries = std::vector<std::pair<std::string, std::string>>;

    // A ParameterStatus seen from the server (any parameter; only synced ones matter for diffs).
    void set_reported(std::string_view name, std::string_view value);
    const std::string* reported(std::string_view name) const noexcept;
    const Entries& reported_all() const noexcept { return reported_; }

    // Session-level SET/RESET statements that completed (committed) on this session.
    void apply(std::span<const sql::SettingChange> changes);
    const Entries& replayed() const noexcept { return replayed_; }
    void clear_replayed() noexcept { replayed_.clear(); }
    void copy_replayed_from(const ParamState& other) { replayed_ = other.replayed_; }

private:
    Entries reported_;  // name as the server spells it -> value
    Entries replayed_;  // lower-case name -> SQL that sets it
};

// SQL (one simple-query string) that makes `server` match `client`, or "" when they already match.
std::string sync_script(const ParamState& client, const ParamState& server);

// Quotes a value as a SQL string literal ('it''s').
std::string quote_literal(std::string_view value);

}  // namespace pgrouter::session
