// src/sql/shard_plan_insert.cpp — insert_with_rows(): one shard's part of a Split INSERT, the
// statement's tree with only that shard's VALUES rows, deparsed. Never throws on bad SQL.
#include "parse_tree.hpp"
#include "pgrouter/sql/shard_plan.hpp"
#include "shard_plan_tree.hpp"

namespace pgrouter::sql {
namespace {

struct InsertCall {
    std::span<const std::size_t> rows;
    std::string* out;
};

void insert_rows(PgQuery__ParseResult& tree, void* arg) {
    auto* call = static_cast<InsertCall*>(arg);
    if (tree.n_stmts != 1 || tree.stmts[0] == nullptr || tree.stmts[0]->stmt == nullptr ||
        tree.stmts[0]->stmt->node_case != PG_QUERY__NODE__NODE_INSERT_STMT) {
        return;
    }
    PgQuery__Node* source = tree.stmts[0]->stmt->insert_stmt->select_stmt;
    if (source == nullptr || source->node_case != PG_QUERY__NODE__NODE_SELECT_STMT ||
        source->select_stmt == nullptr || source->select_stmt->n_values_lists == 0) {
        return;
    }
    PgQuery__SelectStmt& values = *source->select_stmt;
    std::vector<PgQuery__Node*> kept;
    for (std::size_t row : call->rows) {
        if (row >= values.n_values_lists) {
            return;
        }
        kept.push_back(values.values_lists[row]);
    }
    if (kept.empty()) {
        return;
    }
    plan::Editor edit;
    edit.set_list(values.n_values_lists, values.values_lists, std::move(kept));
    if (std::optional<std::string> text = parse::deparse(tree)) {
        *call->out = std::move(*text);
    }
}

}  // namespace

std::string insert_with_rows(std::string_view sql, std::span<const std::size_t> rows) {
    std::string out;
    InsertCall call{rows, &out};
    if (parse::parse_with_budget(sql, plan::kBytesPerUnit, insert_rows, &call) !=
        parse::Status::Ok) {
        out.clear();
    }
    return out;
}

}  // namespace pgrouter::sql
