// pgrouter/sql/classify.hpp — what a SQL text does to the session it runs in, read with the real
// PostgreSQL 15 parser (libpg_query, used only inside src/sql/classify.cpp).
// Pure: no I/O, no logging, never throws on bad SQL (a parse error is a result). Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgrouter::sql {

enum class SettingAction { Set, Reset, ResetAll };

struct SettingChange {
    SettingAction action = SettingAction::Set;
    // Lower-case GUC name: "search_path", "timezone" (SET TIME ZONE), "client_encoding" (SET
    // NAMES), "role" (SET ROLE), "session_authorization", "session characteristics" (SET SESSION
    // CHARACTERISTICS AS TRANSACTION ..., which is not a GUC: undo it by resetting the
    // default_transaction_* parameters, never with "RESET session characteristics").
    // Empty for ResetAll.
    std::string name;
    // For Set: the statement's own text (no surrounding comments, no trailing ';'), to run as-is
    // on another connection, e.g. "SET search_path TO a, b". Empty for Reset and ResetAll.
    std::string replay;

    friend bool operator==(const SettingChange&, const SettingChange&) = default;
};

enum class StatementKind {
    Select,  // SELECT, VALUES, TABLE, WITH ... SELECT (SELECT ... INTO is Ddl: it creates a table)
    Insert,
    Update,
    Delete,
    Merge,
    Copy,
    Begin,      // BEGIN, START TRANSACTION
    Commit,     // COMMIT, END
    Rollback,   // ROLLBACK, ABORT (ROLLBACK TO SAVEPOINT is Savepoint)
    Savepoint,  // SAVEPOINT, RELEASE, ROLLBACK TO
    Set,        // SET, including SET LOCAL / SET TRANSACTION (not session-level: see settings)
    Reset,      // RESET x, RESET ALL
    Show,
    Discard,
    Listen,
    Unlisten,
    Notify,
    Prepare,  // PREPARE name AS ... (PREPARE TRANSACTION is Utility)
    Execute,
    Deallocate,
    DeclareCursor,
    Ddl,      // CREATE/ALTER/DROP/GRANT/COMMENT/TRUNCATE/REFRESH ..., CREATE TABLE AS, SELECT INTO
    Utility,  // EXPLAIN, VACUUM, ANALYZE, LOCK, DO, CALL, FETCH, MOVE, CLOSE, CHECKPOINT, LOAD,
              // CLUSTER, REINDEX, SET CONSTRAINTS, ALTER SYSTEM, two-phase commit statements
    Other,
    Empty,  // the text holds no statement (only whitespace, comments or ';')
};

// Bit flags: effects that outlive the transaction, so the server connection is no longer
// interchangeable with another one once the statement has run.
enum SessionEffect : std::uint32_t {
    kNoEffect = 0,
    kSetsParameter = 1u << 0,  // the statement contributed to Classification::settings
    kListen = 1u << 1,
    kAdvisoryLock = 1u << 2,  // pg_advisory_lock[_shared], pg_try_advisory_lock[_shared]
    kTempTable = 1u << 3,   // CREATE TEMP TABLE/VIEW/SEQUENCE, CREATE TABLE AS / SELECT INTO TEMP,
                            // objects created in pg_temp; not when ON COMMIT DROP
    kHoldCursor = 1u << 4,  // DECLARE ... WITH HOLD
    kPreparedStatement = 1u << 5,  // SQL-level PREPARE
    kDiscardAll = 1u << 6,
    kSessionAuthorization = 1u << 7,  // SET/RESET ROLE, SET/RESET SESSION AUTHORIZATION
    kSetConfig =
        1u << 8,  // set_config(..., is_local) not provably true: a value pgrouter cannot replay
};

// Why a statement is not a read (Statement::read): the first of these that applies, in this order.
enum class NotReadCause : std::uint8_t {
    None,             // it is a read
    NotSelect,        // not SELECT/VALUES/TABLE/SHOW, nor EXPLAIN of one (INSERT, BEGIN, SET ...)
    Into,             // SELECT ... INTO (creates a table)
    WritingCte,       // WITH x AS (INSERT/UPDATE/DELETE/MERGE ...) SELECT ...
    LockingClause,    // FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE, in any subquery too
    WritingFunction,  // a call of a built-in that writes or needs the primary: see
                      // is_primary_only_function()
};

// Short English text for logs and traces, e.g. "SELECT ... FOR UPDATE/SHARE".
[[nodiscard]] std::string_view to_string(NotReadCause cause) noexcept;

struct Statement {
    StatementKind kind = StatementKind::Other;
    // True only for a SELECT (VALUES, TABLE) with no FOR UPDATE/SHARE, no data-modifying CTE, no
    // INTO and no call to a function known to write or to need the primary (nextval, setval,
    // advisory locks, set_config, ...). Functions pgrouter does not know are assumed read-only.
    bool read_only = false;
    std::uint32_t effects = kNoEffect;  // SessionEffect bits this statement creates
    // SessionEffect bits this statement removes entirely: UNLISTEN * (kListen), DEALLOCATE ALL
    // (kPreparedStatement), CLOSE ALL (kHoldCursor), DISCARD TEMP (kTempTable),
    // pg_advisory_unlock_all() (kAdvisoryLock), DISCARD ALL (all of them).
    std::uint32_t clears = kNoEffect;
    // The object a session statement names: prepared statement (PREPARE, EXECUTE, DEALLOCATE),
    // cursor (DECLARE, FETCH, MOVE, CLOSE), channel (LISTEN, UNLISTEN, NOTIFY). Empty for the ALL
    // forms and for other statements.
    std::string name;

    // Routing view. True for a statement a streaming replica can answer: SELECT, VALUES, TABLE
    // (including WITH ... SELECT and set operations) with no locking clause, no data-modifying
    // CTE, no INTO and no call of a built-in function that writes or needs the primary; any SHOW;
    // and EXPLAIN, with or without ANALYZE, of such a statement. EXPLAIN of anything else is not
    // a read even without ANALYZE (it would not run, but one rule is simpler and always safe).
    // User functions are not judged here: check `functions` against the primary's catalogue.
    bool read = false;
    NotReadCause not_read = NotReadCause::NotSelect;  // None exactly when `read`
    // Every function called anywhere in the statement (subqueries, CTEs, FROM, EXPLAIN's query):
    // the last part of the name only (schema dropped), lower-cased, no duplicates, in no particular
    // order. Compare with lower-cased pg_proc.proname. Does not see
    // functions reached without a call in the text: operators, casts, views, defaults, triggers.
    std::vector<std::string> functions;
    // BEGIN / START TRANSACTION with READ ONLY (kind Begin), and SET TRANSACTION READ ONLY, SET
    // [LOCAL] transaction_read_only = on/true/yes/1 (kind Set): the transaction is, or from here
    // on becomes, read-only. The last READ ONLY / READ WRITE of the statement decides.
    bool read_only_transaction = false;

    friend bool operator==(const Statement&, const Statement&) = default;
};

struct Classification {
    // The text did not parse: nothing else is filled in. The server reports real syntax errors
    // itself, but see over_limit.
    bool parse_error = false;
    // Set together with parse_error when the text was not parsed because its syntax tree could be
    // too deep to walk safely (e.g. ten thousand chained operators). The server may well run such
    // a text, so a caller that cares must treat its session as changed in unknown ways.
    bool over_limit = false;
    std::vector<Statement> statements;  // one per statement in a multi-statement string
    // Session-level setting changes in order. Not included: SET LOCAL, SET TRANSACTION ..., SET of
    // transaction_isolation/_read_only/_deferrable, and SET clauses of functions, roles and
    // databases. RESET x and SET x TO DEFAULT give Reset. RESET ALL gives ResetAll, which (as in
    // PostgreSQL) leaves role and session_authorization alone; DISCARD ALL gives ResetAll followed
    // by Reset "session_authorization" and Reset "role". Changing session_authorization also
    // gives Reset "role", because PostgreSQL drops an active SET ROLE then.
    std::vector<SettingChange> settings;
    std::uint32_t effects = kNoEffect;  // OR of all statements' effects
    // Union of the statements' `functions`, no duplicates, in no particular order.
    std::vector<std::string> functions;

    // At least one statement, and every statement is a read (false for a parse error and for a
    // text with no statement).
    [[nodiscard]] bool all_read() const noexcept;
};

// True for the built-in functions that make a statement not a read: they write (nextval, setval,
// pg_notify, lo_* large objects, replication slots, pg_stat_reset*), take advisory locks, read
// what only the session's own server knows (currval, lastval, txid_current) or fail on a standby
// (pg_current_wal_lsn). `name` is unqualified and lower-case. One list, in statement_tree.cpp.
[[nodiscard]] bool is_primary_only_function(std::string_view name) noexcept;

// Cheap pre-filter, no parser, no allocation: false only when `sql` certainly holds no statement
// that changes session state, i.e. when classify(sql).effects would be kNoEffect. Looks at the
// leading keyword of each ';'-separated piece (skipping whitespace and comments, any case) and,
// for plain DML/SELECT pieces, for the few words that can hide an effect inside them (advisory
// locks, SELECT ... INTO TEMP). Anything it is unsure about gives true. Stops at a NUL byte.
[[nodiscard]] bool may_affect_session(std::string_view sql) noexcept;

// Parses `sql` (up to its first NUL byte, as PostgreSQL reads a Query message) and classifies
// every statement in it. Deep texts are parsed on a helper thread with a large stack, so any
// thread may call this; only an out-of-memory condition can throw.
[[nodiscard]] Classification classify(std::string_view sql);

}  // namespace pgrouter::sql
