// pgrouter/sql/classify.cpp — classify(): the libpg_query boundary (parse, scan, protobuf unpack,
// one RAII owner per result type, the parse ones shared with the shard planner in parse_tree.hpp)
// and the per-statement reading of kinds, settings and effects. Never throws on bad SQL, never
// recurses over a tree.
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lex.hpp"
#include "parse_budget.hpp"
#include "parse_tree.hpp"
#include "pgrouter/sql/classify.hpp"
#include "statement_tree.hpp"

namespace pgrouter::sql {
namespace {

using parse::ParseTree;
using parse::ProtobufParse;
using tree::str;

// RAII owners, one per libpg_query / protobuf-c result type.
class ProtobufScan {
public:
    explicit ProtobufScan(const char* text) : result_(pg_query_scan(text)) {}
    ~ProtobufScan() { pg_query_free_scan_result(result_); }
    ProtobufScan(const ProtobufScan&) = delete;
    ProtobufScan& operator=(const ProtobufScan&) = delete;

    bool failed() const noexcept { return result_.error != nullptr; }
    const PgQueryProtobuf& tokens() const noexcept { return result_.pbuf; }

private:
    PgQueryScanResult result_;
};

struct FreeScanTokens {
    void operator()(PgQuery__ScanResult* scan) const noexcept {
        pg_query__scan_result__free_unpacked(scan, nullptr);
    }
};
using ScanTokens = std::unique_ptr<PgQuery__ScanResult, FreeScanTokens>;

std::string to_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), lex::lower);
    return out;
}

// The statement's own text: from its first to its last token, so leading comments and a trailing
// "-- comment" (which would swallow whatever a replay script appends) are left out.
std::string statement_text(std::string_view text, const PgQuery__RawStmt& raw) {
    std::size_t begin = std::min<std::size_t>(std::max(raw.stmt_location, 0), text.size());
    std::size_t len = raw.stmt_len <= 0 ? text.size() - begin
                                        : std::min<std::size_t>(raw.stmt_len, text.size() - begin);
    std::string slice(text.substr(begin, len));
    ProtobufScan scan(slice.c_str());
    ScanTokens tokens(scan.failed()
                          ? nullptr
                          : pg_query__scan_result__unpack(
                                nullptr, scan.tokens().len,
                                reinterpret_cast<const std::uint8_t*>(scan.tokens().data)));
    if (tokens == nullptr) {
        // Cannot happen for text that parsed; keep the whole slice minus surrounding blanks.
        std::size_t first = lex::skip_blank(slice, 0);
        std::size_t last = slice.size();
        while (last > first && lex::is_space(slice[last - 1])) {
            --last;
        }
        return slice.substr(first, last - first);
    }
    int first = -1;
    int last = -1;
    for (std::size_t i = 0; i < tokens->n_tokens; ++i) {
        const PgQuery__ScanToken* token = tokens->tokens[i];
        if (token->token == PG_QUERY__TOKEN__SQL_COMMENT ||
            token->token == PG_QUERY__TOKEN__C_COMMENT) {
            continue;
        }
        if (first < 0) {
            first = token->start;
        }
        last = token->end;
    }
    if (first < 0 || last <= first || static_cast<std::size_t>(last) > slice.size()) {
        return {};
    }
    return slice.substr(first, last - first);
}

// These GUCs only ever hold for the current transaction.
bool is_transaction_scoped(std::string_view name) noexcept {
    return name == "transaction_isolation" || name == "transaction_read_only" ||
           name == "transaction_deferrable";
}

void classify_set(const PgQuery__VariableSetStmt& set, std::string_view text,
                  const PgQuery__RawStmt& raw, Statement& statement, Classification& out) {
    using Kind = PgQuery__VariableSetKind;
    const Kind kind = set.kind;
    statement.kind = kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET ||
                             kind == PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL
                         ? StatementKind::Reset
                         : StatementKind::Set;
    if (set.is_local) {
        return;
    }
    std::string name = to_lower(str(set.name));
    switch (kind) {
        case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET_ALL:
            out.settings.push_back({SettingAction::ResetAll, {}, {}});
            statement.effects |= kSetsParameter;
            return;
        case PG_QUERY__VARIABLE_SET_KIND__VAR_RESET:
        case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_DEFAULT:  // SET x TO DEFAULT is RESET x
            if (is_transaction_scoped(name)) {
                return;
            }
            out.settings.push_back({SettingAction::Reset, name, {}});
            break;
        case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE:
        case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_CURRENT:
            if (is_transaction_scoped(name)) {
                return;
            }
            out.settings.push_back({SettingAction::Set, name, statement_text(text, raw)});
            break;
        case PG_QUERY__VARIABLE_SET_KIND__VAR_SET_MULTI:
            // SET TRANSACTION ... and SET TRANSACTION SNAPSHOT end with the transaction.
            if (name != "session characteristics") {
                return;
            }
            out.settings.push_back({SettingAction::Set, name, statement_text(text, raw)});
            break;
        default:
            return;
    }
    statement.effects |= kSetsParameter;
    if (name == "role" || name == "session_authorization") {
        statement.effects |= kSessionAuthorization;
    }
    if (name == "session_authorization") {
        // PostgreSQL drops an active SET ROLE whenever the session user changes.
        out.settings.push_back({SettingAction::Reset, "role", {}});
    }
}

StatementKind transaction_kind(PgQuery__TransactionStmtKind kind) noexcept {
    switch (kind) {
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
            return StatementKind::Begin;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
            return StatementKind::Commit;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
            return StatementKind::Rollback;
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT:
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE:
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO:
            return StatementKind::Savepoint;
        default:  // PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED
            return StatementKind::Utility;
    }
}

// DECLARE ... WITH HOLD (CURSOR_OPT_HOLD in PostgreSQL's parsenodes.h).
constexpr std::int32_t kCursorOptHold = 0x0020;

constexpr std::uint32_t kAllSessionEffects = kSetsParameter | kListen | kAdvisoryLock | kTempTable |
                                             kHoldCursor | kPreparedStatement |
                                             kSessionAuthorization;

Statement classify_statement(const PgQuery__RawStmt& raw, std::string_view text,
                             Classification& out, std::vector<const ProtobufCMessage*>& stack) {
    Statement statement;
    const PgQuery__Node* node = raw.stmt;
    if (node == nullptr) {
        statement.kind = StatementKind::Empty;
        return statement;
    }
    switch (node->node_case) {
        case PG_QUERY__NODE__NODE_SELECT_STMT:
            statement.kind = tree::select_into(node->select_stmt) != nullptr
                                 ? StatementKind::Ddl
                                 : StatementKind::Select;
            break;
        case PG_QUERY__NODE__NODE_INSERT_STMT:
            statement.kind = StatementKind::Insert;
            break;
        case PG_QUERY__NODE__NODE_UPDATE_STMT:
            statement.kind = StatementKind::Update;
            break;
        case PG_QUERY__NODE__NODE_DELETE_STMT:
            statement.kind = StatementKind::Delete;
            break;
        case PG_QUERY__NODE__NODE_MERGE_STMT:
            statement.kind = StatementKind::Merge;
            break;
        case PG_QUERY__NODE__NODE_COPY_STMT:
            statement.kind = StatementKind::Copy;
            break;
        case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
            statement.kind = transaction_kind(node->transaction_stmt->kind);
            break;
        case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT:
            classify_set(*node->variable_set_stmt, text, raw, statement, out);
            break;
        case PG_QUERY__NODE__NODE_VARIABLE_SHOW_STMT:
            statement.kind = StatementKind::Show;
            break;
        case PG_QUERY__NODE__NODE_DISCARD_STMT:
            statement.kind = StatementKind::Discard;
            switch (node->discard_stmt->target) {
                case PG_QUERY__DISCARD_MODE__DISCARD_ALL:
                    // DISCARD ALL also runs SET SESSION AUTHORIZATION DEFAULT, which RESET ALL
                    // does not touch.
                    out.settings.push_back({SettingAction::ResetAll, {}, {}});
                    out.settings.push_back({SettingAction::Reset, "session_authorization", {}});
                    out.settings.push_back({SettingAction::Reset, "role", {}});
                    statement.effects |= kDiscardAll | kSetsParameter;
                    statement.clears = kAllSessionEffects;
                    break;
                case PG_QUERY__DISCARD_MODE__DISCARD_TEMP:
                    statement.clears = kTempTable;
                    break;
                default:  // PLANS, SEQUENCES: caches only
                    break;
            }
            break;
        case PG_QUERY__NODE__NODE_LISTEN_STMT:
            statement.kind = StatementKind::Listen;
            statement.name = str(node->listen_stmt->conditionname);
            statement.effects |= kListen;
            break;
        case PG_QUERY__NODE__NODE_UNLISTEN_STMT:
            statement.kind = StatementKind::Unlisten;
            statement.name = str(node->unlisten_stmt->conditionname);
            statement.clears = statement.name.empty() ? kListen : kNoEffect;  // UNLISTEN *
            break;
        case PG_QUERY__NODE__NODE_NOTIFY_STMT:
            statement.kind = StatementKind::Notify;
            statement.name = str(node->notify_stmt->conditionname);
            break;
        case PG_QUERY__NODE__NODE_PREPARE_STMT:
            statement.kind = StatementKind::Prepare;
            statement.name = str(node->prepare_stmt->name);
            statement.effects |= kPreparedStatement;
            break;
        case PG_QUERY__NODE__NODE_EXECUTE_STMT:
            statement.kind = StatementKind::Execute;
            statement.name = str(node->execute_stmt->name);
            break;
        case PG_QUERY__NODE__NODE_DEALLOCATE_STMT:
            statement.kind = StatementKind::Deallocate;
            statement.name = str(node->deallocate_stmt->name);
            statement.clears = statement.name.empty() ? kPreparedStatement : kNoEffect;
            break;
        case PG_QUERY__NODE__NODE_DECLARE_CURSOR_STMT:
            statement.kind = StatementKind::DeclareCursor;
            statement.name = str(node->declare_cursor_stmt->portalname);
            if ((node->declare_cursor_stmt->options & kCursorOptHold) != 0) {
                statement.effects |= kHoldCursor;
            }
            break;
        case PG_QUERY__NODE__NODE_CLOSE_PORTAL_STMT:
            statement.kind = StatementKind::Utility;
            statement.name = str(node->close_portal_stmt->portalname);
            statement.clears = statement.name.empty() ? kHoldCursor : kNoEffect;  // CLOSE ALL
            break;
        case PG_QUERY__NODE__NODE_FETCH_STMT:
            statement.kind = StatementKind::Utility;
            statement.name = str(node->fetch_stmt->portalname);
            break;
        default:
            statement.kind = tree::generic_kind(node->node_case);
            break;
    }

    tree::Facts facts = tree::inspect(&node->base, stack);
    if (facts.advisory_lock) {
        statement.effects |= kAdvisoryLock;
    }
    if (facts.advisory_unlock_all) {
        statement.clears |= kAdvisoryLock;
    }
    if (facts.session_set_config) {
        statement.effects |= kSetConfig;
    }
    if (tree::creates_temp_object(node)) {
        statement.effects |= kTempTable;
    }
    statement.read_only = statement.kind == StatementKind::Select && !facts.writes;
    tree::fill_read_view(node, facts, statement);
    return statement;
}

// Parse and classify; needs a stack of the size the caller checked with parse_budget.
Classification classify_text(const std::string& text) {
    Classification out;
    ProtobufParse parse(text.c_str());
    if (parse.failed()) {
        out.parse_error = true;
        return out;
    }
    ParseTree tree(pg_query__parse_result__unpack(
        nullptr, parse.tree().len, reinterpret_cast<const std::uint8_t*>(parse.tree().data)));
    if (tree == nullptr) {
        out.parse_error = true;
        return out;
    }
    std::vector<const ProtobufCMessage*> stack;
    out.statements.reserve(tree->n_stmts);
    for (std::size_t i = 0; i < tree->n_stmts; ++i) {
        if (tree->stmts[i] == nullptr) {
            continue;
        }
        Statement statement = classify_statement(*tree->stmts[i], text, out, stack);
        out.effects |= statement.effects;
        for (const std::string& function : statement.functions) {
            if (std::find(out.functions.begin(), out.functions.end(), function) ==
                out.functions.end()) {
                out.functions.push_back(function);
            }
        }
        out.statements.push_back(std::move(statement));
    }
    if (out.statements.empty()) {
        Statement empty;
        empty.kind = StatementKind::Empty;
        out.statements.push_back(std::move(empty));
    }
    return out;
}

struct HelperCall {
    const std::string* text;
    Classification* out;
    bool done = false;
};

void classify_on_helper(void* arg) {
    auto* call = static_cast<HelperCall*>(arg);
    try {
        *call->out = classify_text(*call->text);
        call->done = true;
    } catch (...) {
        // Out of memory on the helper thread: report it as not parsed rather than terminate.
    }
}

Classification over_limit() {
    Classification out;
    out.parse_error = true;
    out.over_limit = true;
    return out;
}

}  // namespace

Classification classify(std::string_view sql) {
    if (std::size_t nul = sql.find('\0'); nul != std::string_view::npos) {
        sql = sql.substr(0, nul);
    }
    const std::string text(sql);
    const std::size_t units = budget::depth_units(text);
    const std::size_t needed = units > budget::kMaxHelperStack / budget::kStackBytesPerUnit
                                   ? budget::kMaxHelperStack + 1
                                   : units * budget::kStackBytesPerUnit + budget::kStackReserve;
    if (needed <= budget::stack_remaining()) {
        return classify_text(text);
    }
    if (needed > budget::kMaxHelperStack) {
        return over_limit();
    }
    Classification out;
    HelperCall call{&text, &out};
    if (!budget::run_on_helper_thread(needed + budget::kStackReserve, classify_on_helper, &call) ||
        !call.done) {
        return over_limit();
    }
    return out;
}

}  // namespace pgrouter::sql
