// pgrouter/session/prepared.hpp — named prepared statements in transaction mode, client side: what
// each client prepared, under its own names. Pure bookkeeping, no I/O. (Which of pgrouter's names a
// server connection holds is backend/statement_cache.hpp.)
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pgrouter/backend/statement_cache.hpp"

namespace pgrouter::session {

using backend::PreparedStatement;

// A client's statements under the names it chose. Exactly what a direct connection would have.
class ClientStatements {
public:
    const PreparedStatement* find(std::string_view name) const;
    // False when the client already uses `name` (42P05 on a direct connection).
    bool add(std::string_view name, std::shared_ptr<const PreparedStatement> statement);
    void remove(std::string_view name);
    void clear() noexcept { by_name_.clear(); }
    std::size_t size() const noexcept { return by_name_.size(); }

    // Where the client's last unnamed Parse was routed (routing::Access value): a Bind of the
    // unnamed statement that opens a unit of work follows it.
    std::uint8_t unnamed_access = 1;
    bool unnamed_may_modify = true;

private:
    std::unordered_map<std::string, std::shared_ptr<const PreparedStatement>> by_name_;
};

}  // namespace pgrouter::session
