// pgrouter/session/understand.cpp — reading a client message before routing it.
#include "pgrouter/session/understand.hpp"

#include "pgrouter/sql/classify.hpp"
#include "pgrouter/sql/digest.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"

namespace pgrouter::session {
namespace {

// Only texts the keyword pre-filter flags go to the parser, through the cache (parsed once).
std::shared_ptr<const sql::Classification> classify_if_needed(std::string_view text,
                                                              sql::StatementCache& cache) {
    return sql::may_affect_session(text) ? cache.classify(text) : nullptr;
}

}  // namespace

Request understand(const wire::Frame& frame, bool partial, const ClientStatements& statements,
                   bool transaction_mode, sql::StatementCache& cache) {
    Request request;
    request.type = frame.type;
    request.partial = partial;
    switch (frame.type) {
        case wire::frontend::kQuery: {
            if (partial) {
                break;  // not all here: not parsed, treated as unreadable
            }
            auto text = wire::parse_query(frame);
            if (!text) {
                request.valid = false;
                break;
            }
            request.text = *text;
            request.classification = classify_if_needed(request.text, cache);
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
            request.classification = classify_if_needed(request.text, cache);
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
            break;
        }
        case wire::frontend::kExecute:
        case wire::frontend::kSync:
        case wire::frontend::kFlush:
        case wire::frontend::kFunctionCall:
        case wire::frontend::kCopyData:
        case wire::frontend::kCopyDone:
        case wire::frontend::kCopyFail:
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
    return statement;
}

routing::RouteRequest route_request(const Request& request) noexcept {
    routing::RouteRequest out;
    if (request.partial || (request.classification && request.classification->over_limit)) {
        out.cause = routing::WriteCause::Unparsed;
    } else if (request.classification &&
               (request.classification->effects & kPinningEffects) != 0) {
        out.cause = routing::WriteCause::SessionState;
    }
    return out;
}

}  // namespace pgrouter::session
