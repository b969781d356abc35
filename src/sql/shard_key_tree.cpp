// src/sql/shard_key_tree.cpp — reads one statement's protobuf parse tree for find_shard_keys():
// the top-level query's sharded tables, the key values its WHERE / JOIN ON / INSERT VALUES pin
// them to, and every other sharded table anywhere in the tree (unknown key). No parser calls;
// recursion over expressions and join trees is capped at kMaxDepth, the whole-tree walk is
// iterative.
#include "shard_key_tree.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "statement_tree.hpp"

namespace pgrouter::sql::tree {
namespace {

// Deeper expressions or join trees than this are not looked into (the key stays unknown).
constexpr int kMaxDepth = 64;

using Values = std::vector<KeyValue>;

// A sharded table in the top-level query's scope.
struct Entry {
    const PgQuery__RangeVar* rel = nullptr;
    const ShardedTableKey* key = nullptr;
    std::string_view refname;
    std::optional<Values> values;
    bool per_row = false;
    bool sets_key = false;
};

struct Scope {
    std::vector<Entry> entries;
    // Where a constant pins a key: WHERE and the ON of joins reached through inner joins only.
    std::vector<const PgQuery__Node*> pin_quals;
    // Where a.key = b.key carries a pin: those plus the ON of every other join.
    std::vector<const PgQuery__Node*> eq_quals;
    std::vector<std::pair<std::size_t, std::size_t>> equal_keys;  // entries with a.key = b.key
    bool gave_up = false;
};

const ShardedTableKey* sharded(const PgQuery__RangeVar* rel,
                               std::span<const ShardedTableKey> tables) noexcept {
    if (rel == nullptr) {
        return nullptr;
    }
    std::string_view name = str(rel->relname);
    for (const ShardedTableKey& table : tables) {
        if (table.table == name) {
            return &table;
        }
    }
    return nullptr;
}

std::string_view refname(const PgQuery__RangeVar* rel) noexcept {
    if (rel->alias != nullptr && !str(rel->alias->aliasname).empty()) {
        return str(rel->alias->aliasname);
    }
    return str(rel->relname);
}

std::string_view string_of(const PgQuery__Node* node) noexcept {
    if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_STRING ||
        node->string == nullptr) {
        return {};
    }
    return str(node->string->sval);
}

// The FROM-list item `node` and everything it joins, into scope.
void add_from(const PgQuery__Node* node, bool inner, int depth, Scope& scope,
              std::span<const ShardedTableKey> tables) {
    if (node == nullptr) {
        return;
    }
    if (depth > kMaxDepth) {
        scope.gave_up = true;
        return;
    }
    if (node->node_case == PG_QUERY__NODE__NODE_RANGE_VAR) {
        if (const ShardedTableKey* key = sharded(node->range_var, tables)) {
            Entry entry;
            entry.rel = node->range_var;
            entry.key = key;
            entry.refname = refname(node->range_var);
            scope.entries.push_back(std::move(entry));
        }
        return;
    }
    if (node->node_case != PG_QUERY__NODE__NODE_JOIN_EXPR || node->join_expr == nullptr) {
        return;  // subqueries, functions, VALUES: their tables are found by the whole-tree walk
    }
    const PgQuery__JoinExpr* join = node->join_expr;
    // Constants in the ON of an outer join do not filter its preserved side, nor does anything
    // below an outer join filter the statement's rows; key equalities still hold for every row
    // that is joined.
    const bool inner_here = inner && join->jointype == PG_QUERY__JOIN_TYPE__JOIN_INNER;
    const std::size_t left_begin = scope.entries.size();
    add_from(join->larg, inner_here, depth + 1, scope, tables);
    const std::size_t right_begin = scope.entries.size();
    add_from(join->rarg, inner_here, depth + 1, scope, tables);
    if (join->quals != nullptr) {
        scope.eq_quals.push_back(join->quals);
        if (inner_here) {
            scope.pin_quals.push_back(join->quals);
        }
    }
    // JOIN ... USING (key) of one sharded table on each side with that key column.
    if (right_begin - left_begin == 1 && scope.entries.size() - right_begin == 1) {
        for (std::size_t i = 0; i < join->n_using_clause; ++i) {
            std::string_view column = string_of(join->using_clause[i]);
            if (column == scope.entries[left_begin].key->column &&
                column == scope.entries[right_begin].key->column) {
                scope.equal_keys.emplace_back(left_begin, right_begin);
            }
        }
    }
}

// The entry whose key column `node` names, if it is a plain column reference to one.
std::optional<std::size_t> key_of(const PgQuery__Node* node, const Scope& scope) noexcept {
    if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_COLUMN_REF ||
        node->column_ref == nullptr || node->column_ref->n_fields == 0) {
        return std::nullopt;
    }
    const PgQuery__ColumnRef* ref = node->column_ref;
    std::string_view column = string_of(ref->fields[ref->n_fields - 1]);
    if (column.empty()) {
        return std::nullopt;  // '*' or something odd
    }
    std::optional<std::size_t> found;
    for (std::size_t i = 0; i < scope.entries.size(); ++i) {
        const Entry& entry = scope.entries[i];
        if (entry.key->column != column) {
            continue;
        }
        if (ref->n_fields >= 2 && string_of(ref->fields[ref->n_fields - 2]) != entry.refname) {
            continue;
        }
        if (found) {
            return std::nullopt;  // ambiguous: PostgreSQL refuses the statement
        }
        found = i;
    }
    return found;
}

// `node` as a constant key value: a literal, NULL or $n, under casts and unary signs.
std::optional<KeyValue> constant(const PgQuery__Node* node, int depth = 0) {
    if (node == nullptr || depth > kMaxDepth) {
        return std::nullopt;
    }
    switch (node->node_case) {
        case PG_QUERY__NODE__NODE_A_CONST: {
            const PgQuery__AConst* c = node->a_const;
            if (c == nullptr) {
                return std::nullopt;
            }
            KeyValue value;
            if (c->isnull) {
                value.kind = KeyValue::Kind::Null;
                return value;
            }
            switch (c->val_case) {
                case PG_QUERY__A__CONST__VAL_IVAL:
                    value.text = std::to_string(c->ival != nullptr ? c->ival->ival : 0);
                    return value;
                case PG_QUERY__A__CONST__VAL_FVAL:
                    if (c->fval == nullptr) {
                        return std::nullopt;
                    }
                    value.text = str(c->fval->fval);
                    return value;
                case PG_QUERY__A__CONST__VAL_SVAL:
                    if (c->sval == nullptr) {
                        return std::nullopt;
                    }
                    value.kind = KeyValue::Kind::String;
                    value.text = str(c->sval->sval);
                    return value;
                default:
                    return std::nullopt;  // booleans and bit strings are no shard keys
            }
        }
        case PG_QUERY__NODE__NODE_PARAM_REF: {
            if (node->param_ref == nullptr || node->param_ref->number <= 0) {
                return std::nullopt;
            }
            KeyValue value;
            value.kind = KeyValue::Kind::Param;
            value.param = node->param_ref->number;
            value.text = std::to_string(value.param);
            value.text.insert(0, 1, '$');  // not "$" + ...: GCC 12 -Wrestrict false positive
            return value;
        }
        case PG_QUERY__NODE__NODE_TYPE_CAST:
            return node->type_cast == nullptr ? std::nullopt
                                              : constant(node->type_cast->arg, depth + 1);
        case PG_QUERY__NODE__NODE_A_EXPR: {
            // The parser folds "-1" into the constant; "+1" and "-(1::bigint)" stay operators.
            const PgQuery__AExpr* op = node->a_expr;
            if (op == nullptr || op->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP ||
                op->lexpr != nullptr || op->n_name != 1) {
                return std::nullopt;
            }
            std::string_view sign = string_of(op->name[0]);
            std::optional<KeyValue> value = constant(op->rexpr, depth + 1);
            if (!value || value->kind != KeyValue::Kind::Number || (sign != "+" && sign != "-")) {
                return std::nullopt;
            }
            if (sign == "-") {
                if (value->text.starts_with('-')) {
                    value->text.erase(0, 1);
                } else {
                    value->text.insert(0, 1, '-');
                }
            }
            return value;
        }
        default:
            return std::nullopt;
    }
}

void add_distinct(Values& to, const KeyValue& value) {
    if (std::find(to.begin(), to.end(), value) == to.end()) {
        to.push_back(value);
    }
}

bool is_operator(const PgQuery__AExpr* op, std::string_view name) noexcept {
    return op->n_name == 1 && string_of(op->name[0]) == name;
}

// The values `expr` pins entry `index` to, or nullopt.
std::optional<Values> pins(const PgQuery__Node* expr, std::size_t index, const Scope& scope,
                           int depth) {
    if (expr == nullptr || depth > kMaxDepth) {
        return std::nullopt;
    }
    if (expr->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR && expr->bool_expr != nullptr) {
        const PgQuery__BoolExpr* b = expr->bool_expr;
        if (b->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
            // Any pinned conjunct bounds the rows; the smallest set is the tightest.
            std::optional<Values> best;
            for (std::size_t i = 0; i < b->n_args; ++i) {
                std::optional<Values> got = pins(b->args[i], index, scope, depth + 1);
                if (got && (!best || got->size() < best->size())) {
                    best = std::move(got);
                }
            }
            return best;
        }
        if (b->boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR) {
            Values all;
            for (std::size_t i = 0; i < b->n_args; ++i) {
                std::optional<Values> got = pins(b->args[i], index, scope, depth + 1);
                if (!got) {
                    return std::nullopt;
                }
                for (const KeyValue& value : *got) {
                    add_distinct(all, value);
                }
            }
            return all.empty() ? std::nullopt : std::optional<Values>(std::move(all));
        }
        return std::nullopt;  // NOT
    }
    if (expr->node_case != PG_QUERY__NODE__NODE_A_EXPR || expr->a_expr == nullptr) {
        return std::nullopt;
    }
    const PgQuery__AExpr* op = expr->a_expr;
    if (op->kind == PG_QUERY__A__EXPR__KIND__AEXPR_OP && is_operator(op, "=")) {
        std::optional<KeyValue> value;
        if (key_of(op->lexpr, scope) == index) {
            value = constant(op->rexpr);
        } else if (key_of(op->rexpr, scope) == index) {
            value = constant(op->lexpr);
        }
        return value ? std::optional<Values>(Values{*value}) : std::nullopt;
    }
    if (op->kind == PG_QUERY__A__EXPR__KIND__AEXPR_IN && is_operator(op, "=") &&
        key_of(op->lexpr, scope) == index && op->rexpr != nullptr &&
        op->rexpr->node_case == PG_QUERY__NODE__NODE_LIST && op->rexpr->list != nullptr) {
        Values all;
        for (std::size_t i = 0; i < op->rexpr->list->n_items; ++i) {
            std::optional<KeyValue> value = constant(op->rexpr->list->items[i]);
            if (!value) {
                return std::nullopt;
            }
            add_distinct(all, *value);
        }
        return all.empty() ? std::nullopt : std::optional<Values>(std::move(all));
    }
    return std::nullopt;
}

// `a.key = b.key` among the top-level conjuncts of `expr`.
void find_equal_keys(const PgQuery__Node* expr, Scope& scope, int depth) {
    if (expr == nullptr || depth > kMaxDepth) {
        return;
    }
    if (expr->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR && expr->bool_expr != nullptr &&
        expr->bool_expr->boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR) {
        for (std::size_t i = 0; i < expr->bool_expr->n_args; ++i) {
            find_equal_keys(expr->bool_expr->args[i], scope, depth + 1);
        }
        return;
    }
    if (expr->node_case == PG_QUERY__NODE__NODE_A_EXPR && expr->a_expr != nullptr &&
        expr->a_expr->kind == PG_QUERY__A__EXPR__KIND__AEXPR_OP && is_operator(expr->a_expr, "=")) {
        std::optional<std::size_t> left = key_of(expr->a_expr->lexpr, scope);
        std::optional<std::size_t> right = key_of(expr->a_expr->rexpr, scope);
        if (left && right && *left != *right) {
            scope.equal_keys.emplace_back(*left, *right);
        }
    }
}

bool assigns(std::size_t n, PgQuery__Node* const* targets, std::string_view column) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        const PgQuery__Node* target = targets[i];
        if (target != nullptr && target->node_case == PG_QUERY__NODE__NODE_RES_TARGET &&
            target->res_target != nullptr && str(target->res_target->name) == column) {
            return true;
        }
    }
    return false;
}

// Pins every entry from the quals, then carries pins along key equalities.
void solve(Scope& scope) {
    if (scope.gave_up) {
        return;
    }
    for (const PgQuery__Node* qual : scope.eq_quals) {
        find_equal_keys(qual, scope, 0);
    }
    for (std::size_t i = 0; i < scope.entries.size(); ++i) {
        for (const PgQuery__Node* qual : scope.pin_quals) {
            std::optional<Values> got = pins(qual, i, scope, 0);
            std::optional<Values>& have = scope.entries[i].values;
            if (got && (!have || got->size() < have->size())) {
                have = std::move(got);
            }
        }
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (auto [a, b] : scope.equal_keys) {
            Entry& left = scope.entries[a];
            Entry& right = scope.entries[b];
            if (left.values && !right.values) {
                right.values = left.values;
                changed = true;
            } else if (right.values && !left.values) {
                left.values = right.values;
                changed = true;
            }
        }
    }
}

void add_from_list(std::size_t n, PgQuery__Node* const* items, Scope& scope,
                   std::span<const ShardedTableKey> tables) {
    for (std::size_t i = 0; i < n; ++i) {
        add_from(items[i], true, 0, scope, tables);
    }
}

// The INSERT target's key from VALUES rows.
void insert_values(const PgQuery__InsertStmt* insert, Entry& entry) {
    std::optional<std::size_t> column;
    for (std::size_t i = 0; i < insert->n_cols; ++i) {
        const PgQuery__Node* col = insert->cols[i];
        if (col != nullptr && col->node_case == PG_QUERY__NODE__NODE_RES_TARGET &&
            col->res_target != nullptr && col->res_target->n_indirection == 0 &&
            str(col->res_target->name) == entry.key->column) {
            column = i;
        }
    }
    const PgQuery__Node* select = insert->select_stmt;
    if (!column || select == nullptr || select->node_case != PG_QUERY__NODE__NODE_SELECT_STMT ||
        select->select_stmt == nullptr || select->select_stmt->n_values_lists == 0 ||
        select->select_stmt->op != PG_QUERY__SET_OPERATION__SETOP_NONE) {
        return;
    }
    Values rows;
    for (std::size_t r = 0; r < select->select_stmt->n_values_lists; ++r) {
        const PgQuery__Node* row = select->select_stmt->values_lists[r];
        if (row == nullptr || row->node_case != PG_QUERY__NODE__NODE_LIST || row->list == nullptr ||
            *column >= row->list->n_items) {
            return;
        }
        std::optional<KeyValue> value = constant(row->list->items[*column]);
        if (!value) {
            return;  // DEFAULT, an expression, a subquery: this row could go anywhere
        }
        rows.push_back(std::move(*value));
    }
    entry.values = std::move(rows);
    entry.per_row = true;
}

// The top-level query's own tables, pinned where the statement allows it.
Scope analyse(const PgQuery__Node* node, std::span<const ShardedTableKey> tables) {
    Scope scope;
    if (node != nullptr && node->node_case == PG_QUERY__NODE__NODE_EXPLAIN_STMT &&
        node->explain_stmt != nullptr) {
        node = node->explain_stmt->query;
    }
    if (node == nullptr) {
        return scope;
    }
    switch (node->node_case) {
        case PG_QUERY__NODE__NODE_SELECT_STMT: {
            const PgQuery__SelectStmt* select = node->select_stmt;
            if (select == nullptr || select->op != PG_QUERY__SET_OPERATION__SETOP_NONE) {
                break;
            }
            add_from_list(select->n_from_clause, select->from_clause, scope, tables);
            if (select->where_clause != nullptr) {
                scope.pin_quals.push_back(select->where_clause);
                scope.eq_quals.push_back(select->where_clause);
            }
            solve(scope);
            break;
        }
        case PG_QUERY__NODE__NODE_INSERT_STMT: {
            const PgQuery__InsertStmt* insert = node->insert_stmt;
            if (insert == nullptr) {
                break;
            }
            if (const ShardedTableKey* key = sharded(insert->relation, tables)) {
                Entry entry;
                entry.rel = insert->relation;
                entry.key = key;
                entry.refname = refname(insert->relation);
                insert_values(insert, entry);
                const PgQuery__OnConflictClause* conflict = insert->on_conflict_clause;
                entry.sets_key = conflict != nullptr && assigns(conflict->n_target_list,
                                                                conflict->target_list, key->column);
                scope.entries.push_back(std::move(entry));
            }
            break;
        }
        case PG_QUERY__NODE__NODE_UPDATE_STMT: {
            const PgQuery__UpdateStmt* update = node->update_stmt;
            if (update == nullptr) {
                break;
            }
            if (update->relation != nullptr) {
                PgQuery__Node target = PG_QUERY__NODE__INIT;
                target.node_case = PG_QUERY__NODE__NODE_RANGE_VAR;
                target.range_var = update->relation;
                add_from(&target, true, 0, scope, tables);
                if (!scope.entries.empty()) {
                    scope.entries.front().sets_key =
                        assigns(update->n_target_list, update->target_list,
                                scope.entries.front().key->column);
                }
            }
            add_from_list(update->n_from_clause, update->from_clause, scope, tables);
            if (update->where_clause != nullptr) {
                scope.pin_quals.push_back(update->where_clause);
                scope.eq_quals.push_back(update->where_clause);
            }
            solve(scope);
            break;
        }
        case PG_QUERY__NODE__NODE_DELETE_STMT: {
            const PgQuery__DeleteStmt* del = node->delete_stmt;
            if (del == nullptr) {
                break;
            }
            if (del->relation != nullptr) {
                PgQuery__Node target = PG_QUERY__NODE__INIT;
                target.node_case = PG_QUERY__NODE__NODE_RANGE_VAR;
                target.range_var = del->relation;
                add_from(&target, true, 0, scope, tables);
            }
            add_from_list(del->n_using_clause, del->using_clause, scope, tables);
            if (del->where_clause != nullptr) {
                scope.pin_quals.push_back(del->where_clause);
                scope.eq_quals.push_back(del->where_clause);
            }
            solve(scope);
            break;
        }
        default:
            break;
    }
    if (scope.gave_up) {
        for (Entry& entry : scope.entries) {
            entry.values.reset();
        }
    }
    return scope;
}

}  // namespace

// Iterative walk over the protobuf-c descriptors, as tree::inspect.
void all_relations(const ProtobufCMessage* root, std::vector<const PgQuery__RangeVar*>& out) {
    std::vector<const ProtobufCMessage*> stack{root};
    while (!stack.empty()) {
        const ProtobufCMessage* message = stack.back();
        stack.pop_back();
        const ProtobufCMessageDescriptor* type = message->descriptor;
        if (type == &pg_query__range_var__descriptor) {
            out.push_back(reinterpret_cast<const PgQuery__RangeVar*>(message));
        }
        push_children(message, stack);
    }
}

std::optional<KeyValue> key_constant(const PgQuery__Node* node) {
    return constant(node);
}

void read_shard_keys(const PgQuery__Node* node, std::span<const ShardedTableKey> tables,
                     ShardKeyResult& out, std::vector<const PgQuery__RangeVar*>* rels) {
    Scope scope = analyse(node, tables);
    std::vector<const PgQuery__RangeVar*> relations;
    all_relations(&node->base, relations);
    std::stable_sort(relations.begin(), relations.end(),
                     [](const PgQuery__RangeVar* a, const PgQuery__RangeVar* b) {
                         return a->location < b->location;
                     });
    for (const PgQuery__RangeVar* rel : relations) {
        const ShardedTableKey* key = sharded(rel, tables);
        if (key == nullptr) {
            continue;
        }
        ShardKeyUse use;
        use.table = key->table;
        use.alias = std::string(refname(rel));
        auto entry = std::find_if(scope.entries.begin(), scope.entries.end(),
                                  [rel](const Entry& e) { return e.rel == rel; });
        if (entry != scope.entries.end()) {
            if (entry->values) {
                use.values = *entry->values;
                use.per_row = entry->per_row;
            }
            use.sets_key = entry->sets_key;
        }
        out.uses.push_back(std::move(use));
        if (rels != nullptr) {
            rels->push_back(rel);
        }
    }
}

}  // namespace pgrouter::sql::tree
