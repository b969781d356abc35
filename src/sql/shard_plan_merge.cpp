// src/sql/shard_plan_merge.cpp — plan_scatter(): a read without a key, rewritten into the query
// every shard runs plus the MergeSpec that turns their replies into the client's result (avg split
// into sum and count, LIMIT raised to offset+limit, OFFSET and HAVING moved to the merge, hidden
// columns appended). Anything whose merge would not be exact is refused with the construct named.
#include <algorithm>
#include <array>
#include <charconv>
#include <numeric>

#include "parse_tree.hpp"
#include "shard_key_tree.hpp"
#include "shard_plan_tree.hpp"
#include "statement_tree.hpp"

namespace pgrouter::sql::plan {
namespace {

constexpr std::array<std::string_view, 5> kMergeable = {"count", "sum", "min", "max", "avg"};
// Built-in aggregates the merge cannot combine; user-defined aggregates cannot be told from
// functions without the catalog.
constexpr std::array<std::string_view, 36> kOtherAggregates = {"string_agg",
                                                               "array_agg",
                                                               "bool_and",
                                                               "bool_or",
                                                               "every",
                                                               "bit_and",
                                                               "bit_or",
                                                               "bit_xor",
                                                               "stddev",
                                                               "stddev_pop",
                                                               "stddev_samp",
                                                               "variance",
                                                               "var_pop",
                                                               "var_samp",
                                                               "json_agg",
                                                               "jsonb_agg",
                                                               "json_object_agg",
                                                               "jsonb_object_agg",
                                                               "xmlagg",
                                                               "percentile_cont",
                                                               "percentile_disc",
                                                               "mode",
                                                               "corr",
                                                               "covar_pop",
                                                               "covar_samp",
                                                               "regr_avgx",
                                                               "regr_avgy",
                                                               "regr_count",
                                                               "regr_intercept",
                                                               "regr_r2",
                                                               "regr_slope",
                                                               "regr_sxx",
                                                               "regr_sxy",
                                                               "regr_syy",
                                                               "range_agg",
                                                               "range_intersect_agg"};

bool mergeable(std::string_view name) noexcept {
    return std::find(kMergeable.begin(), kMergeable.end(), name) != kMergeable.end();
}

bool any_aggregate(std::string_view name) noexcept {
    return mergeable(name) || std::find(kOtherAggregates.begin(), kOtherAggregates.end(), name) !=
                                  kOtherAggregates.end();
}

// Visits every message under `root` except inside subqueries (SubLink, RangeSubselect): their
// aggregates and windows are their own. Iterative.
template <class Fn>
void walk_expression(const ProtobufCMessage* root, Fn&& fn) {
    if (root == nullptr) {
        return;
    }
    std::vector<const ProtobufCMessage*> stack{root};
    while (!stack.empty()) {
        const ProtobufCMessage* message = stack.back();
        stack.pop_back();
        const ProtobufCMessageDescriptor* type = message->descriptor;
        if (type == &pg_query__sub_link__descriptor ||
            type == &pg_query__range_subselect__descriptor) {
            continue;
        }
        fn(message);
        const auto* base = reinterpret_cast<const char*>(message);
        for (unsigned i = 0; i < type->n_fields; ++i) {
            const ProtobufCFieldDescriptor& field = type->fields[i];
            if (field.type != PROTOBUF_C_TYPE_MESSAGE) {
                continue;
            }
            if (field.label == PROTOBUF_C_LABEL_REPEATED) {
                std::size_t n =
                    *reinterpret_cast<const std::size_t*>(base + field.quantifier_offset);
                auto* const* items =
                    *reinterpret_cast<ProtobufCMessage* const* const*>(base + field.offset);
                for (std::size_t k = 0; k < n; ++k) {
                    if (items[k] != nullptr) {
                        stack.push_back(items[k]);
                    }
                }
                continue;
            }
            if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
                *reinterpret_cast<const std::uint32_t*>(base + field.quantifier_offset) !=
                    field.id) {
                continue;
            }
            const auto* child =
                *reinterpret_cast<const ProtobufCMessage* const*>(base + field.offset);
            if (child != nullptr) {
                stack.push_back(child);
            }
        }
    }
}

struct Calls {
    std::string aggregate;  // the first aggregate called, "" if none
    bool window = false;
};

Calls calls_in(const PgQuery__Node* node) {
    Calls out;
    walk_expression(node == nullptr ? nullptr : &node->base, [&](const ProtobufCMessage* m) {
        if (m->descriptor != &pg_query__func_call__descriptor) {
            return;
        }
        const auto* call = reinterpret_cast<const PgQuery__FuncCall*>(m);
        if (call->over != nullptr) {
            out.window = true;
        } else if (out.aggregate.empty() && any_aggregate(function_name(*call))) {
            out.aggregate = function_name(*call);
        }
    });
    return out;
}

const PgQuery__FuncCall* as_call(const PgQuery__Node* node) noexcept {
    return node != nullptr && node->node_case == PG_QUERY__NODE__NODE_FUNC_CALL ? node->func_call
                                                                                : nullptr;
}

// A sharded table among the top-level FROM items.
struct Entry {
    const PgQuery__RangeVar* rel;
    const ShardedTableKey* key;
    std::string_view refname;
};

class Scatter {
public:
    Scatter(Statement& s, PgQuery__SelectStmt& select, ShardPlan& plan)
        : s_(s), select_(select), plan_(plan) {}

    std::string run();

private:
    bool check_from();
    void add_from(const PgQuery__Node* node, int depth);
    std::optional<std::size_t> key_of(const PgQuery__Node* node) const;
    void equalities(const PgQuery__Node* expr, int depth);
    bool check_targets();
    bool check_aggregate(const PgQuery__FuncCall& call);
    std::size_t add_hidden(PgQuery__Node* expr);
    std::size_t add_aggregate(const PgQuery__Node* original, std::optional<std::size_t> at);
    std::optional<std::size_t> find_column(const PgQuery__Node* expr) const;
    std::optional<std::size_t> alias_column(const PgQuery__Node* expr) const;
    std::optional<std::size_t> position_column(const PgQuery__Node* expr) const;
    bool group_by();
    std::optional<HavingExpr> having(const PgQuery__Node* node, int depth);
    bool order_by();
    bool limits();
    bool refuse(std::string why) {
        if (why_.empty()) {
            why_ = std::move(why);
        }
        return false;
    }

    Statement& s_;
    PgQuery__SelectStmt& select_;
    ShardPlan& plan_;
    MergeSpec& spec_ = plan_.merge;
    Editor edit_;
    std::vector<Entry> entries_;
    std::vector<std::pair<std::size_t, std::size_t>> equal_;
    std::vector<const PgQuery__Node*> quals_;
    std::vector<PgQuery__Node*> targets_;          // the shard query's target list
    std::vector<const PgQuery__Node*> originals_;  // per column: the client's expression
    bool star_ = false;
    bool has_aggregate_ = false;
    std::optional<std::uint64_t> limit_;
    std::uint64_t offset_ = 0;
    std::string why_;
};

std::string Scatter::run() {
    const std::string table = s_.uses.front().table;
    if (select_.op != PG_QUERY__SET_OPERATION__SETOP_NONE) {
        return "a set operation (UNION/INTERSECT/EXCEPT) over sharded table " + table;
    }
    if (select_.with_clause != nullptr) {
        std::vector<const PgQuery__RangeVar*> rels;
        tree::all_relations(&select_.with_clause->base, rels);
        for (const PgQuery__RangeVar* rel : rels) {
            if (sharded_table(tree::str(rel->relname), *s_.view) != nullptr) {
                return "WITH over sharded table " + std::string(tree::str(rel->relname));
            }
        }
    }
    if (!check_from() || !check_targets()) {
        return why_;
    }
    if (select_.n_window_clause > 0) {
        return "window functions";
    }
    const bool distinct_on = select_.n_distinct_clause > 0 &&
                             select_.distinct_clause[0] != nullptr &&
                             select_.distinct_clause[0]->node_case != PG_QUERY__NODE__NODE__NOT_SET;
    if (distinct_on) {
        return "DISTINCT ON";
    }
    spec_.distinct = select_.n_distinct_clause > 0;
    if (!limits() || !group_by()) {
        return why_;
    }
    if (select_.having_clause != nullptr) {
        has_aggregate_ = true;
        std::optional<HavingExpr> condition = having(select_.having_clause, 0);
        if (!condition) {
            return why_.empty() ? "this HAVING expression" : why_;
        }
        spec_.having = std::move(condition);
        edit_.set(select_.having_clause, static_cast<PgQuery__Node*>(nullptr));
    }
    if (!order_by()) {
        return why_;
    }
    spec_.aggregate = has_aggregate_ || select_.n_group_clause > 0;
    const bool hidden = targets_.size() > select_.n_target_list;
    if (star_ && (spec_.aggregate || spec_.distinct || !spec_.order.empty() || hidden)) {
        return "SELECT * with ORDER BY, GROUP BY, DISTINCT or aggregates";
    }
    if (select_.n_target_list == 0 && hidden) {
        return "an empty select list with ORDER BY";
    }
    spec_.visible_columns = star_ ? 0 : select_.n_target_list;
    spec_.limit = limit_;
    spec_.offset = offset_;
    // Shards apply LIMIT only when their rows are the client's rows: offset+limit of each shard's
    // first rows hold the merged window. Groups and DISTINCT need every shard row.
    if (spec_.aggregate || spec_.distinct) {
        edit_.set(select_.limit_count, static_cast<PgQuery__Node*>(nullptr));
        edit_.set(select_.limit_offset, static_cast<PgQuery__Node*>(nullptr));
        edit_.set(select_.limit_option, PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT);
    } else if (limit_ || offset_ != 0) {
        edit_.set(select_.limit_offset, static_cast<PgQuery__Node*>(nullptr));
        if (limit_ && *limit_ <= UINT64_MAX - offset_ && *limit_ + offset_ <= INT64_MAX) {
            edit_.set(select_.limit_count,
                      edit_.integer(static_cast<std::int64_t>(*limit_ + offset_)));
            edit_.set(select_.limit_option, PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_COUNT);
        } else {
            edit_.set(select_.limit_count, static_cast<PgQuery__Node*>(nullptr));
            edit_.set(select_.limit_option, PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_DEFAULT);
        }
    }
    edit_.set_list(select_.n_target_list, select_.target_list, targets_);
    std::optional<std::string> text = parse::deparse(*s_.tree);
    edit_.undo();
    if (!text) {
        return "a statement pgrouter cannot rewrite for shards";
    }
    plan_.shard_sql = std::move(*text);
    return {};
}

// FROM: sharded tables joined on their keys, reference tables, no table that lives on one shard.
bool Scatter::check_from() {
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

void Scatter::add_from(const PgQuery__Node* node, int depth) {
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

std::optional<std::size_t> Scatter::key_of(const PgQuery__Node* node) const {
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

void Scatter::equalities(const PgQuery__Node* expr, int depth) {
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

bool Scatter::check_aggregate(const PgQuery__FuncCall& call) {
    const std::string name = function_name(call);
    if (!mergeable(name)) {
        return refuse("the aggregate " + name + "()");
    }
    if (call.agg_distinct) {
        return refuse(name + "(DISTINCT ...)");
    }
    if (call.n_agg_order > 0 || call.agg_within_group) {
        return refuse(name + "(... ORDER BY ...)");
    }
    // FILTER stays in the shard query: every partial is filtered the same way.
    return true;
}

std::size_t Scatter::add_hidden(PgQuery__Node* expr) {
    targets_.push_back(edit_.res_target(expr));
    originals_.push_back(expr);
    return targets_.size() - 1;
}

// The aggregate call `original` as a column: replacing target `at`, else hidden. avg(x) becomes
// sum(x) there plus a hidden count(x).
std::size_t Scatter::add_aggregate(const PgQuery__Node* original, std::optional<std::size_t> at) {
    has_aggregate_ = true;
    const PgQuery__FuncCall& call = *original->func_call;
    const std::string name = function_name(call);
    AggregateColumn column;
    column.kind = name == "count" ? AggregateKind::Count
                  : name == "sum" ? AggregateKind::Sum
                  : name == "min" ? AggregateKind::Min
                  : name == "max" ? AggregateKind::Max
                                  : AggregateKind::Avg;
    PgQuery__Node* value = const_cast<PgQuery__Node*>(original);
    if (column.kind == AggregateKind::Avg) {
        value = edit_.renamed_call(call, "sum");
    }
    if (at) {
        if (column.kind == AggregateKind::Avg) {
            // Keep the client's column name ("avg" unless aliased) on the partial sum.
            const PgQuery__ResTarget& target = *targets_[*at]->res_target;
            const std::string_view alias = tree::str(target.name);
            targets_[*at] = edit_.res_target(value, alias.empty() ? "avg" : alias);
        }
        column.column = *at;
    } else {
        column.column = add_hidden(value);
        originals_[column.column] = original;
    }
    if (column.kind == AggregateKind::Avg) {
        column.count_column = add_hidden(edit_.renamed_call(call, "count"));
        originals_[column.count_column] = nullptr;  // not the client's count(x)
    }
    spec_.aggregates.push_back(column);
    return column.column;
}

bool Scatter::check_targets() {
    for (std::size_t i = 0; i < select_.n_target_list; ++i) {
        PgQuery__Node* target = select_.target_list[i];
        targets_.push_back(target);
        const PgQuery__Node* value = target->node_case == PG_QUERY__NODE__NODE_RES_TARGET
                                         ? target->res_target->val
                                         : nullptr;
        originals_.push_back(value);
        if (value != nullptr && value->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
            value->column_ref->n_fields > 0 &&
            value->column_ref->fields[value->column_ref->n_fields - 1]->node_case ==
                PG_QUERY__NODE__NODE_A_STAR) {
            star_ = true;
        }
    }
    for (std::size_t i = 0; i < select_.n_target_list; ++i) {
        const PgQuery__Node* value = originals_[i];
        const Calls calls = calls_in(value);
        if (calls.window) {
            return refuse("window functions");
        }
        if (calls.aggregate.empty()) {
            continue;
        }
        const PgQuery__FuncCall* call = as_call(value);
        if (call == nullptr || function_name(*call) != calls.aggregate) {
            return refuse(any_aggregate(calls.aggregate) && !mergeable(calls.aggregate)
                              ? "the aggregate " + calls.aggregate + "()"
                              : "an expression over an aggregate");
        }
        if (!check_aggregate(*call)) {
            return false;
        }
        add_aggregate(value, i);
    }
    return true;
}

std::optional<std::size_t> Scatter::find_column(const PgQuery__Node* expr) const {
    for (std::size_t i = 0; i < originals_.size(); ++i) {
        if (originals_[i] != nullptr && same_node(originals_[i], expr)) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> Scatter::alias_column(const PgQuery__Node* expr) const {
    if (expr == nullptr || expr->node_case != PG_QUERY__NODE__NODE_COLUMN_REF ||
        expr->column_ref->n_fields != 1) {
        return std::nullopt;
    }
    const std::string_view name = string_of(expr->column_ref->fields[0]);
    for (std::size_t i = 0; i < select_.n_target_list && !name.empty(); ++i) {
        const PgQuery__Node* target = select_.target_list[i];
        if (target->node_case == PG_QUERY__NODE__NODE_RES_TARGET &&
            tree::str(target->res_target->name) == name) {
            return i;
        }
    }
    return std::nullopt;
}

std::optional<std::size_t> Scatter::position_column(const PgQuery__Node* expr) const {
    if (expr == nullptr || expr->node_case != PG_QUERY__NODE__NODE_A_CONST ||
        expr->a_const->val_case != PG_QUERY__A__CONST__VAL_IVAL) {
        return std::nullopt;
    }
    const std::int32_t n = expr->a_const->ival->ival;
    // Out of range: PostgreSQL reports it from the shard; map it anywhere valid.
    return n >= 1 && static_cast<std::size_t>(n) <= select_.n_target_list ? std::size_t(n - 1)
                                                                          : std::size_t(0);
}

bool Scatter::group_by() {
    for (std::size_t i = 0; i < select_.n_group_clause; ++i) {
        PgQuery__Node* item = select_.group_clause[i];
        if (item->node_case == PG_QUERY__NODE__NODE_GROUPING_SET) {
            return refuse("GROUPING SETS, ROLLUP or CUBE");
        }
        if (item->node_case == PG_QUERY__NODE__NODE_COLLATE_CLAUSE) {
            const PgQuery__CollateClause& collate = *item->collate_clause;
            const std::string_view name =
                collate.n_collname > 0 ? string_of(collate.collname[collate.n_collname - 1]) : "";
            if (name != "C" && name != "POSIX") {
                return refuse("GROUP BY ... COLLATE \"" + std::string(name) + "\"");
            }
        }
        std::optional<std::size_t> column = position_column(item);
        if (!column) {
            column = find_column(item);
        }
        if (!column) {
            column = alias_column(item);
        }
        if (!column) {
            column = add_hidden(item);
        }
        spec_.group_by.push_back(*column);
    }
    return true;
}

std::optional<HavingExpr> Scatter::having(const PgQuery__Node* node, int depth) {
    if (node == nullptr || depth > kMaxDepth) {
        return std::nullopt;
    }
    HavingExpr out;
    if (node->node_case == PG_QUERY__NODE__NODE_BOOL_EXPR) {
        const PgQuery__BoolExpr& b = *node->bool_expr;
        out.op = b.boolop == PG_QUERY__BOOL_EXPR_TYPE__AND_EXPR  ? HavingExpr::Op::And
                 : b.boolop == PG_QUERY__BOOL_EXPR_TYPE__OR_EXPR ? HavingExpr::Op::Or
                                                                 : HavingExpr::Op::Not;
        for (std::size_t i = 0; i < b.n_args; ++i) {
            std::optional<HavingExpr> child = having(b.args[i], depth + 1);
            if (!child) {
                return std::nullopt;
            }
            out.children.push_back(std::move(*child));
        }
        return out;
    }
    if (node->node_case != PG_QUERY__NODE__NODE_A_EXPR ||
        node->a_expr->kind != PG_QUERY__A__EXPR__KIND__AEXPR_OP || node->a_expr->n_name != 1) {
        return std::nullopt;
    }
    const PgQuery__AExpr& op = *node->a_expr;
    std::string_view name = string_of(op.name[0]);
    const PgQuery__Node* column_side = op.lexpr;
    std::optional<KeyValue> constant = tree::key_constant(op.rexpr);
    if (!constant) {
        constant = tree::key_constant(op.lexpr);
        column_side = op.rexpr;
        // Constant on the left: mirror the operator.
        name = name == "<"    ? ">"
               : name == ">"  ? "<"
               : name == "<=" ? ">="
               : name == ">=" ? "<="
                              : name;
    }
    if (!constant || constant->kind == KeyValue::Kind::Null ||
        constant->kind == KeyValue::Kind::Param || column_side == nullptr) {
        return std::nullopt;
    }
    if (name == "=") {
        out.compare = HavingExpr::Compare::Eq;
    } else if (name == "<>" || name == "!=") {
        out.compare = HavingExpr::Compare::Ne;
    } else if (name == "<") {
        out.compare = HavingExpr::Compare::Lt;
    } else if (name == "<=") {
        out.compare = HavingExpr::Compare::Le;
    } else if (name == ">") {
        out.compare = HavingExpr::Compare::Gt;
    } else if (name == ">=") {
        out.compare = HavingExpr::Compare::Ge;
    } else {
        return std::nullopt;
    }
    std::optional<std::size_t> column = find_column(column_side);
    if (!column) {
        const PgQuery__FuncCall* call = as_call(column_side);
        const Calls calls = calls_in(column_side);
        if (call == nullptr || calls.window || function_name(*call) != calls.aggregate) {
            return std::nullopt;
        }
        if (!check_aggregate(*call)) {
            return std::nullopt;
        }
        column = add_aggregate(column_side, std::nullopt);
    }
    out.column = *column;
    out.constant = constant->text;
    return out;
}

bool Scatter::order_by() {
    for (std::size_t i = 0; i < select_.n_sort_clause; ++i) {
        const PgQuery__Node* item = select_.sort_clause[i];
        if (item->node_case != PG_QUERY__NODE__NODE_SORT_BY) {
            return refuse("this ORDER BY");
        }
        const PgQuery__SortBy& sort = *item->sort_by;
        if (sort.sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_USING || sort.n_use_op > 0) {
            return refuse("ORDER BY ... USING");
        }
        PgQuery__Node* expr = sort.node;
        if (expr != nullptr && expr->node_case == PG_QUERY__NODE__NODE_COLLATE_CLAUSE) {
            const PgQuery__CollateClause& collate = *expr->collate_clause;
            const std::string_view name =
                collate.n_collname > 0 ? string_of(collate.collname[collate.n_collname - 1]) : "";
            if (name != "C" && name != "POSIX") {
                return refuse("ORDER BY ... COLLATE \"" + std::string(name) + "\"");
            }
            expr = collate.arg;
        }
        std::optional<std::size_t> column = position_column(expr);
        if (!column) {
            column = alias_column(expr);
        }
        if (!column) {
            column = find_column(expr);
        }
        if (!column) {
            const Calls calls = calls_in(expr);
            const PgQuery__FuncCall* call = as_call(expr);
            if (calls.window) {
                return refuse("window functions");
            }
            if (!calls.aggregate.empty()) {
                if (call == nullptr || function_name(*call) != calls.aggregate) {
                    return refuse("an expression over an aggregate");
                }
                if (!check_aggregate(*call)) {
                    return false;
                }
                column = add_aggregate(expr, std::nullopt);
            } else if (spec_.distinct) {
                continue;  // PostgreSQL refuses it; the shard says so
            } else {
                column = add_hidden(expr);
            }
        }
        SortKey key;
        key.column = *column;
        key.descending = sort.sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
        key.nulls_first =
            sort.sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_FIRST ||
            (sort.sortby_nulls != PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_LAST && key.descending);
        spec_.order.push_back(key);
    }
    return true;
}

// LIMIT / OFFSET as integer constants (NULL or ALL: none).
bool read_count(const PgQuery__Node* node, const char* clause, std::optional<std::uint64_t>& out,
                std::string& why) {
    if (node == nullptr) {
        return true;
    }
    const std::optional<KeyValue> value = tree::key_constant(node);
    if (value && value->kind == KeyValue::Kind::Null) {
        return true;
    }
    if (value && value->kind == KeyValue::Kind::Param) {
        why = std::string(clause) + " with a parameter";
        return false;
    }
    if (!value || value->kind != KeyValue::Kind::Number) {
        why = std::string(clause) + " that is not an integer constant";
        return false;
    }
    std::uint64_t n = 0;
    const char* end = value->text.data() + value->text.size();
    if (std::from_chars(value->text.data(), end, n).ptr != end) {
        // Negative (PostgreSQL refuses it anyway) or a fraction (not rounded here).
        why = std::string(clause) + " that is not an integer constant";
        return false;
    }
    out = n;
    return true;
}

bool Scatter::limits() {
    if (select_.limit_option == PG_QUERY__LIMIT_OPTION__LIMIT_OPTION_WITH_TIES) {
        return refuse("FETCH FIRST ... WITH TIES");
    }
    std::string why;
    std::optional<std::uint64_t> offset;
    if (!read_count(select_.limit_count, "LIMIT", limit_, why) ||
        !read_count(select_.limit_offset, "OFFSET", offset, why)) {
        return refuse(why);
    }
    offset_ = offset.value_or(0);
    return true;
}

}  // namespace

std::string plan_scatter(Statement& statement, PgQuery__SelectStmt& select, ShardPlan& plan) {
    Scatter scatter(statement, select, plan);
    std::string why = scatter.run();
    if (!why.empty()) {
        plan.shard_sql.clear();
        plan.merge = MergeSpec{};
    }
    return why;
}

}  // namespace pgrouter::sql::plan
