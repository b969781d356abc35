// pgrouter/session/prepared.cpp — client statement names.
#include "pgrouter/session/prepared.hpp"

namespace pgrouter::session {

const PreparedStatement* ClientStatements::find(std::string_view name) const {
    auto it = by_name_.find(std::string(name));
    return it == by_name_.end() ? nullptr : it->second.get();
}

bool ClientStatements::add(std::string_view name,
                           std::shared_ptr<const PreparedStatement> statement) {
    return by_name_.emplace(std::string(name), std::move(statement)).second;
}

void ClientStatements::remove(std::string_view name) {
    by_name_.erase(std::string(name));
}

}  // namespace pgrouter::session
