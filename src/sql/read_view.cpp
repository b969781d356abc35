// src/sql/read_view.cpp — the routing view of one parsed statement: whether a streaming replica
// can answer it (Statement::read and why not), and whether it makes its transaction read-only.
// Reads libpg_query's unpacked protobuf tree; no parser calls, no allocation beyond the facts.
#include <optional>
#include <string_view>
#include <utility>

#include "lex.hpp"
#include "statement_tree.hpp"

namespace pgrouter::sql {

std::string_view to_string(NotReadCause cause) noexcept {
    switch (cause) {
        case NotReadCause::None:
            return "read";
        case NotReadCause::NotSelect:
            return "not a SELECT, SHOW or EXPLAIN of a read";
        case NotReadCause::Into:
            return "SELECT ... INTO";
        case NotReadCause::WritingCte:
            return "data-modifying WITH";
        case NotReadCause::LockingClause:
            return "SELECT ... FOR UPDATE/SHARE";
        case NotReadCause::WritingFunction:
            return "calls a function that writes or needs the primary";
    }
    return "unknown";
}

bool Classification::all_read() const noexcept {
    if (parse_error || statements.empty()) {
        return false;
    }
    for (const Statement& statement : statements) {
        if (!statement.read) {
            return false;
        }
    }
    return true;
}

}  // namespace pgrouter::sql

namespace pgrouter::sql::tree {
namespace {

// PostgreSQL's parse_bool() for a true value: any prefix of "true" or "yes", "on", "1".
bool spells_true(std::string_view value) noexcept {
    auto prefix_of = [&](std::string_view word) {
        return !value.empty() && value.size() <= word.size() &&
               lex::iequals(value, word.substr(0, value.size()));
    };
    return prefix_of("true") || prefix_of("yes") || lex::iequals(value, "on") || value == "1";
}

// An A_Const argument read as a boolean; nullopt when it is something else.
std::optional<bool> const_bool(const PgQuery__Node* node) noexcept {
    if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_A_CONST ||
        node->a_const == nullptr) {
        return std::nullopt;
    }
    const PgQuery__AConst& value = *node->a_const;
    switch (value.val_case) {
        case PG_QUERY__A__CONST__VAL_IVAL:  // READ ONLY is 1, READ WRITE 0 (an empty message)
            return value.ival != nullptr && value.ival->ival != 0;
        case PG_QUERY__A__CONST__VAL_BOOLVAL:
            return value.boolval != nullptr && value.boolval->boolval;
        case PG_QUERY__A__CONST__VAL_SVAL:
            return value.sval != nullptr && spells_true(str(value.sval->sval));
        default:
            return std::nullopt;
    }
}

// The last transaction_read_only option of a BEGIN / SET TRANSACTION option list.
bool read_only_option(std::size_t n, PgQuery__Node* const* options) noexcept {
    bool read_only = false;
    for (std::size_t i = 0; i < n; ++i) {
        const PgQuery__Node* option = options[i];
        if (option == nullptr || option->node_case != PG_QUERY__NODE__NODE_DEF_ELEM ||
            option->def_elem == nullptr ||
            str(option->def_elem->defname) != "transaction_read_only") {
            continue;
        }
        read_only = const_bool(option->def_elem->arg).value_or(false);
    }
    return read_only;
}

bool makes_transaction_read_only(const PgQuery__Node* node) noexcept {
    if (node->node_case == PG_QUERY__NODE__NODE_TRANSACTION_STMT) {
        const PgQuery__TransactionStmt& begin = *node->transaction_stmt;
        return (begin.kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN ||
                begin.kind == PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START) &&
               read_only_option(begin.n_options, begin.options);
    }
    if (node->node_case != PG_QUERY__NODE__NODE_VARIABLE_SET_STMT) {
        return false;
    }
    const PgQuery__VariableSetStmt& set = *node->variable_set_stmt;
    const std::string_view name = str(set.name);
    if (set.kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI &&
        lex::iequals(name, "transaction")) {
        return read_only_option(set.n_args, set.args);  // SET TRANSACTION READ ONLY
    }
    return set.kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE &&
           lex::iequals(name, "transaction_read_only") && set.n_args == 1 &&
           const_bool(set.args[0]).value_or(false);
}

NotReadCause not_read_cause(const PgQuery__Node* node, const Facts& facts) noexcept {
    if (node->node_case == PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT) {
        return NotReadCause::None;
    }
    if (node->node_case == PG_QUERY__NODE__NODE_EXPLAIN_STMT) {
        // With or without ANALYZE, EXPLAIN is a read exactly when the statement it explains is.
        node = node->explain_stmt != nullptr ? node->explain_stmt->query : nullptr;
    }
    if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_SELECT_STMT) {
        return NotReadCause::NotSelect;
    }
    if (facts.into) {
        return NotReadCause::Into;
    }
    if (facts.modifies_data) {
        return NotReadCause::WritingCte;
    }
    if (facts.locking_clause) {
        return NotReadCause::LockingClause;
    }
    if (facts.writing_function) {
        return NotReadCause::WritingFunction;
    }
    return NotReadCause::None;
}

}  // namespace

void fill_read_view(const PgQuery__Node* node, Facts& facts, Statement& statement) {
    statement.not_read = not_read_cause(node, facts);
    statement.read = statement.not_read == NotReadCause::None;
    statement.read_only_transaction = makes_transaction_read_only(node);
    statement.functions = std::move(facts.functions);
}

}  // namespace pgrouter::sql::tree
