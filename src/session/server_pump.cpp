// pgrouter/session/server_pump.cpp — the server reader of one link: reads the server connection,
// sorts replies (forwarded as received, hidden, or preceded by pgrouter's own), keeps the client's
// settings and what it has been told in step, and gives the connection back at the transaction
// boundary, before its next co_await.
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

bool streamable(char type) {
    return type == wire::backend::kDataRow || type == wire::backend::kCopyData;
}

// Failures of a read that another server can answer as well: the server shutting down or
// crashing, or a replica cancelling the read for a recovery conflict.
bool retryable_failure(const wire::Frame& frame) {
    auto fields = wire::parse_error_fields(frame);
    if (!fields) {
        return false;
    }
    std::string_view code = fields->sqlstate;
    return code == "57P01" || code == "57P02" || code == "57P03" || code == "40001";
}

}  // namespace

void ClientSession::detach(const link::ServerLink& link) {
    std::erase_if(links_, [&](const auto& held) { return held.get() == &link; });
}

void ClientSession::give_back(link::ServerLink& link, pool::BackendPool::Return how) {
    SPDLOG_TRACE("{} releasing s{}", tag(), link.id());
    detach(link);
    if (link.counts_in_flight) {
        link.counts_in_flight = false;
        health_[link.server()]->end_use();
    }
    link.give_back(how);
    wake_reader();
}

awaitable<void> ClientSession::pump(std::shared_ptr<link::ServerLink> held) {
    link::ServerLink& link = *held;
    using Return = pool::BackendPool::Return;
    for (;;) {
        if (link.retry && !closing_ && !draining_) {
            retry_elsewhere(link);
            give_back(link, Return::Close);
            link.in().consume(link.in().size());
            link::ServerLink::recycle(std::move(held));
            co_return;
        }
        if (closing_ || link.lost) {
            bool reusable = !link.lost && !link.tx().server_busy() && link.in().empty() &&
                            link.stream_remaining == 0;
            // Session mode without a reset query hands the session on as it is, by choice.
            bool reset =
                pinned_ || (!transaction_mode_ && !rt_.config().limits.server_reset_query.empty());
            give_back(link, !reusable ? Return::Close : reset ? Return::Reset : Return::Clean);
            if (link.lost && !closing_) {
                if (!fatal_forwarded_) {
                    co_await send_error("FATAL", wire::sqlstate::kConnectionFailure,
                                        "server connection lost");
                }
                close();
            }
            link.in().consume(link.in().size());
            link::ServerLink::recycle(std::move(held));
            co_return;
        }
        bool holds_between_transactions = !transaction_mode_ || pinned_;
        if (draining_ && holds_between_transactions && link.tx().at_idle_boundary() &&
            link.in().empty()) {
            give_back(link, Return::Reset);
            co_await send_error("FATAL", wire::sqlstate::kAdminShutdown,
                                "terminating connection due to administrator command");
            close();
            link::ServerLink::recycle(std::move(held));
            co_return;
        }
        // The link holds its buffer while it waits: Asio then reads with one recv() per
        // readiness and no epoll_ctl() (a readiness wait re-arms the descriptor every time).
        error_code ec;
        auto space = link.in().prepare(link::kServerReadChunk);
        std::size_t n = co_await link.socket().async_read_some(
            asio::buffer(space.data(), space.size()), asio::redirect_error(use_awaitable, ec));
        if (ec) {
            if (ec != asio::error::operation_aborted) {
                link.lost = true;
                link.retry = !link.replay.empty() && !link.answered;
                SPDLOG_INFO("{} server s{} lost: {}", tag(), link.id(), ec.message());
            }
            continue;  // loop top decides: release, report, or carry on after a drain wake-up
        }
        link.in().commit(n);
        std::size_t consumed = scan_server_bytes(link);
        wake_reader();
        if (link.lost) {
            continue;
        }
        bool release_now = transaction_mode_ && !pinned_ && link.tx().at_idle_boundary() &&
                           link.stream_remaining == 0 && consumed == link.in().size();
        if (release_now) {
            // Back to the pool before the next co_await: run() can never write into it again.
            // The link (and the bytes the replies point into) lives on in `held`.
            give_back(link, Return::Clean);
            park();
        }
        auto data = link.in().data();
        link.answered = link.answered || !link.replies().empty();
        if (link.replies().slices() == 1) {
            std::span<const std::uint8_t> only;
            link.replies().for_each(data, [&](std::span<const std::uint8_t> s) { only = s; });
            co_await send_client(only);
        } else if (!link.replies().empty()) {
            // Rare (hidden or synthetic replies in the middle): flatten once.
            std::vector<std::uint8_t> flat;
            link.replies().for_each(data, [&](std::span<const std::uint8_t> s) {
                flat.insert(flat.end(), s.begin(), s.end());
            });
            co_await send_client(flat);
        }
        link.in().consume(consumed);
        link.replies().clear();
        if (release_now) {
            if (draining_) {
                co_await send_error("FATAL", wire::sqlstate::kAdminShutdown,
                                    "terminating connection due to administrator command");
                close();
            }
            link::ServerLink::recycle(std::move(held));
            co_return;
        }
    }
}

std::size_t ClientSession::scan_server_bytes(link::ServerLink& link) {
    auto data = link.in().data();
    wire::Segments& replies = link.replies();
    backend::ResponseQueue& responses = link.responses();
    replies.clear();
    auto emit_synthetic = [&replies](std::span<const std::uint8_t> bytes) {
        replies.append_own(bytes);
    };
    std::size_t pos = 0;
    if (link.stream_remaining > 0) {
        std::size_t take = std::min(link.stream_remaining, data.size());
        link.stream_remaining -= take;
        replies.borrow(0, take);
        pos = take;
    }
    while (pos < data.size()) {
        wire::DecodeResult r = wire::decode_frame(data.subspan(pos), kMaxServerMessage);
        if (r.status == wire::DecodeStatus::NeedMore) {
            if (r.total >= kStreamThreshold && streamable(r.type) && !responses.front_hidden()) {
                // Forward the start of a big row now and the rest as it arrives.
                responses.pop_synthetic(emit_synthetic);
                link.stream_remaining = r.total - (data.size() - pos);
                replies.borrow(pos, data.size() - pos);
                pos = data.size();
            }
            break;
        }
        if (r.status != wire::DecodeStatus::Complete) {
            SPDLOG_ERROR("{} invalid message from server s{}", tag(), link.id());
            link.lost = true;
            break;
        }
        if (r.type == wire::backend::kErrorResponse && !link.replay.empty() && !link.answered &&
            retryable_failure(r.frame)) {
            // The server shut down or cancelled the read for a recovery conflict before answering:
            // nothing of it goes to the client, the read goes to another server.
            link.lost = true;
            link.retry = true;
            break;
        }
        responses.pop_synthetic(emit_synthetic);
        bool visible = responses.on_server_message(r.type);
        if (on_server_frame(link, r.frame, visible)) {
            replies.borrow(pos, r.frame.bytes.size());
        }
        pos += r.frame.bytes.size();
    }
    responses.pop_synthetic(emit_synthetic);
    responses.take_failed([&](std::uint32_t tag) {
        const auto* record = link.undo_parse(tag);
        if (record != nullptr && !record->client_name.empty()) {
            const PreparedStatement* current = statements_.find(record->client_name);
            if (current != nullptr && current->server_name == record->server_name) {
                statements_.remove(record->client_name);  // as if the Parse never happened
            }
        }
    });
    responses.take_done([&](std::uint32_t tag) {
        const auto* record = link.parse_record(tag);
        if (record != nullptr && record->on_server) {
            rt_.remember_statement(record->server_name);
        }
    });
    if (responses.empty()) {
        link.forget_parse_records();
    }
    return pos;
}

bool ClientSession::on_server_frame(link::ServerLink& link, const wire::Frame& frame,
                                    bool visible) {
    switch (frame.type) {
        case wire::backend::kReadyForQuery:
            on_ready_for_query(link, frame, !visible);
            break;
        case wire::backend::kErrorResponse:
            if (!visible) {
                // A replayed SET failed: this server session does not match the client.
                SPDLOG_WARN("{} settings replay failed on s{}", tag(), link.id());
                link.conn().params = backend::ParamState{};
            }
            error_since_ready_ = true;
            if (auto fields = wire::parse_error_fields(frame)) {
                std::string_view severity =
                    fields->severity_v.empty() ? fields->severity : fields->severity_v;
                if (severity == "FATAL" || severity == "PANIC") {
                    fatal_forwarded_ = visible;
                }
            }
            break;
        case wire::backend::kParameterStatus: {
            auto ps = wire::parse_parameter_status(frame);
            if (!ps) {
                return true;
            }
            link.conn().params.set_reported(ps->name, ps->value);
            return on_parameter_status(*ps);
        }
        case wire::backend::kDataRow:
            if (!visible && link.lsn_queries > 0) {
                on_lsn_row(link, frame);
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
    return visible;
}

bool ClientSession::on_parameter_status(const wire::ParameterStatusView& ps) {
    params_.set_reported(ps.name, ps.value);
    // Directly, a client hears of a reported setting only when its value changes. A replay on a
    // server connection last used by another client reports the client's own values again.
    for (auto& [name, value] : told_changes_) {
        if (name == ps.name) {
            if (value == ps.value) {
                return false;
            }
            value.assign(ps.value);
            return true;
        }
    }
    for (const auto& [name, value] : *told_base_) {
        if (name == ps.name && value == ps.value) {
            return false;
        }
    }
    told_changes_.emplace_back(ps.name, ps.value);
    return true;
}

void ClientSession::on_ready_for_query(link::ServerLink& link, const wire::Frame& frame,
                                       bool hidden) {
    auto status = wire::parse_ready_for_query(frame);
    link.tx().on_ready_for_query(status.value_or('I'));
    if (hidden) {
        return;  // answers pgrouter's own Query/Sync, not one the client counted
    }
    ++ready_seen_;
    while (!pending_settings_.empty() && pending_settings_.front().ready_seq <= ready_seen_) {
        if (pending_settings_.front().ready_seq == ready_seen_ && !error_since_ready_) {
            auto& changes = pending_settings_.front().changes;
            tx_settings_.insert(tx_settings_.end(), changes.begin(), changes.end());
        }
        pending_settings_.erase(pending_settings_.begin());
    }
    if (link.tx().status() == 'I') {
        if (link.wrote && routing_) {
            record_write(link);
        }
        if (!tx_settings_.empty() && !last_tag_rollback_) {
            params_.apply(tx_settings_);
            link.conn().params.copy_replayed_from(params_);
        }
        tx_settings_.clear();
    }
    error_since_ready_ = false;
}

}  // namespace pgrouter::session
