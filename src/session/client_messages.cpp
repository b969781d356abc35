// pgrouter/session/client_messages.cpp — what each client message becomes on the server in
// transaction mode: forwarded as received, renamed (named prepared statements live under
// pgrouter's digest names on the servers), preceded by a hidden Parse the connection lacks,
// answered by pgrouter itself, or turned into the error PostgreSQL would give.
#include <spdlog/spdlog.h>

#include "pgrouter/session/client_session.hpp"
#include "pgrouter/sql/classify.hpp"
#include "pgrouter/sql/digest.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"

namespace pgrouter::session {
namespace {

using Kind = ResponseQueue::Kind;

// Effects a transaction pooler cannot hand to the next client.
constexpr std::uint32_t kPinningEffects = sql::kListen | sql::kAdvisoryLock | sql::kTempTable |
                                          sql::kHoldCursor | sql::kPreparedStatement |
                                          sql::kSetConfig;

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

bool ClientSession::lease_idle_server() {
    if (draining_ && transaction_mode_) {
        return false;
    }
    auto conn = pool_->try_acquire_idle();
    if (!conn) {
        return false;
    }
    on_leased(std::move(conn));
    return true;
}

awaitable<bool> ClientSession::ensure_server() {
    if (draining_ && transaction_mode_) {
        co_await send_error("FATAL", wire::sqlstate::kAdminShutdown,
                            "terminating connection due to administrator command");
        co_return false;
    }
    pool::ConnectResult result = co_await pool_->acquire(credentials_);
    if (!result.conn) {
        SPDLOG_WARN("{} no server connection: {}", tag(), result.error.message);
        co_await send_error("FATAL", result.error.sqlstate, result.error.message);
        co_return false;
    }
    if (closing_) {
        pool_->release(std::move(result.conn), pool::BackendPool::Return::Clean);
        co_return false;
    }
    on_leased(std::move(result.conn));
    co_return true;
}

void ClientSession::on_leased(std::unique_ptr<pool::BackendConn> conn) {
    server_ = std::move(conn);
    SPDLOG_TRACE("{} leased s{}", tag(), server_->id);
    // Make the server session match this client's settings before its own messages run; the
    // reply to this hidden query is swallowed by pump().
    std::size_t begin = own_bytes_begin().size();
    script_.clear();
    append_sync_script(params_, server_->params, script_);
    if (!script_.empty()) {
        wire::MessageWriter(to_server_own_).query(script_);
        own_bytes_end(begin);
        responses_.push(Kind::Query, true);
        tx_.on_hidden_query();
        server_->params.copy_replayed_from(params_);
    }
    server_ready_.cancel();
}

void ClientSession::append_client_bytes(const wire::Frame& frame) {
    const std::size_t length = frame.bytes.size();
    if (!to_server_.empty() && !to_server_.back().own &&
        to_server_.back().offset + to_server_.back().length == batch_base_) {
        to_server_.back().length += length;
    } else {
        to_server_.push_back({false, batch_base_, length});
    }
}

std::vector<std::uint8_t>& ClientSession::own_bytes_begin() {
    return to_server_own_;
}

void ClientSession::own_bytes_end(std::size_t begin) {
    const std::size_t length = to_server_own_.size() - begin;
    if (length == 0) {
        return;
    }
    if (!to_server_.empty() && to_server_.back().own &&
        to_server_.back().offset + to_server_.back().length == begin) {
        to_server_.back().length += length;
    } else {
        to_server_.push_back({true, begin, length});
    }
}

bool ClientSession::on_client_frame(const wire::Frame& frame) {
    const char type = frame.type;
    switch (type) {
        case wire::frontend::kQuery: {
            auto text = wire::parse_query(frame);
            if (!text) {
                return false;
            }
            check_session_effects(*text, frame, true);
            responses_.push(Kind::Query, false);
            break;
        }
        case wire::frontend::kParse: {
            auto parse = wire::parse_parse(frame);
            if (!parse) {
                return false;
            }
            on_parse(frame, *parse);
            break;
        }
        case wire::frontend::kBind: {
            auto bind = wire::parse_bind(frame);
            if (!bind) {
                return false;
            }
            const PreparedStatement* statement = transaction_mode_ && !bind->statement.empty()
                                                     ? statements_.find(bind->statement)
                                                     : nullptr;
            if (statement == nullptr) {
                // Unnamed, session mode, or a name the client never prepared: the server answers
                // (26000 for the last, exactly as it would directly).
                append_client_bytes(frame);
            } else {
                const std::string& server_name = ensure_prepared(*statement);
                auto rest =
                    frame.body().subspan(bind->portal.size() + 1 + bind->statement.size() + 1);
                std::size_t begin = own_bytes_begin().size();
                wire::MessageWriter(to_server_own_).bind_renamed(bind->portal, server_name, rest);
                own_bytes_end(begin);
            }
            responses_.push(Kind::Bind, false);
            break;
        }
        case wire::frontend::kDescribe: {
            auto target = wire::parse_describe(frame);
            if (!target) {
                return false;
            }
            const PreparedStatement* statement =
                transaction_mode_ && target->kind == 'S' && !target->name.empty()
                    ? statements_.find(target->name)
                    : nullptr;
            if (statement == nullptr) {
                append_client_bytes(frame);
            } else {
                const std::string& server_name = ensure_prepared(*statement);
                std::size_t begin = own_bytes_begin().size();
                wire::MessageWriter(to_server_own_).describe('S', server_name);
                own_bytes_end(begin);
            }
            responses_.push(Kind::Describe, false);
            break;
        }
        case wire::frontend::kClose: {
            auto target = wire::parse_close(frame);
            if (!target) {
                return false;
            }
            if (transaction_mode_ && target->kind == 'S' && !target->name.empty()) {
                // The server statement stays for other clients; only this client's name goes.
                // Closing a name that does not exist is not an error in PostgreSQL either.
                statements_.remove(target->name);
                std::vector<std::uint8_t> reply;
                wire::MessageWriter(reply).close_complete();
                responses_.push_synthetic(reply);
            } else {
                append_client_bytes(frame);
                responses_.push(Kind::Close, false);
            }
            break;
        }
        case wire::frontend::kExecute:
            append_client_bytes(frame);
            responses_.push(Kind::Execute, false);
            break;
        case wire::frontend::kSync:
            append_client_bytes(frame);
            responses_.push(Kind::Sync, false);
            break;
        case wire::frontend::kFunctionCall:
            append_client_bytes(frame);
            responses_.push(Kind::Query, false);
            break;
        case wire::frontend::kFlush:
        case wire::frontend::kCopyData:
        case wire::frontend::kCopyDone:
        case wire::frontend::kCopyFail:
            append_client_bytes(frame);
            break;
        default:
            return false;
    }
    tx_.on_client_message(type);
    if (type == wire::frontend::kQuery || type == wire::frontend::kSync ||
        type == wire::frontend::kFunctionCall) {
        ++ready_sent_;
        if (!batch_settings_.empty()) {
            pending_settings_.push_back({ready_sent_, std::move(batch_settings_)});
            batch_settings_.clear();
        }
    }
    return true;
}

void ClientSession::on_parse(const wire::Frame& frame, const wire::ParseView& parse) {
    if (check_session_effects(parse.query, frame, false, parse.statement)) {
        return;  // replaced by an error
    }
    if (!transaction_mode_ || parse.statement.empty()) {
        append_client_bytes(frame);
        responses_.push(Kind::Parse, false);
        return;
    }
    if (statements_.find(parse.statement) != nullptr) {
        inject_error(wire::sqlstate::kDuplicatePreparedStatement,
                     "prepared statement \"" + std::string(parse.statement) + "\" already exists",
                     false);
        return;
    }
    auto statement = std::make_shared<PreparedStatement>();
    statement->server_name =
        sql::server_statement_name(sql::statement_digest(parse.query, parse.param_types));
    statement->query = parse.query;
    statement->param_count = parse.param_count;
    statement->param_types.assign(parse.param_types.begin(), parse.param_types.end());
    statements_.add(parse.statement, statement);
    if (server_->prepared.use(statement->server_name)) {
        std::vector<std::uint8_t> reply;
        wire::MessageWriter(reply).parse_complete();
        responses_.push_synthetic(reply,
                                  record_parse(parse.statement, statement->server_name, false));
        return;
    }
    std::size_t begin = own_bytes_begin().size();
    wire::MessageWriter writer(to_server_own_);
    writer.parse(statement->server_name, statement->query, statement->param_count,
                 statement->param_types);
    responses_.push(Kind::Parse, false,
                    record_parse(parse.statement, statement->server_name, true));
    if (auto evicted = server_->prepared.add(statement->server_name)) {
        writer.close('S', *evicted);
        responses_.push(Kind::Close, true);
    }
    own_bytes_end(begin);
}

std::uint32_t ClientSession::record_parse(std::string_view client_name,
                                          const std::string& server_name, bool on_server) {
    parse_records_.push_back({std::string(client_name), server_name, on_server});
    return static_cast<std::uint32_t>(parse_records_.size());
}

void ClientSession::undo_parse(std::uint32_t tag) {
    if (tag == 0 || tag > parse_records_.size()) {
        return;
    }
    const ParseRecord& record = parse_records_[tag - 1];
    if (record.on_server && server_) {
        server_->prepared.remove(record.server_name);
    }
    if (!record.client_name.empty()) {
        const PreparedStatement* current = statements_.find(record.client_name);
        if (current != nullptr && current->server_name == record.server_name) {
            statements_.remove(record.client_name);  // as if the Parse never happened
        }
    }
}

const std::string& ClientSession::ensure_prepared(const PreparedStatement& statement) {
    if (!server_->prepared.use(statement.server_name)) {
        std::size_t begin = own_bytes_begin().size();
        wire::MessageWriter writer(to_server_own_);
        writer.parse(statement.server_name, statement.query, statement.param_count,
                     statement.param_types);
        responses_.push(Kind::Parse, true, record_parse({}, statement.server_name, true));
        if (auto evicted = server_->prepared.add(statement.server_name)) {
            writer.close('S', *evicted);
            responses_.push(Kind::Close, true);
        }
        own_bytes_end(begin);
    }
    return statement.server_name;
}

bool ClientSession::check_session_effects(std::string_view text, const wire::Frame& frame,
                                          bool is_query, std::string_view parse_statement) {
    auto forward = [&] {
        if (is_query) {
            append_client_bytes(frame);
        }
        return false;
    };
    if (!sql::may_affect_session(text)) {
        return forward();
    }
    auto classification = rt_.statements().classify(text);
    batch_settings_.insert(batch_settings_.end(), classification->settings.begin(),
                           classification->settings.end());
    if (!transaction_mode_) {
        return forward();
    }
    std::uint32_t cleared = 0;
    for (const auto& statement : classification->statements) {
        cleared |= statement.clears;
    }
    if (cleared & sql::kPreparedStatement) {
        // DEALLOCATE ALL / DISCARD ALL drop this client's statements and every pgrouter statement
        // on this server connection.
        statements_.clear();
        server_->prepared.clear();
    }
    // DEALLOCATE of a protocol-level statement (as a Query, or as the unnamed statement of an
    // extended-protocol Parse): drop it under pgrouter's name. Inside a multi-statement string it
    // is not rewritten (the server then answers 26000).
    bool rewritable = is_query || parse_statement.empty();
    if (rewritable && classification->statements.size() == 1 &&
        classification->statements[0].kind == sql::StatementKind::Deallocate &&
        !classification->statements[0].name.empty()) {
        if (const PreparedStatement* statement =
                statements_.find(classification->statements[0].name)) {
            const std::string server_name = ensure_prepared(*statement);
            std::size_t begin = own_bytes_begin().size();
            wire::MessageWriter writer(to_server_own_);
            if (is_query) {
                writer.query("DEALLOCATE " + server_name);
            } else {
                writer.parse("", "DEALLOCATE " + server_name, 0, {});
                responses_.push(Kind::Parse, false);
            }
            own_bytes_end(begin);
            server_->prepared.remove(server_name);
            statements_.remove(classification->statements[0].name);
            return true;
        }
    }
    std::uint32_t pinning = classification->effects & kPinningEffects;
    if ((pinning == 0 && !classification->over_limit) || pinned_) {
        return forward();
    }
    const config::DatabaseConfig* database = rt_.config().find_database(database_name_);
    if (pinning != 0 && database != nullptr &&
        database->on_session_state == config::SessionStatePolicy::Error) {
        inject_error(wire::sqlstate::kFeatureNotSupported,
                     "statement \"" + shorten(text) + "\" creates a " +
                         std::string(effect_name(pinning)) +
                         ", which transaction pooling cannot keep (databases." + database_name_ +
                         ".on_session_state: error)",
                     is_query);
        return true;
    }
    pin(effect_name(pinning));
    return forward();
}

void ClientSession::inject_error(std::string_view sqlstate, const std::string& message,
                                 bool as_query) {
    std::string quoted = quote_literal(message);
    // The dollar-quote tag must not occur inside the body.
    std::string tag = "$pgrouter$";
    while (quoted.find(tag) != std::string::npos) {
        tag.insert(tag.size() - 1, "_");
    }
    std::string statement = "DO " + tag + "BEGIN RAISE EXCEPTION USING ERRCODE = '" +
                            std::string(sqlstate) + "', MESSAGE = " + quoted + "; END" + tag;
    std::size_t begin = own_bytes_begin().size();
    wire::MessageWriter writer(to_server_own_);
    if (as_query) {
        writer.query(statement);
    } else {
        // Parse and Bind succeed (hidden); Execute fails where the client's message would have.
        writer.parse("", statement, 0, {});
        responses_.push(Kind::Parse, true);
        writer.bind_unnamed();
        responses_.push(Kind::Bind, true);
        writer.execute("", 0);
        responses_.push(Kind::Execute, false);
    }
    own_bytes_end(begin);
}

void ClientSession::pin(std::string_view reason) {
    pinned_ = true;
    rt_.count_pinned();
    SPDLOG_INFO("{} pinned to server s{} for the rest of the session: {}", tag(), server_->id,
                reason);
}

}  // namespace pgrouter::session
