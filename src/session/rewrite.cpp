// pgrouter/session/rewrite.cpp — what each understood client message becomes on the attached server
// connection in transaction mode: forwarded as received, renamed (named prepared statements live
// under pgrouter's digest names on the servers), preceded by a hidden Parse the connection lacks,
// answered by pgrouter itself, or turned into the error PostgreSQL would give.
#include <spdlog/spdlog.h>

#include "pgrouter/session/client_session.hpp"
#include "pgrouter/sql/classify.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"

namespace pgrouter::session {
namespace {

using Kind = backend::ResponseQueue::Kind;

std::string_view effect_name(std::uint32_t effects) {
    if (effects & sql::kListen) {
        return "LISTEN";
    }
    if (effects & sql::kAdvisoryLock) {
        return "session advisory lock";
    }
    if (effects & sql::kTempTable) {
        return "temporary table";
    }
    if (effects & sql::kHoldCursor) {
        return "cursor WITH HOLD";
    }
    if (effects & sql::kPreparedStatement) {
        return "SQL PREPARE";
    }
    if (effects & sql::kSetConfig) {
        return "session setting through set_config()";
    }
    return "session state the parser could not read";
}

std::string shorten(std::string_view text) {
    constexpr std::size_t kMax = 60;
    std::string out(text.substr(0, kMax));
    for (char& c : out) {
        if (c == '\n' || c == '\r' || c == '\t') {
            c = ' ';
        }
    }
    if (text.size() > kMax) {
        out += "...";
    }
    return out;
}

}  // namespace

void ClientSession::forward(const wire::Frame& frame) {
    attached()->out().borrow(batch_base_, frame.bytes.size());
}

bool ClientSession::rewrite(const wire::Frame& frame, const Request& request) {
    link::ServerLink& link = *attached();
    backend::ResponseQueue& responses = link.responses();
    wire::Segments& out = link.out();
    if (!shard_refusal_.empty() &&
        (request.type == wire::frontend::kQuery || request.type == wire::frontend::kBind)) {
        // Fails on the server, so the transaction aborts there as PostgreSQL's would.
        const bool as_query = request.type == wire::frontend::kQuery;
        inject_error(wire::sqlstate::kFeatureNotSupported, shard_refusal_, as_query);
        shard_refusal_.clear();
        if (as_query) {
            responses.push(Kind::Query, false);
        }
        link.tx().on_client_message(request.type);
        count_ready_request(request.type);
        return true;
    }
    switch (request.type) {
        case wire::frontend::kQuery:
            if (request.partial) {
                // Too large to parse (streamed): whatever it does stays on this connection.
                if (transaction_mode_ && !pinned_) {
                    pin("a statement too large to parse");
                }
                forward(frame);
            } else if (!check_session_effects(request)) {
                forward(frame);
            }
            responses.push(Kind::Query, false);
            break;
        case wire::frontend::kParse:
            rewrite_parse(frame, request);
            break;
        case wire::frontend::kBind:
            if (request.prepared == nullptr) {
                // Unnamed, session mode, or a name the client never prepared: the server answers
                // (26000 for the last, exactly as it would directly).
                forward(frame);
            } else {
                const std::string& server_name = link.ensure_prepared(*request.prepared);
                const std::size_t rest_at = wire::kHeaderSize + request.bind_rest_offset;
                auto rest = frame.bytes.subspan(rest_at);
                const std::size_t mark = out.own_mark();
                if (request.partial) {
                    // The parameters stream on after this head, as they arrive.
                    const std::size_t total = 1 + wire::read_u32(frame.bytes.data() + 1);
                    wire::MessageWriter(out.own()).bind_renamed_head(request.portal, server_name,
                                                                     total - rest_at);
                    out.commit_own(mark);
                    out.borrow(batch_base_ + rest_at, rest.size());
                } else {
                    wire::MessageWriter(out.own()).bind_renamed(request.portal, server_name, rest);
                    out.commit_own(mark);
                }
            }
            responses.push(Kind::Bind, false);
            break;
        case wire::frontend::kDescribe:
            if (request.prepared == nullptr) {
                forward(frame);
            } else {
                const std::string& server_name = link.ensure_prepared(*request.prepared);
                const std::size_t mark = out.own_mark();
                wire::MessageWriter(out.own()).describe('S', server_name);
                out.commit_own(mark);
            }
            responses.push(Kind::Describe, false);
            break;
        case wire::frontend::kClose:
            if (transaction_mode_ && request.target == 'S' && !request.name.empty()) {
                // The server statement stays for other clients; only this client's name goes.
                // Closing a name that does not exist is not an error in PostgreSQL either.
                statements_.remove(request.name);
                std::vector<std::uint8_t> reply;
                wire::MessageWriter(reply).close_complete();
                responses.push_synthetic(reply);
            } else {
                forward(frame);
                responses.push(Kind::Close, false);
            }
            break;
        case wire::frontend::kExecute:
            forward(frame);
            responses.push(Kind::Execute, false);
            break;
        case wire::frontend::kSync:
            forward(frame);
            responses.push(Kind::Sync, false);
            break;
        case wire::frontend::kFunctionCall:
            forward(frame);
            responses.push(Kind::Query, false);
            break;
        default:  // Flush, CopyData, CopyDone, CopyFail
            forward(frame);
            break;
    }
    link.tx().on_client_message(request.type);
    count_ready_request(request.type);
    return true;
}

void ClientSession::count_ready_request(char type) {
    if (type == wire::frontend::kQuery || type == wire::frontend::kSync ||
        type == wire::frontend::kFunctionCall) {
        ++ready_sent_;
        if (!batch_settings_.empty()) {
            pending_settings_.push_back({ready_sent_, std::move(batch_settings_)});
            batch_settings_.clear();
        }
    }
}

void ClientSession::rewrite_parse(const wire::Frame& frame, const Request& request) {
    link::ServerLink& link = *attached();
    if (check_session_effects(request)) {
        return;  // replaced by an error
    }
    if (!transaction_mode_ || request.name.empty()) {
        forward(frame);
        link.responses().push(Kind::Parse, false);
        return;
    }
    if (statements_.find(request.name) != nullptr) {
        inject_error(wire::sqlstate::kDuplicatePreparedStatement,
                     "prepared statement \"" + std::string(request.name) + "\" already exists",
                     false);
        return;
    }
    auto statement = make_statement(request);
    const PreparedStatement& added = *statement;
    statements_.add(request.name, std::move(statement));
    if (link.conn().prepared.use(added.server_name)) {
        std::vector<std::uint8_t> reply;
        wire::MessageWriter(reply).parse_complete();
        link.responses().push_synthetic(reply,
                                        link.record_parse(request.name, added.server_name, false));
        return;
    }
    link.send_parse(added, request.name);
}

bool ClientSession::check_session_effects(const Request& request) {
    if (!request.classification) {
        return false;
    }
    const sql::Classification& classification = *request.classification;
    const bool is_query = request.type == wire::frontend::kQuery;
    batch_settings_.insert(batch_settings_.end(), classification.settings.begin(),
                           classification.settings.end());
    if (!transaction_mode_) {
        return false;
    }
    link::ServerLink& link = *attached();
    std::uint32_t cleared = 0;
    for (const auto& statement : classification.statements) {
        cleared |= statement.clears;
    }
    if (cleared & sql::kPreparedStatement) {
        // DEALLOCATE ALL / DISCARD ALL drop this client's statements and every pgrouter statement
        // on this server connection.
        statements_.clear();
        link.conn().prepared.clear();
    }
    // DEALLOCATE of a protocol-level statement (as a Query, or as the unnamed statement of an
    // extended-protocol Parse): drop it under pgrouter's name. Inside a multi-statement string it
    // is not rewritten (the server then answers 26000).
    bool rewritable = is_query || request.name.empty();
    if (rewritable && classification.statements.size() == 1 &&
        classification.statements[0].kind == sql::StatementKind::Deallocate &&
        !classification.statements[0].name.empty()) {
        if (const PreparedStatement* statement =
                statements_.find(classification.statements[0].name)) {
            const std::string server_name = link.ensure_prepared(*statement);
            const std::size_t mark = link.out().own_mark();
            wire::MessageWriter writer(link.out().own());
            if (is_query) {
                writer.query("DEALLOCATE " + server_name);
            } else {
                writer.parse("", "DEALLOCATE " + server_name, 0, {});
                link.responses().push(Kind::Parse, false);
            }
            link.out().commit_own(mark);
            link.conn().prepared.remove(server_name);
            statements_.remove(classification.statements[0].name);
            return true;
        }
    }
    std::uint32_t pinning = classification.effects & kPinningEffects;
    if ((pinning == 0 && !classification.over_limit) || pinned_) {
        return false;
    }
    if (pinning != 0 && database_->on_session_state == config::SessionStatePolicy::Error) {
        inject_error(wire::sqlstate::kFeatureNotSupported,
                     "statement \"" + shorten(request.text) + "\" creates a " +
                         std::string(effect_name(pinning)) +
                         ", which transaction pooling cannot keep (databases." + database_name_ +
                         ".on_session_state: error)",
                     is_query);
        return true;
    }
    pin(effect_name(pinning));
    return false;
}

void ClientSession::inject_error(std::string_view sqlstate, const std::string& message,
                                 bool as_query) {
    link::ServerLink& link = *attached();
    std::string quoted = backend::quote_literal(message);
    // The dollar-quote tag must not occur inside the body.
    std::string tag = "$pgrouter$";
    while (quoted.find(tag) != std::string::npos) {
        tag.pop_back();
        tag.append("_$");
    }
    // Built with append: GCC 12 warns (-Wrestrict, a false positive) on chained operator+ here.
    std::string statement;
    statement.append("DO ").append(tag).append("BEGIN RAISE EXCEPTION USING ERRCODE = '");
    statement.append(sqlstate).append("', MESSAGE = ").append(quoted).append("; END").append(tag);
    const std::size_t mark = link.out().own_mark();
    wire::MessageWriter writer(link.out().own());
    if (as_query) {
        writer.query(statement);
    } else {
        // Parse and Bind succeed (hidden); Execute fails where the client's message would have.
        writer.parse("", statement, 0, {});
        link.responses().push(Kind::Parse, true);
        writer.bind_unnamed();
        link.responses().push(Kind::Bind, true);
        writer.execute("", 0);
        link.responses().push(Kind::Execute, false);
    }
    link.out().commit_own(mark);
}

void ClientSession::pin(std::string_view reason) {
    pinned_ = true;
    rt_.count_pinned();
    SPDLOG_INFO("{} pinned to server s{} for the rest of the session: {}", tag(), attached()->id(),
                reason);
}

}  // namespace pgrouter::session
