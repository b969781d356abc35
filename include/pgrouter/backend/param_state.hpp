// pgrouter/backend/param_state.hpp — which session settings a client has and what must be sent to a
// server connection so that it matches. Pure: strings in, SQL text out, no I/O.
//
// Two sources: parameters the server reports with ParameterStatus (client_encoding, DateStyle,
// TimeZone, application_name, ...) are tracked by value, exactly as reported, in fixed slots so
// the per-transaction comparison is a handful of string compares; other session parameters
// (search_path, ...) are tracked by the SET statement that changed them, replayed as written.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pgrouter/sql/classify.hpp"

namespace pgrouter::backend {

// The reported parameters pgrouter keeps in step per client, as the server spells them.
inline constexpr std::array<std::string_view, 6> kSyncedReported = {
    "application_name", "client_encoding", "DateStyle",
    "IntervalStyle",    "TimeZone",        "standard_conforming_strings"};

// Slot of a synced reported parameter (case-insensitive), or nullopt.
std::optional<std::size_t> synced_slot(std::string_view name) noexcept;
inline bool is_synced_reported(std::string_view name) noexcept {
    return synced_slot(name).has_value();
}

class ParamState {
public:
    using Entries = std::vector<std::pair<std::string, std::string>>;

    // A ParameterStatus seen from the server; parameters that are not synced are ignored.
    void set_reported(std::string_view name, std::string_view value);
    const std::string* reported(std::string_view name) const noexcept;

    // Session-level SET/RESET statements that completed (committed) on this session.
    void apply(std::span<const sql::SettingChange> changes);
    const Entries& replayed() const noexcept { return replayed_; }
    void clear_replayed() noexcept { replayed_.clear(); }
    void copy_replayed_from(const ParamState& other) {
        if (&other != this) {
            replayed_ = other.replayed_;
        }
    }

    // SQL that makes `server` match `client`, appended to `script` (nothing when they match).
    friend void append_sync_script(const ParamState& client, const ParamState& server,
                                   std::string& script);

private:
    std::array<std::optional<std::string>, kSyncedReported.size()> synced_;
    Entries replayed_;  // lower-case name -> SQL that sets it
};

// SQL (one simple-query string) that makes `server` match `client`, or "" when they match.
std::string sync_script(const ParamState& client, const ParamState& server);

// Quotes a value as a SQL string literal ('it''s').
std::string quote_literal(std::string_view value);

}  // namespace pgrouter::backend
