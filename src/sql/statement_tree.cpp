// src/sql/statement_tree.cpp — reads libpg_query's unpacked protobuf tree: the facts about a whole
// statement tree (advisory locks, temporary objects, anything that writes) and the kind of the
// plain DDL/utility statements. No parser calls; the tree walk is iterative.
#include "statement_tree.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <iterator>
#include <string>
#include <utility>

#include "lex.hpp"

namespace pgrouter::sql {
namespace {

// The one list of built-in functions that keep a statement off a replica (Statement::read and
// read_only). They write (nextval, setval, pg_notify, large objects, replication slots and
// origins, statistics resets, WAL records), take locks other sessions must see (the advisory-lock
// family), read state that only the session's own server holds (currval, lastval, a transaction
// id being assigned) or fail on a standby (pg_current_wal_lsn, pg_walfile_name). User functions
// are the caller's business: Statement::functions lists every name for it to check.
constexpr std::string_view kWritingFunctions[] = {"nextval",
                                                  "setval",
                                                  "currval",
                                                  "lastval",
                                                  "set_config",
                                                  "pg_notify",
                                                  "txid_current",
                                                  "txid_current_if_assigned",
                                                  "pg_current_xact_id",
                                                  "pg_current_xact_id_if_assigned",
                                                  "lowrite",
                                                  "loread",
                                                  "pg_walfile_name",
                                                  "pg_walfile_name_offset",
                                                  "pg_file_write",
                                                  "pg_file_rename",
                                                  "pg_file_unlink",
                                                  "pg_file_sync",
                                                  "pg_truncate_visibility_map"};
// Administration functions that only make sense on (or against) one particular server.
constexpr std::string_view kServerFunctions[] = {"pg_switch_wal",
                                                 "pg_create_restore_point",
                                                 "pg_logical_emit_message",
                                                 "pg_backup_start",
                                                 "pg_backup_stop",
                                                 "pg_start_backup",
                                                 "pg_stop_backup",
                                                 "pg_promote",
                                                 "pg_reload_conf",
                                                 "pg_rotate_logfile",
                                                 "pg_terminate_backend",
                                                 "pg_cancel_backend",
                                                 "pg_import_system_collations",
                                                 "pg_wal_replay_pause",
                                                 "pg_wal_replay_resume"};

bool contains(std::string_view haystack, std::string_view needle) noexcept {
    return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

// Name families as well as names: every advisory-lock function (pg_advisory_lock, _xact_lock,
// _shared, pg_try_advisory_*, the unlock functions), every lo_* large-object function,
// pg_stat_reset*, pg_current_wal_*_lsn, pg_logical_slot_{get,peek}_*changes and anything about
// replication slots or origins.
bool is_primary_only_function(std::string_view name) noexcept {
    return std::find(std::begin(kWritingFunctions), std::end(kWritingFunctions), name) !=
               std::end(kWritingFunctions) ||
           std::find(std::begin(kServerFunctions), std::end(kServerFunctions), name) !=
               std::end(kServerFunctions) ||
           contains(name, "advisory") || name.starts_with("lo_") ||
           name.starts_with("pg_stat_reset") || name.starts_with("pg_current_wal") ||
           name.starts_with("pg_logical_slot_") || contains(name, "replication_slot") ||
           contains(name, "replication_origin");
}

}  // namespace pgrouter::sql

namespace pgrouter::sql::tree {
namespace {

// The String at `index` of a name list such as FuncCall.funcname ([schema,] name).
std::string_view name_at(std::size_t n, PgQuery__Node* const* items, std::size_t index) noexcept {
    if (index >= n || items[index] == nullptr ||
        items[index]->node_case != PG_QUERY__NODE__NODE_STRING || items[index]->string == nullptr) {
        return {};
    }
    return str(items[index]->string->sval);
}

constexpr std::array<std::string_view, 4> kSessionAdvisoryLocks = {
    "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock",
    "pg_try_advisory_lock_shared"};

bool is_temp_schema(std::string_view schema) noexcept {
    return schema == "pg_temp" || schema.starts_with("pg_temp_");
}

// A relation being created as temporary: TEMP/TEMPORARY, or named into the pg_temp schema (the
// raw tree still says 'p' then; PostgreSQL fixes the persistence later).
bool creates_temp(const PgQuery__RangeVar* rel) noexcept {
    return rel != nullptr &&
           (str(rel->relpersistence) == "t" || is_temp_schema(str(rel->schemaname)));
}

// set_config(name, value, true) is transaction-local (PostgREST sends it every transaction); any
// other third argument (false, a parameter, an expression) may outlive the transaction.
bool third_arg_is_true(const PgQuery__FuncCall* call) noexcept {
    if (call->n_args != 3 || call->args[2] == nullptr ||
        call->args[2]->node_case != PG_QUERY__NODE__NODE_A_CONST) {
        return false;
    }
    const PgQuery__AConst* value = call->args[2]->a_const;
    return value != nullptr && value->val_case == PG_QUERY__A__CONST__VAL_BOOLVAL &&
           value->boolval != nullptr && value->boolval->boolval;
}

// Returns the name lower-cased, as Statement::functions keeps it.
const std::string& add_function(std::string_view name, Facts& facts) {
    std::string lowered(name);
    for (char& c : lowered) {
        c = lex::lower(c);
    }
    auto found = std::find(facts.functions.begin(), facts.functions.end(), lowered);
    if (found != facts.functions.end()) {
        return *found;
    }
    facts.functions.push_back(std::move(lowered));
    return facts.functions.back();
}

void note(const ProtobufCMessage* message, Facts& facts) {
    const ProtobufCMessageDescriptor* type = message->descriptor;
    if (type == &pg_query__func_call__descriptor) {
        const auto* call = reinterpret_cast<const PgQuery__FuncCall*>(message);
        std::string_view name = name_at(call->n_funcname, call->funcname, call->n_funcname - 1);
        facts.advisory_lock = facts.advisory_lock ||
                              std::find(kSessionAdvisoryLocks.begin(), kSessionAdvisoryLocks.end(),
                                        name) != kSessionAdvisoryLocks.end();
        facts.advisory_unlock_all = facts.advisory_unlock_all || name == "pg_advisory_unlock_all";
        facts.session_set_config =
            facts.session_set_config || (name == "set_config" && !third_arg_is_true(call));
        if (!name.empty()) {
            facts.writing_function =
                facts.writing_function || is_primary_only_function(add_function(name, facts));
        }
    } else if (type == &pg_query__locking_clause__descriptor) {
        facts.locking_clause = true;
    } else if (type == &pg_query__insert_stmt__descriptor ||
               type == &pg_query__update_stmt__descriptor ||
               type == &pg_query__delete_stmt__descriptor ||
               type == &pg_query__merge_stmt__descriptor) {
        facts.modifies_data = true;
    } else if (type == &pg_query__into_clause__descriptor) {
        facts.into = true;
    }
    facts.writes =
        facts.locking_clause || facts.modifies_data || facts.into || facts.writing_function;
}

}  // namespace

const PgQuery__IntoClause* select_into(const PgQuery__SelectStmt* select) noexcept {
    while (select != nullptr && select->larg != nullptr) {
        select = select->larg;
    }
    return select != nullptr ? select->into_clause : nullptr;
}

bool creates_temp_object(const PgQuery__Node* statement) noexcept {
    if (statement != nullptr && statement->node_case == PG_QUERY__NODE__NODE_EXPLAIN_STMT &&
        statement->explain_stmt != nullptr) {
        statement = statement->explain_stmt->query;  // EXPLAIN ANALYZE runs it
    }
    if (statement == nullptr) {
        return false;
    }
    constexpr auto kDrop = PG_QUERY__ON_COMMIT_ACTION__ONCOMMIT_DROP;
    auto temp_into = [&](const PgQuery__IntoClause* into) {
        return into != nullptr && creates_temp(into->rel) && into->on_commit != kDrop;
    };
    switch (statement->node_case) {
        case PG_QUERY__NODE__NODE_SELECT_STMT:
            return temp_into(select_into(statement->select_stmt));
        case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
            return temp_into(statement->create_table_as_stmt->into);
        case PG_QUERY__NODE__NODE_CREATE_STMT:
            return creates_temp(statement->create_stmt->relation) &&
                   statement->create_stmt->oncommit != kDrop;
        case PG_QUERY__NODE__NODE_VIEW_STMT:
            return creates_temp(statement->view_stmt->view);
        case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
            return creates_temp(statement->create_seq_stmt->sequence);
        case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT: {
            const PgQuery__CreateFunctionStmt* create = statement->create_function_stmt;
            return create->n_funcname > 1 &&
                   is_temp_schema(name_at(create->n_funcname, create->funcname, 0));
        }
        default:
            return false;
    }
}

void push_children(const ProtobufCMessage* message, std::vector<const ProtobufCMessage*>& stack) {
    const ProtobufCMessageDescriptor* type = message->descriptor;
    const auto* base = reinterpret_cast<const char*>(message);
    for (unsigned i = 0; i < type->n_fields; ++i) {
        const ProtobufCFieldDescriptor& field = type->fields[i];
        if (field.type != PROTOBUF_C_TYPE_MESSAGE) {
            continue;
        }
        if (field.label == PROTOBUF_C_LABEL_REPEATED) {
            std::size_t n = *reinterpret_cast<const std::size_t*>(base + field.quantifier_offset);
            auto* const* items =
                *reinterpret_cast<ProtobufCMessage* const* const*>(base + field.offset);
            for (std::size_t k = 0; k < n; ++k) {
                if (items[k] != nullptr) {
                    stack.push_back(items[k]);
                }
            }
            continue;
        }
        // The members of a oneof share one slot; only the one named by the case is live.
        if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0 &&
            *reinterpret_cast<const std::uint32_t*>(base + field.quantifier_offset) != field.id) {
            continue;
        }
        const auto* child = *reinterpret_cast<const ProtobufCMessage* const*>(base + field.offset);
        if (child != nullptr) {
            stack.push_back(child);
        }
    }
}

Facts inspect(const ProtobufCMessage* root, std::vector<const ProtobufCMessage*>& stack) {
    Facts facts;
    stack.clear();
    stack.push_back(root);
    while (!stack.empty()) {
        const ProtobufCMessage* message = stack.back();
        stack.pop_back();
        note(message, facts);
        push_children(message, stack);
    }
    return facts;
}

StatementKind generic_kind(PgQuery__Node__NodeCase node) noexcept {
    switch (node) {
        case PG_QUERY__NODE__NODE_EXPLAIN_STMT:
        case PG_QUERY__NODE__NODE_VACUUM_STMT:
        case PG_QUERY__NODE__NODE_LOCK_STMT:
        case PG_QUERY__NODE__NODE_DO_STMT:
        case PG_QUERY__NODE__NODE_CALL_STMT:
        case PG_QUERY__NODE__NODE_FETCH_STMT:
        case PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT:
        case PG_QUERY__NODE__NODE_CHECK_POINT_STMT:
        case PG_QUERY__NODE__NODE_LOAD_STMT:
        case PG_QUERY__NODE__NODE_CLUSTER_STMT:
        case PG_QUERY__NODE__NODE_REINDEX_STMT:
        case PG_QUERY__NODE__NODE_CONSTRAINTS_SET_STMT:
        case PG_QUERY__NODE__NODE_ALTER_SYSTEM_STMT:
            return StatementKind::Utility;
        case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
        case PG_QUERY__NODE__NODE_ALTER_DOMAIN_STMT:
        case PG_QUERY__NODE__NODE_GRANT_STMT:
        case PG_QUERY__NODE__NODE_GRANT_ROLE_STMT:
        case PG_QUERY__NODE__NODE_ALTER_DEFAULT_PRIVILEGES_STMT:
        case PG_QUERY__NODE__NODE_CREATE_STMT:
        case PG_QUERY__NODE__NODE_DEFINE_STMT:
        case PG_QUERY__NODE__NODE_DROP_STMT:
        case PG_QUERY__NODE__NODE_TRUNCATE_STMT:
        case PG_QUERY__NODE__NODE_COMMENT_STMT:
        case PG_QUERY__NODE__NODE_INDEX_STMT:
        case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT:
        case PG_QUERY__NODE__NODE_ALTER_FUNCTION_STMT:
        case PG_QUERY__NODE__NODE_RENAME_STMT:
        case PG_QUERY__NODE__NODE_RULE_STMT:
        case PG_QUERY__NODE__NODE_VIEW_STMT:
        case PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT:
        case PG_QUERY__NODE__NODE_CREATEDB_STMT:
        case PG_QUERY__NODE__NODE_DROPDB_STMT:
        case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT:
        case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
        case PG_QUERY__NODE__NODE_ALTER_SEQ_STMT:
        case PG_QUERY__NODE__NODE_CREATE_TRIG_STMT:
        case PG_QUERY__NODE__NODE_CREATE_PLANG_STMT:
        case PG_QUERY__NODE__NODE_CREATE_ROLE_STMT:
        case PG_QUERY__NODE__NODE_ALTER_ROLE_STMT:
        case PG_QUERY__NODE__NODE_DROP_ROLE_STMT:
        case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT:
        case PG_QUERY__NODE__NODE_ALTER_DATABASE_STMT:
        case PG_QUERY__NODE__NODE_ALTER_DATABASE_REFRESH_COLL_STMT:
        case PG_QUERY__NODE__NODE_ALTER_DATABASE_SET_STMT:
        case PG_QUERY__NODE__NODE_ALTER_ROLE_SET_STMT:
        case PG_QUERY__NODE__NODE_CREATE_CONVERSION_STMT:
        case PG_QUERY__NODE__NODE_CREATE_CAST_STMT:
        case PG_QUERY__NODE__NODE_CREATE_OP_CLASS_STMT:
        case PG_QUERY__NODE__NODE_CREATE_OP_FAMILY_STMT:
        case PG_QUERY__NODE__NODE_ALTER_OP_FAMILY_STMT:
        case PG_QUERY__NODE__NODE_CREATE_TABLE_SPACE_STMT:
        case PG_QUERY__NODE__NODE_DROP_TABLE_SPACE_STMT:
        case PG_QUERY__NODE__NODE_ALTER_OBJECT_DEPENDS_STMT:
        case PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT:
        case PG_QUERY__NODE__NODE_ALTER_OWNER_STMT:
        case PG_QUERY__NODE__NODE_ALTER_OPERATOR_STMT:
        case PG_QUERY__NODE__NODE_ALTER_TYPE_STMT:
        case PG_QUERY__NODE__NODE_DROP_OWNED_STMT:
        case PG_QUERY__NODE__NODE_REASSIGN_OWNED_STMT:
        case PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT:
        case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
        case PG_QUERY__NODE__NODE_CREATE_RANGE_STMT:
        case PG_QUERY__NODE__NODE_ALTER_ENUM_STMT:
        case PG_QUERY__NODE__NODE_ALTER_TSDICTIONARY_STMT:
        case PG_QUERY__NODE__NODE_ALTER_TSCONFIGURATION_STMT:
        case PG_QUERY__NODE__NODE_CREATE_FDW_STMT:
        case PG_QUERY__NODE__NODE_ALTER_FDW_STMT:
        case PG_QUERY__NODE__NODE_CREATE_FOREIGN_SERVER_STMT:
        case PG_QUERY__NODE__NODE_ALTER_FOREIGN_SERVER_STMT:
        case PG_QUERY__NODE__NODE_CREATE_USER_MAPPING_STMT:
        case PG_QUERY__NODE__NODE_ALTER_USER_MAPPING_STMT:
        case PG_QUERY__NODE__NODE_DROP_USER_MAPPING_STMT:
        case PG_QUERY__NODE__NODE_ALTER_TABLE_SPACE_OPTIONS_STMT:
        case PG_QUERY__NODE__NODE_ALTER_TABLE_MOVE_ALL_STMT:
        case PG_QUERY__NODE__NODE_SEC_LABEL_STMT:
        case PG_QUERY__NODE__NODE_CREATE_FOREIGN_TABLE_STMT:
        case PG_QUERY__NODE__NODE_IMPORT_FOREIGN_SCHEMA_STMT:
        case PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT:
        case PG_QUERY__NODE__NODE_ALTER_EXTENSION_STMT:
        case PG_QUERY__NODE__NODE_ALTER_EXTENSION_CONTENTS_STMT:
        case PG_QUERY__NODE__NODE_CREATE_EVENT_TRIG_STMT:
        case PG_QUERY__NODE__NODE_ALTER_EVENT_TRIG_STMT:
        case PG_QUERY__NODE__NODE_REFRESH_MAT_VIEW_STMT:
        case PG_QUERY__NODE__NODE_REPLICA_IDENTITY_STMT:
        case PG_QUERY__NODE__NODE_CREATE_POLICY_STMT:
        case PG_QUERY__NODE__NODE_ALTER_POLICY_STMT:
        case PG_QUERY__NODE__NODE_CREATE_TRANSFORM_STMT:
        case PG_QUERY__NODE__NODE_CREATE_AM_STMT:
        case PG_QUERY__NODE__NODE_CREATE_PUBLICATION_STMT:
        case PG_QUERY__NODE__NODE_ALTER_PUBLICATION_STMT:
        case PG_QUERY__NODE__NODE_CREATE_SUBSCRIPTION_STMT:
        case PG_QUERY__NODE__NODE_ALTER_SUBSCRIPTION_STMT:
        case PG_QUERY__NODE__NODE_DROP_SUBSCRIPTION_STMT:
        case PG_QUERY__NODE__NODE_CREATE_STATS_STMT:
        case PG_QUERY__NODE__NODE_ALTER_COLLATION_STMT:
        case PG_QUERY__NODE__NODE_ALTER_STATS_STMT:
            return StatementKind::Ddl;
        default:
            return StatementKind::Other;
    }
}

}  // namespace pgrouter::sql::tree
