// pgrouter/session/param_sync.cpp — settings bookkeeping and the SET script between two sessions.
#include "pgrouter/session/param_sync.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace pgrouter::session {
namespace {

constexpr std::array<std::string_view, 6> kSyncedReported = {
    "application_name", "client_encoding", "DateStyle",
    "IntervalStyle",    "TimeZone",        "standard_conforming_strings"};

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

template <typename Entries>
auto find_entry(Entries& entries, std::string_view name) noexcept {
    return std::find_if(entries.begin(), entries.end(),
                        [&](const auto& e) { return iequals(e.first, name); });
}

// How to undo a replayed setting. Two names are not plain GUCs.
std::string reset_statement(const std::string& name) {
    if (name == "session characteristics") {
        return "RESET default_transaction_isolation;RESET default_transaction_read_only;"
               "RESET default_transaction_deferrable;";
    }
    if (name == "session_authorization") {
        return "RESET SESSION AUTHORIZATION;";
    }
    return "RESET " + name + ";";
}

}  // namespace

bool is_synced_reported(std::string_view name) noexcept {
    return std::any_of(kSyncedReported.begin(), kSyncedReported.end(),
                       [&](std::string_view n) { return iequals(n, name); });
}

void ParamState::set_reported(std::string_view name, std::string_view value) {
    auto it = find_entry(reported_, name);
    if (it == reported_.end()) {
        reported_.emplace_back(std::string(name), std::string(value));
    } else if (it->second != value) {
        it->second.assign(value);
    }
}

const std::string* ParamState::reported(std::string_view name) const noexcept {
    auto it = find_entry(reported_, name);
    return it == reported_.end() ? nullptr : &it->second;
}

void ParamState::apply(std::span<const sql::SettingChange> changes) {
    for (const auto& change : changes) {
        switch (change.action) {
            case sql::SettingAction::ResetAll:
                // RESET ALL leaves role and session authorization alone; DISCARD ALL resets them
                // with explicit Reset entries of its own.
                std::erase_if(replayed_, [](const auto& e) {
                    return e.first != "role" && e.first != "session_authorization";
                });
                break;
            case sql::SettingAction::Reset:
            case sql::SettingAction::Set: {
                // Reported parameters come back as ParameterStatus with their real value.
                if (is_synced_reported(change.name)) {
                    break;
                }
                auto it = find_entry(replayed_, change.name);
                if (change.action == sql::SettingAction::Reset) {
                    if (it != replayed_.end()) {
                        replayed_.erase(it);
                    }
                } else if (it == replayed_.end()) {
                    replayed_.emplace_back(change.name, change.replay);
                } else {
                    it->second = change.replay;
                }
                break;
            }
        }
    }
}

std::string quote_literal(std::string_view value) {
    std::string out;
    out.reserve(value.size() + 2);
    out.push_back('\'');
    for (char c : value) {
        if (c == '\'') {
            out.push_back('\'');
        }
        out.push_back(c);
    }
    out.push_back('\'');
    return out;
}

std::string sync_script(const ParamState& client, const ParamState& server) {
    std::string script;
    for (std::string_view name : kSyncedReported) {
        const std::string* want = client.reported(name);
        if (want == nullptr) {
            continue;
        }
        const std::string* have = server.reported(name);
        if (have == nullptr || *have != *want) {
            script += "SET ";
            script += name;
            script += " TO ";
            script += quote_literal(*want);
            script += ';';
        }
    }
    for (const auto& [name, statement] : server.replayed()) {
        auto it = find_entry(client.replayed(), name);
        if (it == client.replayed().end()) {
            script += reset_statement(name);
        }
    }
    for (const auto& [name, statement] : client.replayed()) {
        auto it = find_entry(server.replayed(), name);
        if (it == server.replayed().end() || it->second != statement) {
            script += statement;
            script += ';';
        }
    }
    return script;
}

}  // namespace pgrouter::session
