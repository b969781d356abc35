// src/sql/statement_tree.hpp — reading libpg_query's unpacked protobuf tree (pg_query.pb-c.h
// types) for classify.cpp. Internal header; no parser calls here.
#pragma once

#include <pg_query/pg_query.pb-c.h>

#include <string>
#include <string_view>
#include <vector>

#include "pgrouter/sql/classify.hpp"

namespace pgrouter::sql::tree {

// protobuf-c leaves absent strings as "" (protobuf_c_empty_string); guard against NULL anyway.
inline std::string_view str(const char* s) noexcept {
    return s != nullptr ? s : std::string_view{};
}

// What a walk over a statement's whole tree found.
struct Facts {
    bool writes = false;  // anything that stops a SELECT from being read-only: any of the next four
    bool locking_clause = false;      // FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE anywhere
    bool modifies_data = false;       // an INSERT/UPDATE/DELETE/MERGE node (in a SELECT: a CTE)
    bool into = false;                // an INTO clause
    bool writing_function = false;    // a call of a function in the list in statement_tree.cpp
    bool advisory_lock = false;       // a session-level advisory lock function is called
    bool session_set_config = false;  // set_config(name, value, is_local) not provably local
    bool advisory_unlock_all = false;
    // Every function called, unqualified and lower-cased, in first-seen order, no duplicates.
    std::vector<std::string> functions;
};

// Visits every message under `root` through the protobuf-c descriptors, so no node type can be
// forgotten, with an explicit stack because trees can be thousands of levels deep. `stack` is
// scratch space the caller may reuse between calls.
Facts inspect(const ProtobufCMessage* root, std::vector<const ProtobufCMessage*>& stack);

// The INTO clause of a SELECT ... INTO; PostgreSQL takes it from the leftmost SELECT of a set
// operation ("SELECT 1 INTO t UNION SELECT 2").
const PgQuery__IntoClause* select_into(const PgQuery__SelectStmt* select) noexcept;

// A top-level statement (or the one EXPLAIN runs) that creates a temporary object that outlives
// the transaction: TEMP/TEMPORARY or pg_temp tables, views, sequences, functions, CREATE TABLE AS
// and SELECT INTO, except with ON COMMIT DROP. Only the top level counts: PostgreSQL rejects an
// INTO anywhere else.
bool creates_temp_object(const PgQuery__Node* statement) noexcept;

// Fills the routing view of `statement` (read, not_read, read_only_transaction, functions) for
// the top-level statement `node` (not null) whose whole tree gave `facts`; takes facts.functions.
// Pushes every message-typed child of `message` (repeated fields, the live member of a oneof)
// onto `stack`: the step of the iterative walks over protobuf-c descriptors.
void push_children(const ProtobufCMessage* message, std::vector<const ProtobufCMessage*>& stack);

void fill_read_view(const PgQuery__Node* node, Facts& facts, Statement& statement);

// Ddl, Utility or Other for the top-level statements classify.cpp has no case of its own for.
StatementKind generic_kind(PgQuery__Node__NodeCase node) noexcept;

}  // namespace pgrouter::sql::tree
