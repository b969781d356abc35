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

// Small: every idle client keeps this much (it grows for big messages and shrinks back).
constexpr std::size_t kClientReadMin = 1024;

}  // namespace

ClientSession::ClientSession(Runtime& runtime, tcp::socket socket, std::uint64_t id)
    : rt_(runtime),
      client_(std::move(socket)),
      id_(id),
      from_client_(kClientReadMin),
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
    asio::co_spawn(
        client_.get_executor(), [self]() { return self->pump(); },
        [self](std::exception_ptr e) {
            if (e) {
                SPDLOG_ERROR("{} server pump failed", self->tag());
                self->close();
            }
        });

    while (!closing_) {
        wire::DecodeResult first = wire::decode_frame(from_client_.data(), max_message);
        if (first.status == wire::DecodeStatus::Complete) {
            if (first.frame.type == wire::frontend::kTerminate) {
                break;
            }
            if (!server_ && !lease_idle_server() && !co_await ensure_server()) {
                break;
            }
            // Every complete message already buffered goes to the server in one write.
            auto data = from_client_.data();
            std::size_t batch = 0;
            bool terminate = false;
            const char* violation = nullptr;
            while (batch < data.size()) {
                // The first message was decoded above; do not frame it twice.
                wire::DecodeResult r =
                    batch == 0 ? first : wire::decode_frame(data.subspan(batch), max_message);
                if (r.status == wire::DecodeStatus::NeedMore) {
                    break;
                }
                if (r.status != wire::DecodeStatus::Complete) {
                    violation = r.status == wire::DecodeStatus::TooLarge
                                    ? "message too large (limits.max_message_bytes)"
                                    : "invalid message length";
                    break;
                }
                if (r.frame.type == wire::frontend::kTerminate) {
                    terminate = true;
                    break;
                }
                batch_base_ = batch;
                if (!on_client_frame(r.frame)) {
                    violation = "invalid frontend message type or content";
                    break;
                }
                batch += r.frame.bytes.size();
            }
            if (violation != nullptr) {
                co_await send_error("FATAL", wire::sqlstate::kProtocolViolation, violation);
                break;
            }
            buffers_.clear();
            for (const Segment& seg : to_server_) {
                const std::uint8_t* base = seg.own ? to_server_own_.data() : data.data();
                buffers_.push_back(asio::buffer(base + seg.offset, seg.length));
            }
            error_code ec;
            if (!buffers_.empty()) {
                co_await asio::async_write(server_->socket, buffers_,
                                           asio::redirect_error(use_awaitable, ec));
            }
            to_server_.clear();
            to_server_own_.clear();
            from_client_.consume(batch);
            from_client_.shrink_if_idle(kClientReadMin);  // after a big message
            if (ec && server_) {
                // pump() reports the loss to the client and closes the session.
                server_lost_ = true;
                server_->socket.cancel();
            }
            // Replies pgrouter gives itself with nothing owed before them go out now.
            // (A vector of run()'s own: to_client_own_ belongs to pump(), whose write may be in
            // flight from it.)
            std::vector<std::uint8_t> replies;
            responses_.pop_synthetic([&replies](std::span<const std::uint8_t> bytes) {
                replies.insert(replies.end(), bytes.begin(), bytes.end());
            });
            if (!replies.empty()) {
                co_await send_client(replies);
            }
            if (terminate) {
                break;
            }
            continue;
        }
        if (first.status != wire::DecodeStatus::NeedMore) {
            co_await send_error("FATAL", wire::sqlstate::kProtocolViolation,
                                first.status == wire::DecodeStatus::TooLarge
                                    ? "message too large (limits.max_message_bytes)"
                                    : "invalid message length");
            break;
        }
        // Read at least the rest of a partial message.
        std::size_t want =
            first.total > from_client_.size() ? first.total - from_client_.size() : 0;
        auto space = from_client_.prepare(std::max(want, kClientReadMin));
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

}  // namespace pgrouter::session
