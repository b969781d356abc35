// pgrouter/session/server_pump.cpp — the server side of a client session: reads the leased server
// connection, sorts replies (forwarded as received, hidden, or preceded by pgrouter's own), tracks
// settings and transaction state, and gives the connection back at the transaction boundary.
#include <spdlog/spdlog.h>

#include "pgrouter/session/client_session.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"

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
            using Return = pool::BackendPool::Return;
            // Session mode without a reset query hands the session on as it is, by choice.
            bool reset =
                pinned_ || (!transaction_mode_ && !rt_.config().limits.server_reset_query.empty());
            release_server(!reusable ? Return::Close : reset ? Return::Reset : Return::Clean);
            if (server_lost_ && !closing_) {
                if (!fatal_forwarded_) {
                    co_await send_error("FATAL", wire::sqlstate::kConnectionFailure,
                                        "server connection lost");
                }
                close();
            }
            continue;
        }
        bool holds_between_transactions = !transaction_mode_ || pinned_;
        if (draining_ && holds_between_transactions && tx_.at_idle_boundary() &&
            from_server_.empty()) {
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
        std::size_t consumed = scan_server_bytes();
        if (server_lost_) {
            continue;
        }
        bool release_now = transaction_mode_ && !pinned_ && tx_.at_idle_boundary() &&
                           stream_remaining_ == 0 && consumed == from_server_.size();
        // Gather what the client gets before the connection (and so this buffer) can move on.
        client_buffers_.clear();
        auto data = from_server_.data();
        for (const Segment& seg : to_client_) {
            const std::uint8_t* base = seg.own ? to_client_own_.data() : data.data();
            client_buffers_.push_back(asio::buffer(base + seg.offset, seg.length));
        }
        if (release_now) {
            // Back to the pool before the next co_await: run() can never write into it again.
            release_server(pool::BackendPool::Return::Clean);
        }
        if (!client_buffers_.empty()) {
            if (client_buffers_.size() == 1) {
                co_await send_client(
                    std::span(static_cast<const std::uint8_t*>(client_buffers_[0].data()),
                              client_buffers_[0].size()));
            } else {
                // Rare (hidden or synthetic replies in the middle): flatten once.
                std::vector<std::uint8_t> flat;
                for (const auto& b : client_buffers_) {
                    auto p = static_cast<const std::uint8_t*>(b.data());
                    flat.insert(flat.end(), p, p + b.size());
                }
                co_await send_client(flat);
            }
        }
        from_server_.consume(consumed);
        to_client_.clear();
        to_client_own_.clear();
        if (release_now && draining_) {
            co_await send_error("FATAL", wire::sqlstate::kAdminShutdown,
                                "terminating connection due to administrator command");
            close();
        }
    }
}

std::size_t ClientSession::scan_server_bytes() {
    auto data = from_server_.data();
    to_client_.clear();
    to_client_own_.clear();
    auto forward = [this](std::size_t offset, std::size_t length) {
        if (!to_client_.empty() && !to_client_.back().own &&
            to_client_.back().offset + to_client_.back().length == offset) {
            to_client_.back().length += length;
        } else {
            to_client_.push_back({false, offset, length});
        }
    };
    auto emit_synthetic = [this](std::span<const std::uint8_t> bytes) {
        to_client_.push_back({true, to_client_own_.size(), bytes.size()});
        to_client_own_.insert(to_client_own_.end(), bytes.begin(), bytes.end());
    };
    std::size_t pos = 0;
    if (stream_remaining_ > 0) {
        std::size_t take = std::min(stream_remaining_, data.size());
        stream_remaining_ -= take;
        forward(0, take);
        pos = take;
    }
    while (pos < data.size()) {
        wire::DecodeResult r = wire::decode_frame(data.subspan(pos), kMaxServerMessage);
        if (r.status == wire::DecodeStatus::NeedMore) {
            if (r.total >= kStreamThreshold && streamable(r.type) && !responses_.front_hidden()) {
                // Forward the start of a big row now and the rest as it arrives.
                responses_.pop_synthetic(emit_synthetic);
                stream_remaining_ = r.total - (data.size() - pos);
                forward(pos, data.size() - pos);
                pos = data.size();
            }
            break;
        }
        if (r.status != wire::DecodeStatus::Complete) {
            SPDLOG_ERROR("{} invalid message from server s{}", tag(), server_->id);
            server_lost_ = true;
            break;
        }
        responses_.pop_synthetic(emit_synthetic);
        bool visible = responses_.on_server_message(r.type);
        on_server_frame(r.frame, !visible);
        if (visible) {
            forward(pos, r.frame.bytes.size());
        }
        pos += r.frame.bytes.size();
    }
    responses_.pop_synthetic(emit_synthetic);
    responses_.take_failed([this](std::uint32_t tag) { undo_parse(tag); });
    if (responses_.empty()) {
        parse_records_.clear();
    }
    return pos;
}

void ClientSession::on_server_frame(const wire::Frame& frame, bool hidden) {
    switch (frame.type) {
        case wire::backend::kReadyForQuery: {
            auto status = wire::parse_ready_for_query(frame);
            tx_.on_ready_for_query(status.value_or('I'));
            if (hidden) {
                break;  // answers pgrouter's own Query/Sync, not one the client counted
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
    responses_.reset();
    parse_records_.clear();
    // Idle clients hold no server buffer (thousands of them would otherwise pin 16 KiB each).
    from_server_.release_to_cache(kReadChunk);
}

}  // namespace pgrouter::session
