// src/sql/shard_plan.cpp — plan_shard_statement(): which shards a statement runs on (issue 8),
// and insert_with_rows(). Parses through parse_tree.hpp, reads keys with shard_key_tree.cpp and
// leaves scatter reads to shard_plan_merge.cpp (insert_with_rows: shard_plan_insert.cpp). Never
// throws on bad SQL; what cannot be run exactly across shards is Refused with the construct named.
#include <string>
#include <utility>

#include "parse_budget.hpp"
#include "parse_tree.hpp"
#include "pgrouter/sql/shard_plan.hpp"
#include "shard_key_tree.hpp"
#include "shard_plan_tree.hpp"
#include "statement_tree.hpp"

namespace pgrouter::sql {
namespace {

using plan::Statement;

ShardPlan refused(std::string why) {
    ShardPlan plan;
    plan.scope = ShardScope::Refused;
    plan.refusal = std::move(why);
    return plan;
}

ShardPlan broadcast(bool ddl) {
    ShardPlan plan;
    plan.scope = ShardScope::Broadcast;
    plan.writes = true;
    plan.ddl = ddl;
    return plan;
}

void add_name(std::vector<std::string>& to, std::string_view name) {
    for (const std::string& have : to) {
        if (have == name) {
            return;
        }
    }
    to.emplace_back(name);
}

void classify_name(std::string_view name, Statement& s) {
    if (plan::sharded_table(name, *s.view) != nullptr) {
        add_name(s.sharded, name);
    } else if (plan::is_reference(name, *s.view)) {
        add_name(s.reference, name);
    }
}

// The table a DROP / COMMENT names through a List of String (schema.table[.column]).
void classify_list_name(const PgQuery__Node* object, bool column, Statement& s) {
    if (object == nullptr || object->node_case != PG_QUERY__NODE__NODE_LIST ||
        object->list == nullptr) {
        return;
    }
    const std::size_t n = object->list->n_items;
    const std::size_t skip = column ? 2 : 1;
    if (n >= skip) {
        classify_name(plan::string_of(object->list->items[n - skip]), s);
    }
}

bool is_table_type(PgQuery__ObjectType type) noexcept {
    return type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE ||
           type == PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_TABLE;
}

// Every sharded and reference table the statement names, as a relation or as a DDL object name.
void find_tables(Statement& s) {
    std::vector<const PgQuery__RangeVar*> rels;
    tree::all_relations(&s.node->base, rels);
    for (const PgQuery__RangeVar* rel : rels) {
        classify_name(tree::str(rel->relname), s);
    }
    const PgQuery__Node* node = s.node;
    if (node->node_case == PG_QUERY__NODE__NODE_DROP_STMT && node->drop_stmt != nullptr &&
        is_table_type(node->drop_stmt->remove_type)) {
        for (std::size_t i = 0; i < node->drop_stmt->n_objects; ++i) {
            classify_list_name(node->drop_stmt->objects[i], false, s);
        }
    } else if (node->node_case == PG_QUERY__NODE__NODE_COMMENT_STMT &&
               node->comment_stmt != nullptr) {
        const PgQuery__ObjectType type = node->comment_stmt->objtype;
        if (is_table_type(type) || type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN) {
            classify_list_name(node->comment_stmt->object,
                               type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN, s);
        }
    }
}

Statement make_statement(PgQuery__ParseResult& tree, PgQuery__Node* node, std::string_view text,
                         const ShardingView& view) {
    Statement s;
    s.tree = &tree;
    s.node = node;
    s.text = text;
    s.view = &view;
    ShardKeyResult keys;
    tree::read_shard_keys(node, view.tables, keys, &s.rels);
    s.uses = std::move(keys.uses);
    find_tables(s);
    return s;
}

bool touches(const Statement& s) noexcept {
    return !s.sharded.empty() || !s.reference.empty();
}

// Object kinds whose DDL names no table but must exist on every shard, because statements run on
// any shard may use them: functions (and procedures, routines, aggregates), types, domains,
// extensions and schemas. Other table-less DDL (roles, databases, sequences, ...) goes to the
// first shard like any statement that touches no sharded table.
bool everywhere_type(PgQuery__ObjectType type) noexcept {
    switch (type) {
        case PG_QUERY__OBJECT_TYPE__OBJECT_FUNCTION:
        case PG_QUERY__OBJECT_TYPE__OBJECT_PROCEDURE:
        case PG_QUERY__OBJECT_TYPE__OBJECT_ROUTINE:
        case PG_QUERY__OBJECT_TYPE__OBJECT_AGGREGATE:
        case PG_QUERY__OBJECT_TYPE__OBJECT_TYPE:
        case PG_QUERY__OBJECT_TYPE__OBJECT_DOMAIN:
        case PG_QUERY__OBJECT_TYPE__OBJECT_EXTENSION:
        case PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA:
            return true;
        default:
            return false;
    }
}

bool everywhere_ddl(const PgQuery__Node* node) noexcept {
    switch (node->node_case) {
        case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT:
        case PG_QUERY__NODE__NODE_ALTER_FUNCTION_STMT:
        case PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT:
        case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
        case PG_QUERY__NODE__NODE_CREATE_RANGE_STMT:
        case PG_QUERY__NODE__NODE_ALTER_ENUM_STMT:
        case PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT:
        case PG_QUERY__NODE__NODE_ALTER_DOMAIN_STMT:
        case PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT:
        case PG_QUERY__NODE__NODE_ALTER_EXTENSION_STMT:
        case PG_QUERY__NODE__NODE_ALTER_EXTENSION_CONTENTS_STMT:
        case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT:
            return true;
        case PG_QUERY__NODE__NODE_DEFINE_STMT:
            return node->define_stmt != nullptr && everywhere_type(node->define_stmt->kind);
        case PG_QUERY__NODE__NODE_DROP_STMT:
            return node->drop_stmt != nullptr;
        case PG_QUERY__NODE__NODE_RENAME_STMT:
            return node->rename_stmt != nullptr;
        case PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT:
            return node->alter_object_schema_stmt != nullptr &&
                   everywhere_type(node->alter_object_schema_stmt->object_type);
        case PG_QUERY__NODE__NODE_ALTER_OWNER_STMT:
            return node->alter_owner_stmt != nullptr &&
                   everywhere_type(node->alter_owner_stmt->object_type);
        case PG_QUERY__NODE__NODE_COMMENT_STMT:
            return node->comment_stmt != nullptr;
        // The schema of tables, indexes, views and sequences is the same on every shard, even
        // for tables that are not sharded (their rows live on the first shard): an application
        // can then shard such a table later by editing the map.
        case PG_QUERY__NODE__NODE_CREATE_STMT:
        case PG_QUERY__NODE__NODE_INDEX_STMT:
        case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
        case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
        case PG_QUERY__NODE__NODE_ALTER_SEQ_STMT:
        case PG_QUERY__NODE__NODE_VIEW_STMT:
        case PG_QUERY__NODE__NODE_CREATE_TRIG_STMT:
        case PG_QUERY__NODE__NODE_RULE_STMT:
        case PG_QUERY__NODE__NODE_CREATE_POLICY_STMT:
        case PG_QUERY__NODE__NODE_CREATE_STATS_STMT:
        case PG_QUERY__NODE__NODE_GRANT_STMT:
        case PG_QUERY__NODE__NODE_ALTER_DEFAULT_PRIVILEGES_STMT:
            return true;
        default:
            return false;
    }
}

// Statements the session itself handles (transaction control, settings, notifications,
// prepared statements): First whatever they name.
bool session_statement(PgQuery__Node__NodeCase kind) noexcept {
    switch (kind) {
        case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
        case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
        case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
        case PG_QUERY__NODE__NODE_LISTEN_STMT:
        case PG_QUERY__NODE__NODE_UNLISTEN_STMT:
        case PG_QUERY__NODE__NODE_NOTIFY_STMT:
        case PG_QUERY__NODE__NODE_PREPARE_STMT:
        case PG_QUERY__NODE__NODE_EXECUTE_STMT:
        case PG_QUERY__NODE__NODE_DEALLOCATE_STMT:
        case PG_QUERY__NODE__NODE_DISCARD_STMT:
            return true;
        default:
            return false;
    }
}

bool has_option(std::size_t n, PgQuery__Node* const* options, std::string_view name) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        if (options[i] != nullptr && options[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
            options[i]->def_elem != nullptr && tree::str(options[i]->def_elem->defname) == name) {
            return true;
        }
    }
    return false;
}

// Utility statements PostgreSQL refuses inside a transaction block; a broadcast runs in one
// transaction per shard, so these cannot be broadcast. Returns the construct, or "".
std::string outside_transaction(const PgQuery__Node* node) {
    switch (node->node_case) {
        case PG_QUERY__NODE__NODE_INDEX_STMT:
            return node->index_stmt != nullptr && node->index_stmt->concurrent
                       ? "CREATE INDEX CONCURRENTLY"
                       : "";
        case PG_QUERY__NODE__NODE_DROP_STMT:
            return node->drop_stmt != nullptr && node->drop_stmt->concurrent
                       ? "DROP INDEX CONCURRENTLY"
                       : "";
        case PG_QUERY__NODE__NODE_REINDEX_STMT:
            return node->reindex_stmt != nullptr &&
                           has_option(node->reindex_stmt->n_params, node->reindex_stmt->params,
                                      "concurrently")
                       ? "REINDEX CONCURRENTLY"
                       : "";
        case PG_QUERY__NODE__NODE_VACUUM_STMT:
            return node->vacuum_stmt != nullptr && node->vacuum_stmt->is_vacuumcmd ? "VACUUM" : "";
        case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT: {
            const PgQuery__AlterTableStmt* alter = node->alter_table_stmt;
            for (std::size_t i = 0; alter != nullptr && i < alter->n_cmds; ++i) {
                const PgQuery__Node* cmd = alter->cmds[i];
                if (cmd != nullptr && cmd->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD &&
                    cmd->alter_table_cmd != nullptr && cmd->alter_table_cmd->def != nullptr &&
                    cmd->alter_table_cmd->def->node_case == PG_QUERY__NODE__NODE_PARTITION_CMD &&
                    cmd->alter_table_cmd->def->partition_cmd != nullptr &&
                    cmd->alter_table_cmd->def->partition_cmd->concurrent) {
                    return "DETACH PARTITION CONCURRENTLY";
                }
            }
            return "";
        }
        default:
            return "";
    }
}

bool all_pinned(const Statement& s) noexcept {
    for (const ShardKeyUse& use : s.uses) {
        if (use.values.empty()) {
            return false;
        }
    }
    return !s.uses.empty();
}

// Keyed on every pinned value of every use (distinct, first-seen order): when a join pins two
// tables to different values the session sees several shards.
ShardPlan keyed(const Statement& s) {
    ShardPlan plan;
    plan.scope = ShardScope::Keyed;
    plan.table = s.uses.front().table;
    for (const ShardKeyUse& use : s.uses) {
        for (const KeyValue& value : use.values) {
            bool seen = false;
            for (const KeyValue& have : plan.keys) {
                seen = seen || have == value;
            }
            if (!seen) {
                plan.keys.push_back(value);
            }
        }
    }
    return plan;
}

std::string first_unpinned(const Statement& s) {
    for (const ShardKeyUse& use : s.uses) {
        if (use.values.empty()) {
            return use.table;
        }
    }
    return {};
}

ShardPlan plan_statement(Statement& s);

ShardPlan plan_select(Statement& s, PgQuery__SelectStmt* select) {
    std::vector<const ProtobufCMessage*> stack;
    const tree::Facts facts = tree::inspect(&s.node->base, stack);
    if (select != nullptr && tree::select_into(select) != nullptr) {
        return s.sharded.empty() ? broadcast(true)
                                 : refused("SELECT INTO over sharded table " + s.sharded.front());
    }
    if (facts.modifies_data) {
        return s.sharded.empty()
                   ? broadcast(false)
                   : refused("a data-modifying WITH over sharded table " + s.sharded.front());
    }
    if (s.uses.empty()) {
        // Reference tables only. A locking read locks one copy; writes go to every copy in one
        // transaction each, so that is enough to serialise with them on that shard only: keep it
        // simple and mark it writing so it runs on the primary.
        ShardPlan plan;
        plan.scope = ShardScope::AnyOne;
        plan.writes = facts.locking_clause;
        return plan;
    }
    if (all_pinned(s)) {
        ShardPlan plan = keyed(s);
        plan.writes = facts.locking_clause;
        if (!plan.writes && select != nullptr && s.view->keyed_fallback) {
            // For when the keys fall on several shards (see ShardPlan::refusal).
            ShardPlan scatter;
            plan.refusal = plan::plan_scatter(s, *select, scatter);
            plan.shard_sql = std::move(scatter.shard_sql);
            plan.merge = std::move(scatter.merge);
        }
        return plan;
    }
    const ShardKeyUse& unpinned = s.uses.front();
    if (facts.locking_clause) {
        const ShardedTableKey* key = plan::sharded_table(first_unpinned(s), *s.view);
        return refused("SELECT ... FOR UPDATE/SHARE on sharded table " + first_unpinned(s) +
                       " without its shard key " + (key != nullptr ? key->column : ""));
    }
    if (select == nullptr) {
        return refused("this statement over sharded table " + unpinned.table);
    }
    ShardPlan plan;
    plan.scope = ShardScope::Scatter;
    std::string why = plan::plan_scatter(s, *select, plan);
    return why.empty() ? plan : refused(std::move(why));
}

const char* verb_of(const PgQuery__Node* node) noexcept {
    switch (node->node_case) {
        case PG_QUERY__NODE__NODE_INSERT_STMT:
            return "INSERT";
        case PG_QUERY__NODE__NODE_UPDATE_STMT:
            return "UPDATE";
        default:
            return "DELETE";
    }
}

ShardPlan plan_write(Statement& s, const PgQuery__RangeVar* target) {
    const std::string verb = verb_of(s.node);
    const std::string name(target != nullptr ? tree::str(target->relname) : "");
    const ShardedTableKey* key = plan::sharded_table(name, *s.view);
    ShardPlan plan;
    if (key == nullptr) {
        if (!s.sharded.empty()) {
            return refused(verb + " on table " + name + " reading sharded table " +
                           s.sharded.front());
        }
        if (plan::is_reference(name, *s.view)) {
            return broadcast(false);
        }
        plan.writes = true;  // a table of the first shard that reads reference tables
        return plan;
    }
    std::size_t index = 0;
    while (index < s.rels.size() && s.rels[index] != target) {
        ++index;
    }
    if (index == s.rels.size()) {
        return refused(verb + " on sharded table " + name);  // not expected: the target is a use
    }
    const ShardKeyUse& use = s.uses[index];
    if (use.sets_key) {
        return refused("UPDATE of the shard key " + name + "." + key->column);
    }
    if (s.node->node_case == PG_QUERY__NODE__NODE_INSERT_STMT) {
        const PgQuery__Node* source = s.node->insert_stmt->select_stmt;
        if (source != nullptr &&
            (source->node_case != PG_QUERY__NODE__NODE_SELECT_STMT ||
             source->select_stmt == nullptr || source->select_stmt->n_values_lists == 0)) {
            return refused("INSERT ... SELECT into sharded table " + name);
        }
    }
    for (std::size_t i = 0; i < s.uses.size(); ++i) {
        if (i != index && s.uses[i].values.empty()) {
            return refused(verb + " on sharded table " + name + " that reads sharded table " +
                           s.uses[i].table + " without its shard key");
        }
    }
    if (s.node->node_case == PG_QUERY__NODE__NODE_INSERT_STMT) {
        bool has_null = false;
        for (const KeyValue& value : use.values) {
            has_null = has_null || value.kind == KeyValue::Kind::Null;
        }
        if (use.values.empty() || has_null) {
            return refused("INSERT into sharded table " + name + " without a value for its " +
                           "shard key " + key->column);
        }
        if (use.values.size() > 1) {
            if (s.uses.size() > 1) {
                return refused("a several-row INSERT into sharded table " + name +
                               " that reads sharded table " + s.uses[index == 0 ? 1 : 0].table);
            }
            plan.scope = ShardScope::Split;
            plan.writes = true;
            plan.table = name;
            plan.rows = use.values;
            return plan;
        }
    } else if (use.values.empty()) {
        if (s.uses.size() > 1) {
            return refused(verb + " on sharded table " + name + " without its shard key " +
                           key->column + " joined with another sharded table");
        }
        if (s.view->cross_shard_writes_all) {
            return broadcast(false);
        }
        return refused(verb + " on sharded table " + name + " without its shard key " +
                       key->column);
    }
    plan = keyed(s);
    plan.table = name;
    plan.writes = true;
    return plan;
}

ShardPlan plan_copy(Statement& s) {
    const PgQuery__CopyStmt* copy = s.node->copy_stmt;
    if (!tree::str(copy->filename).empty() || copy->is_program) {
        return refused("COPY with a file or program on sharded or reference tables");
    }
    ShardPlan plan;
    plan.copy = true;
    if (copy->relation != nullptr) {
        const std::string name(tree::str(copy->relation->relname));
        if (plan::sharded_table(name, *s.view) != nullptr) {
            // FROM: the session reads the client's rows and sends each to its shard (rows stays
            // empty: the rows are in the CopyData stream, not in the text). TO: concatenation.
            plan.scope = copy->is_from ? ShardScope::Split : ShardScope::Scatter;
            plan.writes = copy->is_from;
            plan.table = name;
            plan.shard_sql = std::string(s.text);
            return plan;
        }
        if (!s.sharded.empty()) {  // COPY t FROM ... WHERE (subquery over sharded): not allowed
            return refused("COPY reading sharded table " + s.sharded.front());
        }
        plan.scope = copy->is_from ? ShardScope::Broadcast : ShardScope::AnyOne;
        plan.writes = copy->is_from;
        return plan;
    }
    Statement inner = make_statement(*s.tree, copy->query, s.text, *s.view);
    ShardPlan query = plan_statement(inner);
    if (query.scope == ShardScope::Scatter) {
        const MergeSpec& m = query.merge;
        if (m.aggregate || m.distinct || !m.order.empty() || m.limit || m.offset != 0) {
            return refused("COPY (SELECT ...) with aggregates, DISTINCT, ORDER BY or LIMIT");
        }
        plan.scope = ShardScope::Scatter;
        plan.shard_sql = std::string(s.text);
        return plan;
    }
    if (query.scope == ShardScope::Keyed || query.scope == ShardScope::AnyOne ||
        query.scope == ShardScope::First) {
        query.copy = true;
        query.shard_sql.clear();
        query.merge = MergeSpec{};
        query.refusal.clear();
        return query;
    }
    return query.scope == ShardScope::Refused ? query : refused("COPY (...) TO");
}

ShardPlan plan_statement(Statement& s) {
    PgQuery__Node* node = s.node;
    if (session_statement(node->node_case)) {
        return ShardPlan{};
    }
    if (!touches(s)) {
        if (!everywhere_ddl(node)) {
            return ShardPlan{};
        }
        if (std::string why = outside_transaction(node); !why.empty()) {
            return refused(why + " (DDL runs on every shard, in a transaction on each)");
        }
        return broadcast(true);
    }
    switch (node->node_case) {
        case PG_QUERY__NODE__NODE_SELECT_STMT:
            return plan_select(s, node->select_stmt);
        case PG_QUERY__NODE__NODE_INSERT_STMT:
            return plan_write(s, node->insert_stmt->relation);
        case PG_QUERY__NODE__NODE_UPDATE_STMT:
            return plan_write(s, node->update_stmt->relation);
        case PG_QUERY__NODE__NODE_DELETE_STMT:
            return plan_write(s, node->delete_stmt->relation);
        case PG_QUERY__NODE__NODE_MERGE_STMT:
            // WHEN NOT MATCHED THEN INSERT would insert on every shard that has no match.
            return s.sharded.empty() ? broadcast(false)
                                     : refused("MERGE over sharded table " + s.sharded.front());
        case PG_QUERY__NODE__NODE_COPY_STMT:
            return plan_copy(s);
        case PG_QUERY__NODE__NODE_EXPLAIN_STMT: {
            // find_shard_keys already looks through EXPLAIN, so s.uses are the inner ones.
            Statement inner = s;
            inner.node = node->explain_stmt->query;
            if (inner.node == nullptr) {
                return refused("EXPLAIN");
            }
            ShardPlan plan = plan_statement(inner);
            if (plan.scope != ShardScope::Keyed && plan.scope != ShardScope::AnyOne &&
                plan.scope != ShardScope::First) {
                return refused("EXPLAIN");
            }
            plan.writes = plan.writes && has_option(node->explain_stmt->n_options,
                                                    node->explain_stmt->options, "analyze");
            plan.shard_sql.clear();
            plan.merge = MergeSpec{};
            plan.refusal.clear();
            return plan;
        }
        case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT: {
            Statement inner =
                make_statement(*s.tree, node->declare_cursor_stmt->query, s.text, *s.view);
            ShardPlan plan = plan_statement(inner);
            if (plan.scope != ShardScope::Keyed && plan.scope != ShardScope::AnyOne) {
                return refused("DECLARE CURSOR over sharded table " + s.sharded.front());
            }
            plan.shard_sql.clear();
            plan.merge = MergeSpec{};
            plan.refusal.clear();
            return plan;
        }
        case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
            return s.sharded.empty()
                       ? broadcast(true)
                       : refused("CREATE TABLE AS over sharded table " + s.sharded.front());
        default:
            break;
    }
    // Any other utility statement naming a sharded or reference table: on every shard.
    if (std::string why = outside_transaction(node); !why.empty()) {
        return refused(why + " on sharded or reference tables");
    }
    return broadcast(true);
}

std::string_view statement_text(std::string_view sql, const PgQuery__RawStmt& raw) noexcept {
    const auto begin = static_cast<std::size_t>(raw.stmt_location < 0 ? 0 : raw.stmt_location);
    if (begin >= sql.size()) {
        return {};
    }
    return raw.stmt_len <= 0 ? sql.substr(begin)
                             : sql.substr(begin, static_cast<std::size_t>(raw.stmt_len));
}

struct PlanCall {
    std::string_view sql;
    const ShardingView* view;
    ShardPlan* out;
};

void plan_tree(PgQuery__ParseResult& tree, void* arg) {
    auto* call = static_cast<PlanCall*>(arg);
    std::vector<Statement> statements;
    for (std::size_t i = 0; i < tree.n_stmts; ++i) {
        PgQuery__RawStmt* raw = tree.stmts[i];
        if (raw != nullptr && raw->stmt != nullptr) {
            statements.push_back(
                make_statement(tree, raw->stmt, statement_text(call->sql, *raw), *call->view));
        }
    }
    if (statements.size() > 1) {
        for (const Statement& s : statements) {
            if (touches(s)) {
                *call->out = refused("several statements in one query");
                return;
            }
        }
        return;
    }
    if (statements.size() == 1) {
        Statement& s = statements.front();
        ShardPlan& plan = *call->out;
        plan = plan_statement(s);
        const PgQuery__Node* node = s.node;
        if (node->node_case == PG_QUERY__NODE__NODE_DEFINE_STMT && node->define_stmt != nullptr &&
            node->define_stmt->kind == PG_QUERY__OBJECT_TYPE__OBJECT_AGGREGATE &&
            node->define_stmt->n_defnames > 0) {
            plan.created_aggregate = std::string(
                plan::string_of(node->define_stmt->defnames[node->define_stmt->n_defnames - 1]));
        }
        // Every shard holds the same rows of a reference table: one answer, not the sum.
        plan.reference = plan.scope == ShardScope::Broadcast && !plan.ddl && s.sharded.empty();
        if (plan.scope == ShardScope::First) {
            std::vector<const PgQuery__RangeVar*> rels;
            tree::all_relations(&s.node->base, rels);
            plan.names_table = !rels.empty();
        }
    }
}

}  // namespace

ShardPlan plan_shard_statement(std::string_view sql, const ShardingView& view) {
    ShardPlan plan;
    PlanCall call{sql, &view, &plan};
    if (parse::parse_with_budget(sql, plan::kBytesPerUnit, plan_tree, &call) != parse::Status::Ok) {
        plan = ShardPlan{};
        plan.parse_error = true;
    }
    return plan;
}

}  // namespace pgrouter::sql
