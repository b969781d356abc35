// src/sql/shard_plan_merge.cpp — plan_scatter(): a read without a key, rewritten into the query
// every shard runs plus the MergeSpec that turns their replies into the client's result (avg split
// into sum and count, LIMIT raised to offset+limit, OFFSET and HAVING moved to the merge, hidden
// columns appended). Anything whose merge would not be exact is refused with the construct named.
#include <algorithm>
#include <array>
#include <charconv>

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

class Scatter {
public:
    Scatter(Statement& s, PgQuery__SelectStmt& select, ShardPlan& plan)
        : s_(s), select_(select), plan_(plan) {}

    std::string run();

private:
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
    if (std::string why = check_scatter_from(s_, select_); !why.empty()) {
        return why;
    }
    if (!check_targets()) {
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
    const bool order_by_name = std::all_of(spec_.order.begin(), spec_.order.end(),
                                           [](const SortKey& key) { return !key.name.empty(); });
    if (star_ && (spec_.aggregate || spec_.distinct || !order_by_name || hidden)) {
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
        if (star_ && expr != nullptr && expr->node_case == PG_QUERY__NODE__NODE_COLUMN_REF &&
            select_.n_group_clause == 0 && !has_aggregate_ && !spec_.distinct) {
            // SELECT * ... ORDER BY col: the merge finds col by name in the shards' columns.
            const PgQuery__ColumnRef& ref = *expr->column_ref;
            const std::string_view name =
                ref.n_fields > 0 ? string_of(ref.fields[ref.n_fields - 1]) : std::string_view();
            if (!name.empty()) {
                SortKey key;
                key.name = std::string(name);
                key.descending = sort.sortby_dir == PG_QUERY__SORT_BY_DIR__SORTBY_DESC;
                key.nulls_first =
                    sort.sortby_nulls == PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_FIRST ||
                    (sort.sortby_nulls != PG_QUERY__SORT_BY_NULLS__SORTBY_NULLS_LAST &&
                     key.descending);
                spec_.order.push_back(std::move(key));
                continue;
            }
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
