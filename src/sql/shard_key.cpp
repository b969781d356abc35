// src/sql/shard_key.cpp — find_shard_keys(): parses through parse_tree.hpp (the libpg_query
// boundary and its stack budget, shared with the shard planner); shard_key_tree.cpp reads the
// tree. Never throws on bad SQL.
#include "pgrouter/sql/shard_key.hpp"

#include <string_view>

#include "parse_budget.hpp"
#include "parse_tree.hpp"
#include "shard_key_tree.hpp"

namespace pgrouter::sql {
namespace {

struct Call {
    std::span<const ShardedTableKey> tables;
    ShardKeyResult* out;
};

void read_tree(PgQuery__ParseResult& tree, void* arg) {
    auto* call = static_cast<Call*>(arg);
    call->out->multi_statement = tree.n_stmts > 1;
    for (std::size_t i = 0; i < tree.n_stmts; ++i) {
        if (tree.stmts[i] != nullptr && tree.stmts[i]->stmt != nullptr) {
            tree::read_shard_keys(tree.stmts[i]->stmt, call->tables, *call->out);
        }
    }
}

}  // namespace

ShardKeyResult find_shard_keys(std::string_view sql, std::span<const ShardedTableKey> tables) {
    ShardKeyResult out;
    Call call{tables, &out};
    switch (parse::parse_with_budget(sql, budget::kStackBytesPerUnit, read_tree, &call)) {
        case parse::Status::Ok:
            return out;
        case parse::Status::ParseError:
            out = ShardKeyResult{};
            out.parse_error = true;
            return out;
        case parse::Status::OverLimit:
            out = ShardKeyResult{};
            out.parse_error = true;
            out.over_limit = true;
            return out;
    }
    return out;
}

}  // namespace pgrouter::sql
