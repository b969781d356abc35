// pgrouter/session/client_session.cpp — the data plane of one client: forwarding in both
// directions, leasing and releasing server connections, settings replay. Bytes are forwarded as
// received.
#include "pgrouter/session/client_session.hpp"

#include <spdlog/spdlog.h>

#include "pgrouter/net/frame_io.hpp"
#include "pgrouter/sql/classify.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"

namespace pgrouter::session {
namespace {

// Server messages may legitimately be up to 1 GB (a DataRow); anything claiming more is garbage.
constexpr std::size_t kMaxServerMessage = (std::size_t{1} << 30) + 1024;
// Large DataRow/CopyData messages are streamed through instead of buffered whole.
constexpr std::size_t kStreamThreshold = 64 * 1024;
constexpr std::size_t kReadChunk = 16 * 1024;

bool streamable(char type) {
    return type == wire::backend::kDataRow || type == wire::backend::kCopyData;
}

}  // namespace

ClientSession::ClientSession(Runtime& runtime, tcp::socket socket, std::uint64_t id)
    : rt_(runtime),
      client_(std::move(socket)),
      id_(id),
      from_client_(4096),
      from_server_(0),
      server_ready_(client_.get_executor()) {
    error_code ec;
    auto endpoint = client_.remote_endpoint(ec);
    peer_ = ec ? "?" : endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
    transaction_mode_ = rt_.config().pool.mode == config::PoolMode::Transaction;
    rt_.session_created();
}

ClientSession::~ClientSession() {
    if (registered_cancel_) {
        rt_.cancels().remove(cancel_key_);
    }
    if (counted_) {
        rt_.session_ended();
    }
    rt_.session_destroyed();
}

std::string ClientSession::tag() const {
    return "[c" + std::to_string(id_) + " " + peer_ + " " + database_name_ + "/" + user_name_ + "]";
}

void ClientSession::start() {
    auto self = shared_from_this();
    asio::co_spawn(
        client_.get_executor(), [self]() { return self->run(); },
        [self](std::exception_ptr e) {
            if (e) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& ex) {
                    SPDLOG_ERROR("{} session failed: {}", self->tag(), ex.what());
                }
                self->close();
            }
        });
}

void ClientSession::drain() {
    asio::post(client_.get_executor(), [self = shared_from_this()] {
        self->draining_ = true;
        if (!self->server_ && !self->closing_) {
            asio::co_spawn(
                self->client_.get_executor(),
                [self]() -> awaitable<void> {
                    co_await self->send_error("FATAL", wire::sqlstate::kAdminShutdown,
                                              "terminating connection due to administrator "
                                              "command");
                    self->close();
                },
                asio::detached);
        } else if (self->server_) {
            // Session mode holds a server between transactions: let pump() notice the boundary.
            self->server_->socket.cancel();
        }
    });
}

void ClientSession::cancel_current_query() {
    asio::post(client_.get_executor(), [self = shared_from_this()] {
        if (!self->server_) {
            return;  // nothing running: a stale cancel does nothing, as in PostgreSQL
        }
        asio::co_spawn(self->client_.get_executor(),
                       pool::send_cancel(self->server_->address, self->server_->server_key,
                                         self->rt_.config().pool.connect_timeout),
                       asio::detached);
    });
}

void ClientSession::close() {
    if (closing_) {
        return;
    }
    closing_ = true;
    if (writing_) {
        close_when_flushed_ = true;
    } else {
        error_code ignored;
        client_.shutdown(tcp::socket::shutdown_both, ignored);
        client_.close(ignored);
    }
    if (server_) {
        server_->socket.cancel();
    }
    server_ready_.cancel();
}

awaitable<void> ClientSession::send_client(std::span<const std::uint8_t> bytes) {
    if (writing_) {
        pending_.insert(pending_.end(), bytes.begin(), bytes.end());
        co_return;
    }
    writing_ = true;
    error_code ec;
    co_await net::write_all(client_, bytes, ec);
    while (!ec && !pending_.empty()) {
        inflight_.swap(pending_);
        co_await net::write_all(client_, inflight_, ec);
        inflight_.clear();
    }
    writing_ = false;
    if (ec || close_when_flushed_) {
        pending_.clear();
        error_code ignored;
        client_.shutdown(tcp::socket::shutdown_both, ignored);
        client_.close(ignored);
        if (ec) {
            close();
        }
    }
}

awaitable<void> ClientSession::send_error(std::string_view severity, std::string_view sqlstate,
                                          std::string_view message) {
    std::vector<std::uint8_t> bytes;
    wire::MessageWriter(bytes).error_response(severity, sqlstate, message);
    co_await send_client(bytes);
}

awaitable<void> ClientSession::run() {
    if (!co_await login()) {
        close();
        co_return;
    }
    const auto max_message = rt_.config().limits.max_message_bytes;
    auto self = shared_from_this();
    pump_running_ = true;
    asio::co_spawn(
        client_.get_executor(), [self]() { return self->pump(); },
        [self](std::exception_ptr e) {
            self->pump_running_ = false;
            if (e) {
                SPDLOG_ERROR("{} server pump failed", self->tag());
                self->close();
            }
        });

    while (!closing_) {
        // Take every complete message already buffered as one batch: one write to the server.
        std::size_t batch = 0;
        bool terminate = false;
        bool violation = false;
        auto data = from_client_.data();
        while (!terminate && !violation) {
            wire::DecodeResult r = wire::decode_frame(data.subspan(batch), max_message);
            if (r.status == wire::DecodeStatus::NeedMore) {
                break;
            }
            if (r.status != wire::DecodeStatus::Complete) {
                co_await send_error("FATAL", wire::sqlstate::kProtocolViolation,
                                    r.status == wire::DecodeStatus::TooLarge
                                        ? "message too large (limits.max_message_bytes)"
                                        : "invalid message length");
                violation = true;
                break;
            }
            if (r.frame.type == wire::frontend::kTerminate) {
                terminate = true;
                break;
            }
            if (!on_client_frame(r.frame)) {
                co_await send_error("FATAL", wire::sqlstate::kProtocolViolation,
                                    "invalid frontend message type or content");
                violation = true;
                break;
            }
            batch += r.frame.bytes.size();
        }
        if (violation) {
            break;
        }
        if (batch > 0) {
            if (!server_ && !co_await ensure_server()) {
                break;
            }
            std::array<asio::const_buffer, 2> buffers = {
                asio::buffer(scratch_), asio::buffer(from_client_.data().data(), batch)};
            error_code ec;
            co_await asio::async_write(server_->socket, buffers,
                                       asio::redirect_error(use_awaitable, ec));
            scratch_.clear();
            from_client_.consume(batch);
            if (ec && server_) {
                // pump() reports the loss to the client and closes the session.
                server_lost_ = true;
                server_->socket.cancel();
            }
        }
        if (terminate) {
            break;
        }
        // Read more: at least the rest of a partial message.
        wire::DecodeResult partial = wire::decode_frame(from_client_.data(), max_message);
        std::size_t want =
            partial.total > from_client_.size() ? partial.total - from_client_.size() : 0;
        auto space = from_client_.prepare(std::max(want, kReadChunk / 4));
        error_code ec;
        std::size_t n = co_await client_.async_read_some(asio::buffer(space.data(), space.size()),
                                                         asio::redirect_error(use_awaitable, ec));
        if (ec) {
            break;
        }
        from_client_.commit(n);
    }
    if (rt_.config().log.connections) {
        SPDLOG_INFO("{} closing", tag());
    }
    close();
}

bool ClientSession::on_client_frame(const wire::Frame& frame) {
    char type = frame.type;
    switch (type) {
        case wire::frontend::kQuery: {
            auto text = wire::parse_query(frame);
            if (!text) {
                return false;
            }
            if (sql::may_affect_session(*text)) {
                auto classification = rt_.statements().classify(*text);
                batch_settings_.insert(batch_settings_.end(), classification->settings.begin(),
                                       classification->settings.end());
            }
            break;
        }
        case wire::frontend::kParse: {
            auto parse = wire::parse_parse(frame);
            if (!parse) {
                return false;
            }
            if (sql::may_affect_session(parse->query)) {
                auto classification = rt_.statements().classify(parse->query);
                batch_settings_.insert(batch_settings_.end(), classification->settings.begin(),
                                       classification->settings.end());
            }
            break;
        }
        case wire::frontend::kBind:
        case wire::frontend::kDescribe:
        case wire::frontend::kExecute:
        case wire::frontend::kSync:
        case wire::frontend::kFlush:
        case wire::frontend::kClose:
        case wire::frontend::kCopyData:
        case wire::frontend::kCopyDone:
        case wire::frontend::kCopyFail:
        case wire::frontend::kFunctionCall:
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

awaitable<bool> ClientSession::ensure_server() {
    if (draining_ && transaction_mode_) {
        co_await send_error("FATAL", wire::sqlstate::kAdminShutdown,
                            "terminating connection due to administrator command");
        co_return false;
    }
    pool::ConnectResult result = co_await pool_->acquire(rt_.server_credentials(*user_));
    if (!result.conn) {
        SPDLOG_WARN("{} no server connection: {}", tag(), result.error.message);
        co_await send_error("FATAL", result.error.sqlstate, result.error.message);
        co_return false;
    }
    if (closing_) {
        pool_->release(std::move(result.conn), pool::BackendPool::Return::Clean);
        co_return false;
    }
    server_ = std::move(result.conn);
    SPDLOG_TRACE("{} leased s{}", tag(), server_->id);
    // Make the server session match this client's settings before its own messages run; the
    // reply to this hidden query is swallowed by pump().
    std::string script = sync_script(params_, server_->params);
    if (!script.empty()) {
        wire::MessageWriter(scratch_).query(script);
        tx_.on_hidden_query();
        server_->params.copy_replayed_from(params_);
    }
    server_ready_.cancel();
    co_return true;
}

awaitable<void> ClientSession::pump() {
    while (!closing_ || server_) {
        if (!server_) {
            server_ready_.expires_at(asio::steady_timer::time_point::max());
            error_code ignored;
            co_await server_ready_.async_wait(asio::redirect_error(use_awaitable, ignored));
            continue;
        }
        if (closing_ || server_lost_) {
            bool reusable = !server_lost_ && !tx_.server_busy() && from_server_.empty() &&
                            stream_remaining_ == 0;
            release_server(!reusable           ? pool::BackendPool::Return::Close
                           : transaction_mode_ ? pool::BackendPool::Return::Clean
                                               : pool::BackendPool::Return::Reset);
            if (server_lost_ && !closing_) {
                if (!fatal_forwarded_) {
                    co_await send_error("FATAL", wire::sqlstate::kConnectionFailure,
                                        "server connection lost");
                }
                close();
            }
            continue;
        }
        if (draining_ && !transaction_mode_ && tx_.at_idle_boundary() && from_server_.empty()) {
            release_server(pool::BackendPool::Return::Reset);
            co_await send_error("FATAL", wire::sqlstate::kAdminShutdown,
                                "terminating connection due to administrator command");
            close();
            continue;
        }
        auto space = from_server_.prepare(kReadChunk);
        error_code ec;
        std::size_t n = co_await server_->socket.async_read_some(
            asio::buffer(space.data(), space.size()), asio::redirect_error(use_awaitable, ec));
        if (ec) {
            if (ec != asio::error::operation_aborted) {
                server_lost_ = true;
                SPDLOG_INFO("{} server s{} lost: {}", tag(), server_->id, ec.message());
            }
            continue;  // loop top decides: release, report, or carry on after a drain wake-up
        }
        from_server_.commit(n);
        std::size_t forward_begin = 0;
        std::size_t forward_end = 0;
        bool release_now = false;
        scan_server_bytes(forward_begin, forward_end);
        if (transaction_mode_ && tx_.at_idle_boundary() && stream_remaining_ == 0 &&
            forward_end == from_server_.size()) {
            release_now = true;
        }
        if (server_lost_) {
            continue;
        }
        if (release_now) {
            // Back to the pool before the next co_await: run() can never write into it again.
            release_server(pool::BackendPool::Return::Clean);
        }
        if (forward_end > forward_begin) {
            co_await send_client(
                from_server_.data().subspan(forward_begin, forward_end - forward_begin));
        }
        from_server_.consume(forward_end);
        if (release_now && draining_) {
            co_await send_error("FATAL", wire::sqlstate::kAdminShutdown,
                                "terminating connection due to administrator command");
            close();
        }
    }
}

void ClientSession::scan_server_bytes(std::size_t& forward_begin, std::size_t& forward_end) {
    auto data = from_server_.data();
    std::size_t pos = 0;
    if (stream_remaining_ > 0) {
        std::size_t take = std::min(stream_remaining_, data.size());
        stream_remaining_ -= take;
        pos = take;
    }
    forward_begin = 0;
    while (pos < data.size()) {
        wire::DecodeResult r = wire::decode_frame(data.subspan(pos), kMaxServerMessage);
        if (r.status == wire::DecodeStatus::NeedMore) {
            if (r.total >= kStreamThreshold && streamable(r.type) && !tx_.hiding()) {
                // Forward the start of a big row now and the rest as it arrives.
                stream_remaining_ = r.total - (data.size() - pos);
                pos = data.size();
            }
            break;
        }
        if (r.status != wire::DecodeStatus::Complete) {
            SPDLOG_ERROR("{} invalid message from server s{}", tag(), server_->id);
            server_lost_ = true;
            break;
        }
        bool hidden = tx_.hiding();
        on_server_frame(r.frame, hidden);
        pos += r.frame.bytes.size();
        if (hidden && forward_begin + r.frame.bytes.size() == pos) {
            // Hidden replies always precede the client's own, so they are a prefix.
            forward_begin = pos;
        }
    }
    forward_end = pos;
}

void ClientSession::on_server_frame(const wire::Frame& frame, bool hidden) {
    switch (frame.type) {
        case wire::backend::kReadyForQuery: {
            auto status = wire::parse_ready_for_query(frame);
            if (tx_.on_ready_for_query(status.value_or('I'))) {
                break;  // hidden query done
            }
            ++ready_seen_;
            while (!pending_settings_.empty() &&
                   pending_settings_.front().ready_seq <= ready_seen_) {
                if (pending_settings_.front().ready_seq == ready_seen_ && !error_since_ready_) {
                    auto& changes = pending_settings_.front().changes;
                    tx_settings_.insert(tx_settings_.end(), changes.begin(), changes.end());
                }
                pending_settings_.pop_front();
            }
            if (tx_.status() == 'I') {
                if (!tx_settings_.empty() && !last_tag_rollback_) {
                    params_.apply(tx_settings_);
                    server_->params.copy_replayed_from(params_);
                }
                tx_settings_.clear();
            }
            error_since_ready_ = false;
            break;
        }
        case wire::backend::kErrorResponse:
            if (hidden) {
                // A replayed SET failed: this server session does not match the client.
                SPDLOG_WARN("{} settings replay failed on s{}", tag(), server_->id);
                server_->params = ParamState{};
            }
            error_since_ready_ = true;
            if (auto fields = wire::parse_error_fields(frame)) {
                std::string_view severity =
                    fields->severity_v.empty() ? fields->severity : fields->severity_v;
                if (severity == "FATAL" || severity == "PANIC") {
                    fatal_forwarded_ = !hidden;
                }
            }
            break;
        case wire::backend::kParameterStatus:
            if (auto ps = wire::parse_parameter_status(frame)) {
                server_->params.set_reported(ps->name, ps->value);
                params_.set_reported(ps->name, ps->value);
            }
            break;
        case wire::backend::kCommandComplete:
            if (auto command = wire::parse_command_complete(frame)) {
                last_tag_rollback_ = *command == "ROLLBACK";
            }
            break;
        default:
            break;
    }
}

void ClientSession::release_server(pool::BackendPool::Return how) {
    if (!server_) {
        return;
    }
    SPDLOG_TRACE("{} releasing s{}", tag(), server_->id);
    if (how != pool::BackendPool::Return::Clean) {
        from_server_.consume(from_server_.size());
        stream_remaining_ = 0;
    }
    pool_->release(std::move(server_), how);
    server_.reset();
    tx_.reset();
    from_server_.shrink_if_idle(64 * 1024);
}

}  // namespace pgrouter::session
