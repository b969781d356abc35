// src/sql/shard_plan_from.cpp — check_scatter_from(): whether the FROM list of a read can run on
// every shard and be merged: sharded tables only at the top level and joined to each other on
// their shard keys (every joined pair then lives on one shard), reference tables anywhere but on
// the preserved side of an outer join, and no table that lives on one shard only.
#include <algorithm>
#include <numeric>

#include "shard_key_tree.hpp"
#include "shard_plan_tree.hpp"
#include "statement_tree.hpp"

namespace pgrouter::sql::plan {
namespace {

// A sharded table among the top-level FROM items.
struct Entry {
    const PgQuery__RangeVar* rel;
    const ShardedTableKey* key;
    std::string_view refname;
};

class From {
public:
    From(const Statement& s, const PgQuery__SelectStmt& select) : s_(s), select_(select) {}

    bool check_from();
    const std::string& why() const noexcept { return why_; }

private:
    void add_from(const PgQuery__Node* node, int depth);
    std::optional<std::size_t> key_of(const PgQuery__Node* node) const;
    void equalities(const PgQuery__Node* expr, int depth);
    bool refuse(std::string why) {
        if (why_.empty()) {
            why_ = std::move(why);
        }
        return false;
    }

    const Statement& s_;
    const PgQuery__SelectStmt& select_;
    std::vector<Entry> entries_;
    std::vector<std::pair<std::size_t, std::size_t>> equal_;
    std::vector<const PgQuery__Node*> quals_;
    std::string why_;
};

// FROM: sharded tables joined on their keys, reference tables, no table that lives on one shard.
bool From::check_from() {
    for (std::size_t i = 0; i < select_.n_from_clause; ++i) {
        add_from(select_.from_clause[i], 0);
    }
    if (!why_.empty()) {
        return false;
    }
    for (const PgQuery__RangeVar* rel : s_.rels) {
        if (std::none_of(entries_.begin(), entries_.end(),
                         [rel](const Entry& e) { return e.rel == rel; })) {
            return refuse("a subquery over sharded table " + std::string(tree::str(rel->relname)));
        }
    }
    // CTE names can shadow nothing we track but must not be taken for unknown tables.
    std::vector<std::string_view> ctes;
    walk_expression(&s_.node->base, [&](const ProtobufCMessage* m) {
        if (m->descriptor == &pg_query__common_table_expr__descriptor) {
            ctes.push_back(
                tree::str(reinterpret_cast<const PgQuery__CommonTableExpr*>(m)->ctename));
        }
    });
    std::vector<const PgQuery__RangeVar*> rels;
    tree::all_relations(&s_.node->base, rels);
    for (const PgQuery__RangeVar* rel : rels) {
        const std::string_view name = tree::str(rel->relname);
        const std::string_view schema = tree::str(rel->schemaname);
        if (sharded_table(name, *s_.view) == nullptr && !is_reference(name, *s_.view) &&
            schema != "pg_catalog" && schema != "information_schema" &&
            std::find(ctes.begin(), ctes.end(), name) == ctes.end()) {
            return refuse("a join of sharded table " + s_.uses.front().table + " with table " +
                          std::string(name) + ", which is neither sharded nor reference,");
        }
    }
    if (select_.where_clause != nullptr) {
        quals_.push_back(select_.where_clause);
    }
    for (const PgQuery__Node* qual : quals_) {
        equalities(qual, 0);
    }
    // Connected through key equalities: every joined row pair lives on one shard.
    std::vector<std::size_t> group(entries_.size());
    std::iota(group.begin(), group.end(), 0);
    for (bool changed = true; changed;) {
        changed = false;
        for (auto [a, b] : equal_) {
            const std::size_t low = std::min(group[a], group[b]);
            if (group[a] != low || group[b] != low) {
                group[a] = group[b] = low;
                changed = true;
            }
        }
    }
    for (std::size_t i = 1; i < entries_.size(); ++i) {
        if (group[i] != group[0]) {
            return refuse("a join of sharded tables " + entries_[0].key->table + " and " +
                          entries_[i].key->table + " not on their shard keys");
        }
    }
    return true;
}

void From::add_from(const PgQuery__Node* node, int depth) {
    if (node == nullptr) {
        return;
    }
    if (depth > kMaxDepth) {
        refuse("a join nested this deeply");
        return;
    }
    if (node->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
        if (const ShardedTableKey* key =
                sharded_table(tree::str(node->range_var->relname), *s_.view)) {
            const PgQuery__RangeVar* rel = node->range_var;
            std::string_view refname = tree::str(rel->relname);
            if (rel->alias != nullptr && !tree::str(rel->alias->aliasname).empty()) {
                refname = tree::str(rel->alias->aliasname);
            }
            entries_.push_back(Entry{rel, key, refname});
        }
        return;
    }
    if (node->node_case != PG_QUERY__NODE__NODE_JOIN_EXPR || node->join_expr == nullptr) {
        return;  // subqueries, functions, VALUES: checked through their relations
    }
    const PgQuery__JoinExpr* join = node->join_expr;
    const std::size_t left = entries_.size();
    add_from(join->larg, depth + 1);
    const std::size_t right = entries_.size();
    add_from(join->rarg, depth + 1);
    const bool left_sharded = right > left;
    const bool right_sharded = entries_.size() > right;
    // An outer join keeps the rows of its preserved side on every shard: exact only when that
    // side is itself split across the shards.
    const PgQuery__JoinType type = join->jointype;
    if (((type == PG_QUERY__JOIN_TYPE__JOIN_LEFT || type == PG_QUERY__JOIN_TYPE__JOIN_FULL) &&
         !left_sharded) ||
        ((type == PG_QUERY__JOIN_TYPE__JOIN_RIGHT || type == PG_QUERY__JOIN_TYPE__JOIN_FULL) &&
         !right_sharded)) {
        refuse("an outer join that keeps every row of a table that is not sharded");
        return;
    }
    if (join->quals != nullptr) {
        quals_.push_back(join->quals);
    }
    if (right - left == 1 && entries_.size() - right == 1) {
        for (std::size_t i = 0; i < join->n_using_clause; ++i) {
            const std::string_view column = string_of(join->using_clause[i]);
            if (column == entries_[left].key->column && column == entries_[right].key->column) {
                equal_.emplace_back(left, right);
            }
        }
    }
}

std::optional<std::size_t> From::key_of(const PgQuery__Node* node) const {
    if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_COLUMN_REF ||
        node->column_ref->n_fields == 0) {
        return std::nullopt;
    }
    const PgQuery__ColumnRef* ref = node->column_ref;
    const std::string_view column = string_of(ref->fields[ref->n_fields - 1]);
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].key->column != column ||
            (ref->n_fields >= 2 &&
             string_of(ref->fields[ref->n_fields - 2]) != entries_[i].refname)) {
            continue;
        }
        if (found) {
            return std::nullopt;
        }
        found = i;
    }
    return found;
}

void From::equalities(const PgQuery__Node* expr, int depth) {
    if (expr == nullptr || depth > kMaxDepth) {
        return;
    }
    if (expr->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR &&
        expr->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
        for (std::size_t i = 0; i < expr->bool_expr->n_args; ++i) {
            equalities(expr->bool_expr->args[i], depth + 1);
        }
        return;
    }
    if (expr->node_case == PG_QUERY__NODE__NODE_A_EXPR &&
        expr->a_expr->kind == PG_QUERY__A__EXPR__KIND__AEXPR_OP && expr->a_expr->n_name == 1 &&
        string_of(expr->a_expr->name[0]) == "=") {
        const std::optional<std::size_t> a = key_of(expr->a_expr->lexpr);
        const std::optional<std::size_t> b = key_of(expr->a_expr->rexpr);
        if (a && b && *a != *b) {
            equal_.emplace_back(*a, *b);
        }
    }
}

}  // namespace

std::string check_scatter_from(const Statement& statement, const PgQuery__SelectStmt& select) {
    From from(statement, select);
    from.check_from();
    return from.why();
}

}  // namespace pgrouter::sql::plan
