// pgrouter/backend/param_state.cpp — settings bookkeeping and the SET script between two sessions.
#include "pgrouter/backend/param_state.hpp"

#include <algorithm>
#include <array>

namespace pgrouter::backend {
namespace {

char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) {
            return false;
        }
    }
    return true;
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

std::optional<std::size_t> synced_slot(std::string_view name) noexcept {
    for (std::size_t i = 0; i < kSyncedReported.size(); ++i) {
        if (iequals(kSyncedReported[i], name)) {
            return i;
        }
    }
    return std::nullopt;
}

void ParamState::set_reported(std::string_view name, std::string_view value) {
    if (auto slot = synced_slot(name)) {
        auto& current = synced_[*slot];
        if (!current || *current != value) {
            current.emplace(value);
        }
    }
}

const std::string* ParamState::reported(std::string_view name) const noexcept {
    auto slot = synced_slot(name);
    return slot && synced_[*slot] ? &*synced_[*slot] : nullptr;
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

void append_sync_script(const ParamState& client, const ParamState& server, std::string& script) {
    for (std::size_t i = 0; i < kSyncedReported.size(); ++i) {
        const auto& want = client.synced_[i];
        if (want && want != server.synced_[i]) {
            script += "SET ";
            script += kSyncedReported[i];
            script += " TO ";
            script += quote_literal(*want);
            script += ';';
        }
    }
    if (client.replayed_.empty() && server.replayed_.empty()) {
        return;
    }
    for (const auto& [name, statement] : server.replayed_) {
        if (find_entry(client.replayed_, name) == client.replayed_.end()) {
            script += reset_statement(name);
        }
    }
    for (const auto& [name, statement] : client.replayed_) {
        auto it = find_entry(server.replayed_, name);
        if (it == server.replayed_.end() || it->second != statement) {
            script += statement;
            script += ';';
        }
    }
}

std::string sync_script(const ParamState& client, const ParamState& server) {
    std::string script;
    append_sync_script(client, server, script);
    return script;
}

}  // namespace pgrouter::backend
