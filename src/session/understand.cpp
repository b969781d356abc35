// pgrouter/session/understand.cpp — reading a client message before routing it.
#include "pgrouter/session/understand.hpp"

#include "pgrouter/sql/classify.hpp"
#include "pgrouter/sql/digest.hpp"
#include "pgrouter/sql/hints.hpp"
#include "pgrouter/sql/read_scan.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"

namespace pgrouter::session {
namespace {

// Only texts the keyword pre-filter flags go to the parser, through the cache (parsed once).
std::shared_ptr<const sql::Classification> classify_if_needed(std::string_view text,
                                                              sql::StatementCache& cache) {
    return sql::may_affect_session(text) ? cache.classify(text) : nullptr;
}

using routing::Access;
using routing::WriteCause;

bool ascii_contains_word(std::string_view text, std::string_view word) {
    for (std::size_t i = 0; i + word.size() <= text.size(); ++i) {
        std::size_t k = 0;
        while (k < word.size() && (text[i + k] | 0x20) == word[k]) {
            ++k;
        }
        if (k == word.size()) {
            return true;
        }
    }
    return false;
}

// Statement kinds that change no data: they never make a client's later reads wait for replicas.
bool changes_no_data(sql::StatementKind kind) {
    using K = sql::StatementKind;
    switch (kind) {
        case K::Set:
        case K::Reset:
        case K::Show:
        case K::Discard:
        case K::Begin:
        case K::Commit:
        case K::Rollback:
        case K::Savepoint:
        case K::Listen:
        case K::Unlisten:
        case K::Deallocate:
        case K::Empty:
            return true;
        default:
            return false;
    }
}

bool calls_write_function(const sql::Statement& statement, const RoutingContext& routing) {
    if (statement.functions.empty()) {
        return false;
    }
    if (routing.write_functions == nullptr) {
        return true;  // the catalogue has not been read yet: any function may write
    }
    for (const auto& name : statement.functions) {
        if (routing.write_functions->contains(name)) {
            return true;
        }
    }
    return false;
}

void apply_classification(std::string_view text, const sql::Classification& c, Request& request,
                          const RoutingContext& routing) {
    routing::RouteRequest& route = request.route;
    if (c.parse_error) {
        // The server reports a syntax error itself; an over-limit text may do anything.
        route.access = Access::Write;
        route.cause = c.over_limit ? WriteCause::Unparsed : WriteCause::Statement;
        request.may_modify = c.over_limit;
        return;
    }
    if ((c.effects & kPinningEffects) != 0) {
        route.access = Access::Write;
        route.cause = WriteCause::SessionState;
        request.may_modify = true;
        return;
    }
    bool all_read = true;
    WriteCause cause = WriteCause::None;
    for (const auto& statement : c.statements) {
        if (!changes_no_data(statement.kind) &&
            (!statement.read || calls_write_function(statement, routing))) {
            request.may_modify = true;
        }
        if (statement.read && !calls_write_function(statement, routing)) {
            continue;
        }
        all_read = all_read && statement.kind == sql::StatementKind::Empty;
        if (cause == WriteCause::None && statement.kind != sql::StatementKind::Empty) {
            switch (statement.not_read) {
                case sql::NotReadCause::LockingClause:
                    cause = WriteCause::LockingClause;
                    break;
                case sql::NotReadCause::None:  // a read that calls a user function that writes
                case sql::NotReadCause::WritingFunction:
                    cause = WriteCause::WriteFunction;
                    break;
                default:
                    cause = WriteCause::Statement;
                    break;
            }
        }
    }
    if (all_read) {
        route.access = Access::Read;
        route.cause = WriteCause::None;
        return;
    }
    route.access = Access::Write;
    route.cause = cause == WriteCause::None ? WriteCause::Statement : cause;
    if (c.statements.size() != 1) {
        return;
    }
    const sql::Statement& only = c.statements.front();
    switch (only.kind) {
        case sql::StatementKind::Begin:
            route.access =
                only.read_only_transaction ? Access::ReadOnlyTransaction : Access::Transaction;
            request.begin = !only.read_only_transaction;
            break;
        case sql::StatementKind::Commit:
        case sql::StatementKind::Rollback:
            request.ends_tx = !ascii_contains_word(text, "chain");
            break;
        case sql::StatementKind::Set:
            request.sets_read_only = only.read_only_transaction;
            break;
        default:
            break;
    }
}

}  // namespace

void understand_statement(std::string_view text, Request& request, sql::StatementCache& cache,
                          const RoutingContext& routing) {
    if (!routing.enabled) {
        request.classification = classify_if_needed(text, cache);
        return;
    }
    const sql::Hints hints = sql::parse_hints(text);
    request.route.hint = hints.target == sql::TargetHint::Primary   ? routing::Hint::Primary
                         : hints.target == sql::TargetHint::Replica ? routing::Hint::Replica
                                                                    : routing::Hint::None;
    request.route.max_lag_ms = hints.max_lag_ms.value_or(0);
    request.consistency_key = hints.key;
    if (sql::scan_read(text, routing.builtins_trusted) == sql::ReadScan::PlainRead) {
        // The plain single SELECT of the hot path: no parser, no cache.
        request.route.access = Access::Read;
        request.route.cause = WriteCause::None;
        return;
    }
    if (sql::leads_with_dml(text)) {
        // INSERT/UPDATE/DELETE/MERGE ...: the primary, whatever follows. Not parsed (the simple
        // protocol sends a new text for every literal) unless it may touch session state.
        request.route.access = Access::Write;
        request.route.cause = WriteCause::Statement;
        request.may_modify = true;
        request.classification = classify_if_needed(text, cache);
        if (request.classification && (request.classification->effects & kPinningEffects) != 0) {
            request.route.cause = WriteCause::SessionState;
        }
        return;
    }
    request.classification = cache.classify(text);
    apply_classification(text, *request.classification, request, routing);
}

Request understand(const wire::Frame& frame, bool partial, const ClientStatements& statements,
                   bool transaction_mode, sql::StatementCache& cache,
                   const RoutingContext& routing) {
    Request request;
    request.type = frame.type;
    request.partial = partial;
    switch (frame.type) {
        case wire::frontend::kQuery: {
            if (partial) {
                request.may_modify = true;
                break;  // not all here: not parsed, treated as unreadable
            }
            auto text = wire::parse_query(frame);
            if (!text) {
                request.valid = false;
                break;
            }
            request.text = *text;
            understand_statement(request.text, request, cache, routing);
            break;
        }
        case wire::frontend::kParse: {
            auto parse = wire::parse_parse(frame);
            if (!parse) {
                request.valid = false;
                break;
            }
            request.text = parse->query;
            request.name = parse->statement;
            request.param_count = parse->param_count;
            request.param_types = parse->param_types;
            understand_statement(request.text, request, cache, routing);
            break;
        }
        case wire::frontend::kBind: {
            auto bind = wire::parse_bind(frame);
            if (!bind) {
                request.valid = false;
                break;
            }
            request.portal = bind->portal;
            request.name = bind->statement;
            request.bind_rest_offset = bind->portal.size() + 1 + bind->statement.size() + 1;
            if (transaction_mode && !bind->statement.empty()) {
                request.prepared = statements.find(bind->statement);
            }
            if (request.prepared != nullptr) {
                request.route.access = static_cast<Access>(request.prepared->route_access);
                request.route.cause = static_cast<WriteCause>(request.prepared->route_cause);
                request.may_modify = request.prepared->may_modify;
            } else if (bind->statement.empty()) {
                // The unnamed statement: it lives on the connection its Parse went to, so a Bind
                // follows it there; opening a unit it goes where the last unnamed Parse went.
                request.neutral = true;
                request.route.access = static_cast<Access>(statements.unnamed_access);
                request.route.cause = WriteCause::Statement;
                request.may_modify = statements.unnamed_may_modify;
            } else {
                // A statement pgrouter does not know (the server reports 26000): primary.
                request.may_modify = true;
            }
            break;
        }
        case wire::frontend::kDescribe:
        case wire::frontend::kClose: {
            auto target = frame.type == wire::frontend::kDescribe ? wire::parse_describe(frame)
                                                                  : wire::parse_close(frame);
            if (!target) {
                request.valid = false;
                break;
            }
            request.target = target->kind;
            request.name = target->name;
            if (transaction_mode && target->kind == 'S' && !target->name.empty()) {
                request.prepared = statements.find(target->name);
            }
            request.neutral = true;
            request.route.access = Access::Read;
            break;
        }
        case wire::frontend::kFunctionCall:
            request.route.cause = WriteCause::FunctionCall;
            request.may_modify = true;
            break;
        case wire::frontend::kExecute:
        case wire::frontend::kSync:
        case wire::frontend::kFlush:
        case wire::frontend::kCopyData:
        case wire::frontend::kCopyDone:
        case wire::frontend::kCopyFail:
            request.neutral = true;
            request.route.access = Access::Read;
            break;
        default:
            request.valid = false;
            break;
    }
    return request;
}

std::shared_ptr<PreparedStatement> make_statement(const Request& parse) {
    auto statement = std::make_shared<PreparedStatement>();
    statement->server_name =
        sql::server_statement_name(sql::statement_digest(parse.text, parse.param_types));
    statement->query = parse.text;
    statement->param_count = parse.param_count;
    statement->param_types.assign(parse.param_types.begin(), parse.param_types.end());
    statement->route_access = static_cast<std::uint8_t>(parse.route.access);
    statement->route_cause = static_cast<std::uint8_t>(parse.route.cause);
    statement->may_modify = parse.may_modify;
    return statement;
}

routing::RouteRequest route_request(const Request& request) noexcept {
    routing::RouteRequest out = request.route;
    if (request.partial || (request.classification && request.classification->over_limit)) {
        out.access = routing::Access::Write;
        out.cause = routing::WriteCause::Unparsed;
    } else if (request.classification && (request.classification->effects & kPinningEffects) != 0) {
        out.access = routing::Access::Write;
        out.cause = routing::WriteCause::SessionState;
    }
    return out;
}

}  // namespace pgrouter::session
