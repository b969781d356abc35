// src/sql/shard_plan_tree.hpp — what the halves of the shard planner share: the tables a
// statement touches, a reversible editor for the protobuf tree (shard queries are rewritten in
// place and every edit is undone before protobuf-c frees the tree) and small node helpers.
// Internal header; no parser calls here.
#pragma once

#include <pg_query/pg_query.pb-c.h>

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parse_budget.hpp"
#include "pgrouter/sql/shard_plan.hpp"

namespace pgrouter::sql::plan {

// Deeper expressions than this are not looked into by the planner's recursive helpers; what
// needs them is refused rather than guessed.
inline constexpr int kMaxDepth = 64;
// Stack per depth unit of the text: parse, pack and deparse each recurse once per nesting level.
inline constexpr std::size_t kBytesPerUnit = 2 * budget::kStackBytesPerUnit;

// One top-level statement and what it touches.
struct Statement {
    PgQuery__ParseResult* tree = nullptr;  // the whole parse result (deparse packs it)
    PgQuery__Node* node = nullptr;         // the statement
    std::string_view text;                 // its own text (for shard_sql of unrewritten ones)
    const ShardingView* view = nullptr;
    std::vector<ShardKeyUse> uses;               // find_shard_keys' view of the statement
    std::vector<const PgQuery__RangeVar*> rels;  // parallel to uses
    std::vector<std::string> sharded;            // sharded tables named anywhere (also by DDL)
    std::vector<std::string> reference;          // reference tables named anywhere
};

const ShardedTableKey* sharded_table(std::string_view name, const ShardingView& view) noexcept;
bool is_reference(std::string_view name, const ShardingView& view) noexcept;

// Undoes every edit in reverse order when destroyed; owns every node it makes. Must be destroyed
// before the tree it edited is freed (protobuf-c would free our nodes otherwise).
class Editor {
public:
    Editor() = default;
    ~Editor() { undo(); }
    Editor(const Editor&) = delete;
    Editor& operator=(const Editor&) = delete;

    template <class T>
    void set(T& field, T value) {
        undo_.push_back([&field, old = field] { field = old; });
        field = value;
    }
    // Replaces a repeated Node field (its count and array).
    void set_list(std::size_t& n, PgQuery__Node**& items, std::vector<PgQuery__Node*> value);
    void undo() noexcept;

    const char* string(std::string_view text);
    PgQuery__Node* string_node(std::string_view text);
    PgQuery__Node* integer(std::int64_t value);
    PgQuery__Node* res_target(PgQuery__Node* value, std::string_view name = {});
    // A copy of `call` (sharing its arguments) named `name` (unqualified).
    PgQuery__Node* renamed_call(const PgQuery__FuncCall& call, std::string_view name);

private:
    PgQuery__Node* node();
    std::vector<std::function<void()>> undo_;
    std::deque<PgQuery__Node> nodes_;
    std::deque<PgQuery__ResTarget> targets_;
    std::deque<PgQuery__FuncCall> calls_;
    std::deque<PgQuery__AConst> consts_;
    std::deque<PgQuery__Integer> integers_;
    std::deque<PgQuery__Float> floats_;
    std::deque<PgQuery__String> strings_;
    std::deque<std::string> texts_;
    std::deque<std::vector<PgQuery__Node*>> lists_;
};

// Structural equality of two subtrees, ignoring `location` fields (false beyond kMaxDepth).
bool same_tree(const ProtobufCMessage* a, const ProtobufCMessage* b, int depth = 0) noexcept;
bool same_node(const PgQuery__Node* a, const PgQuery__Node* b) noexcept;

// The unqualified name of a function call ("pg_catalog.count" -> "count").
std::string function_name(const PgQuery__FuncCall& call);
std::string_view string_of(const PgQuery__Node* node) noexcept;

// Visits every message under `root` except inside subqueries (SubLink, RangeSubselect), whose
// aggregates and windows are their own. Iterative.
void walk_expression(const ProtobufCMessage* root,
                     const std::function<void(const ProtobufCMessage*)>& fn);

// Scatter: the FROM list (and every relation of the statement) allows a merged read: "" or the
// refusal text.
std::string check_scatter_from(const Statement& statement, const PgQuery__SelectStmt& select);

// Scatter: plans the read `select` (top-level of `statement`) to run on every shard with merged
// replies. Fills plan.shard_sql and plan.merge and returns "", or returns the refusal text.
std::string plan_scatter(Statement& statement, PgQuery__SelectStmt& select, ShardPlan& plan);

}  // namespace pgrouter::sql::plan
