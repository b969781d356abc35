// pgrouter/session/client_session.cpp — the client side of one session: lifecycle, the client
// reader that takes each message through frame → understand → route → attach → rewrite → write,
// streaming of messages too large to buffer, and the client writer. Bytes are forwarded as
// received.
#include "pgrouter/session/client_session.hpp"

#include <spdlog/spdlog.h>

#include "pgrouter/io/frame_io.hpp"
#include "pgrouter/session/pgrouter_command.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"

namespace pgrouter::session {
namespace {

// Client reads: a buffer from the thread's cache while bytes are being handled, none while idle.
constexpr std::size_t kClientReadChunk = 16 * 1024;
// Messages at least this large are streamed to the server as they arrive instead of buffered
// whole. A Query is buffered up to a larger size: its text is parsed for session effects.
constexpr std::size_t kStreamBind = 64 * 1024;
constexpr std::size_t kStreamQuery = 1024 * 1024;

std::size_t stream_threshold(char type) {
    switch (type) {
        case wire::frontend::kBind:
        case wire::frontend::kCopyData:
            return kStreamBind;
        case wire::frontend::kQuery:
            return kStreamQuery;
        default:
            return SIZE_MAX;  // buffered whole (up to limits.max_message_bytes)
    }
}

const char* violation_text(wire::DecodeStatus status) {
    return status == wire::DecodeStatus::TooLarge ? "invalid message length (larger than "
                                                    "limits.max_message_bytes)"
                                                  : "invalid message length";
}

}  // namespace

ClientSession::ClientSession(Runtime& runtime, Socket socket, std::uint64_t id)
    : rt_(runtime), client_(std::move(socket)), id_(id), from_client_(0) {
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
        [self](std::exception_ptr e) { self->on_reader_done(e); });
}

void ClientSession::on_reader_done(std::exception_ptr e) {
    if (e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            SPDLOG_ERROR("{} session failed: {}", tag(), ex.what());
        }
        close();
    }
}

namespace {

// Sessions of this thread whose reader waits in its coroutine with no server attached, in two
// generations: trim_parked() trims those parked at least one interval ago.
struct Parked {
    std::vector<std::weak_ptr<ClientSession>> current;
    std::vector<std::weak_ptr<ClientSession>> previous;
};
Parked& parked_sessions() {
    thread_local Parked parked;
    return parked;
}

}  // namespace

void ClientSession::park() {
    if (!parked_ && waiting_in_frame_) {
        parked_ = true;
        parked_sessions().current.push_back(weak_from_this());
    }
}

void ClientSession::trim_parked() {
    Parked& parked = parked_sessions();
    for (auto& weak : parked.previous) {
        auto session = weak.lock();
        if (!session) {
            continue;
        }
        session->parked_ = false;
        if (session->waiting_in_frame_ && session->attached() == nullptr &&
            session->from_client_.empty() && !session->closing_) {
            session->trim_requested_ = true;
            error_code ignored;
            session->client_.cancel(ignored);
        }
    }
    parked.previous.clear();
    parked.previous.swap(parked.current);
}

void ClientSession::wait_while_idle() {
    // No coroutine frame while idle: the session is kept alive by this handler alone.
    client_.async_wait(Socket::wait_read, [self = shared_from_this()](error_code ec) {
        if (self->closing_) {
            return;
        }
        if (ec) {
            self->close();
            return;
        }
        asio::co_spawn(
            self->client_.get_executor(), [self]() { return self->serve(true); },
            [self](std::exception_ptr e) { self->on_reader_done(e); });
    });
}

void ClientSession::drain() {
    asio::post(client_.get_executor(), [self = shared_from_this()] {
        self->draining_ = true;
        if (self->closing_) {
            return;
        }
        if (link::ServerLink* link = self->attached()) {
            // Session mode holds a server between transactions: let pump() notice the boundary.
            error_code ignored;
            link->socket().cancel(ignored);
            return;
        }
        asio::co_spawn(
            self->client_.get_executor(),
            [self]() -> awaitable<void> {
                co_await self->send_error("FATAL", wire::sqlstate::kAdminShutdown,
                                          "terminating connection due to administrator command");
                self->close();
            },
            asio::detached);
    });
}

void ClientSession::cancel_current_query() {
    asio::post(client_.get_executor(), [self = shared_from_this()] {
        link::ServerLink* link = self->attached();
        if (link == nullptr) {
            return;  // nothing running: a stale cancel does nothing, as in PostgreSQL
        }
        asio::co_spawn(self->client_.get_executor(),
                       pool::send_cancel(link->conn().address, link->conn().server_key,
                                         self->rt_.config().pool.connect_timeout),
                       asio::detached);
    });
}

void ClientSession::close() {
    if (closing_) {
        return;
    }
    closing_ = true;
    error_code ignored;
    if (writing_) {
        close_when_flushed_ = true;
        client_.cancel(ignored);  // the reader; the write in flight finishes first
    } else {
        client_.shutdown(Socket::shutdown_both, ignored);
        client_.close(ignored);
    }
    for (auto& link : links_) {
        link->socket().cancel(ignored);
    }
    wake_reader();
}

awaitable<void> ClientSession::send_client(std::span<const std::uint8_t> bytes) {
    if (writing_) {
        pending_.insert(pending_.end(), bytes.begin(), bytes.end());
        co_return;
    }
    writing_ = true;
    error_code ec;
    co_await io::write_all(client_, bytes, ec);
    while (!ec && !pending_.empty()) {
        inflight_.swap(pending_);
        co_await io::write_all(client_, inflight_, ec);
        inflight_.clear();
    }
    writing_ = false;
    if (pending_.capacity() > kClientReadChunk) {
        std::vector<std::uint8_t>().swap(pending_);  // after a burst, an idle client keeps none
        std::vector<std::uint8_t>().swap(inflight_);
    }
    if (ec || close_when_flushed_) {
        pending_.clear();
        error_code ignored;
        client_.shutdown(Socket::shutdown_both, ignored);
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
    // Reads are non-blocking after a readiness wait: an idle client holds no buffer, and a read
    // costs one system call.
    error_code ec;
    client_.non_blocking(true, ec);
    co_await serve(false);
}

awaitable<void> ClientSession::serve(bool readable) {
    const std::size_t max_message = rt_.config().limits.max_message_bytes;
    error_code ec;
    while (!closing_ && !ec) {
        if (!replay_.empty() && attached() == nullptr && client_stream_remaining_ == 0) {
            take_replay();
        }
        if (client_stream_remaining_ > 0 && !from_client_.empty()) {
            // The rest of a large message goes to the server as it arrives.
            std::size_t take = std::min(client_stream_remaining_, from_client_.size());
            client_stream_remaining_ -= take;
            if (attached() == nullptr) {
                from_client_.consume(take);  // the server is gone; the pump tells the client
                continue;
            }
            attached()->out().borrow(0, take);
            batch_base_ = 0;
            if (!co_await flush_to_server()) {
                break;
            }
            from_client_.consume(take);
            continue;
        }
        wire::DecodeResult first{};
        if (client_stream_remaining_ == 0 && !from_client_.empty()) {
            first = wire::decode_frame(from_client_.data(), max_message);
            if (first.status == wire::DecodeStatus::Complete) {
                if (!co_await handle_batch(first, max_message)) {
                    break;
                }
                if (!unit_incomplete_) {
                    continue;
                }
                unit_incomplete_ = false;  // a sharded unit decides at its Bind: read the rest
                first.total = 0;
            } else if (first.status != wire::DecodeStatus::NeedMore) {
                co_await send_error("FATAL", wire::sqlstate::kProtocolViolation,
                                    violation_text(first.status));
                break;
            } else if (first.total >= stream_threshold(first.type)) {
                bool started = false;
                if (!co_await start_stream(first, started)) {
                    break;
                }
                if (started) {
                    continue;
                }
            }
        }
        if (from_client_.empty()) {
            from_client_.release_to_cache(kClientReadChunk);
            if (!replay_.empty() && attached() == nullptr) {
                continue;  // a read to send again first
            }
            if (!readable) {
                if (attached() == nullptr && client_stream_remaining_ == 0) {
                    // Between transactions: wait without this coroutine (an idle client then
                    // costs its session object and one pending wait, nothing more).
                    wait_while_idle();
                    co_return;
                }
                // Mid-transaction the client usually answers soon: keep the frame (starting a
                // coroutine per transaction costs more). If the transaction ends and the client
                // then stays idle, trim_parked() hands it over to wait_while_idle().
                waiting_in_frame_ = true;
                co_await client_.async_wait(Socket::wait_read,
                                            asio::redirect_error(use_awaitable, ec));
                waiting_in_frame_ = false;
                if (ec == asio::error::operation_aborted && replay_requested_ && !closing_) {
                    replay_requested_ = false;
                    ec = {};
                    continue;  // a read to send again (take_replay at the top)
                }
                if (ec == asio::error::operation_aborted && trim_requested_ && !closing_) {
                    trim_requested_ = false;
                    ec = {};
                    continue;  // idle now: the check above parks it without this frame
                }
                if (ec) {
                    break;
                }
            }
            readable = false;
        }
        // A partial message below the stream threshold is read whole; anything streamed or
        // framed is read a chunk at a time.
        std::size_t want = kClientReadChunk;
        if (client_stream_remaining_ == 0 && first.total > from_client_.size() &&
            first.total < stream_threshold(first.type)) {
            want = std::max(want, first.total - from_client_.size());
        }
        auto space = from_client_.prepare(want);
        std::size_t n = client_.read_some(asio::buffer(space.data(), space.size()), ec);
        if (io::would_block(ec)) {
            // A readiness report with nothing to read (it happens). With nothing buffered, wait
            // again from the top, which gives the buffer back first; with part of a message
            // buffered, wait here (the buffer is needed anyway).
            ec = {};
            if (!from_client_.empty()) {
                co_await client_.async_wait(Socket::wait_read,
                                            asio::redirect_error(use_awaitable, ec));
            }
            continue;
        }
        if (!ec) {
            from_client_.commit(n);
        }
    }
    if (rt_.config().log.connections) {
        SPDLOG_INFO("{} closing", tag());
    }
    close();
}

awaitable<bool> ClientSession::handle_batch(const wire::DecodeResult& first,
                                            std::size_t max_message) {
    // Every complete message already buffered is handled, then written in one go.
    auto data = from_client_.data();
    std::size_t batch = 0;
    bool terminate = false;
    const char* violation = nullptr;
    char last_type = 0;
    // The unit of a replica read attached in this batch, kept to be sent again if need be.
    const link::ServerLink* retry_link = nullptr;
    std::size_t retry_from = 0;
    std::uint32_t retry_readies = 0;
    bool unit_routed = false;  // sharded: the current unit's shard was chosen as it attached
    replies_.clear();
    while (batch < data.size()) {
        // The first message was framed by serve(); do not frame it twice.
        wire::DecodeResult r =
            batch == 0 ? first : wire::decode_frame(data.subspan(batch), max_message);
        if (r.status == wire::DecodeStatus::NeedMore) {
            break;
        }
        if (r.status != wire::DecodeStatus::Complete) {
            violation = violation_text(r.status);
            break;
        }
        if (r.frame.type == wire::frontend::kTerminate) {
            terminate = true;
            break;
        }
        // frame → understand → (answered here) or route → attach → rewrite for that server
        Request request = understand(r.frame, false, statements_, transaction_mode_,
                                     rt_.statements(), routing_context());
        if (!request.valid) {
            violation = "invalid frontend message type or content";
            break;
        }
        if (discard_copy_) {
            // A COPY into shards failed: the rest of its data is dropped, as PostgreSQL does.
            if (request.type == wire::frontend::kCopyData ||
                request.type == wire::frontend::kCopyDone ||
                request.type == wire::frontend::kCopyFail) {
                batch += r.frame.bytes.size();
                continue;
            }
            discard_copy_ = false;
        }
        if (skip_until_sync_) {
            // A refused extended-protocol batch: skipped up to its Sync, as a server would.
            if (request.type == wire::frontend::kSync) {
                skip_until_sync_ = false;
                wire::MessageWriter(replies_).ready_for_query(skip_status_);
            }
            batch += r.frame.bytes.size();
            continue;
        }
        if (request.type == wire::frontend::kQuery && attached() != nullptr &&
            parse_pgrouter_command(request.text).verb != PgrouterCommand::Verb::None) {
            // Answered in order: after everything the server still owes.
            batch_base_ = batch;
            if (!co_await wait_for_link(true)) {
                co_return false;
            }
        }
        if (!answer_without_server(request) && !answer_locally(request)) {
            if (attached() != nullptr && !accepts(*attached(), request) &&
                !attached()->tx().batch_open()) {
                // A replica link and a request that may write: the replica finishes first. (In
                // the middle of an extended-protocol batch the unit cannot move: the replica
                // refuses a write itself, with 25006.)
                finish_unit(*attached(), last_type);
                if (!co_await wait_for_link(false)) {
                    co_return false;
                }
            }
            if (attached() == nullptr) {
                // Replies pgrouter gave before this point go out first: nothing is owed yet.
                if (!replies_.empty()) {
                    co_await send_client(replies_);
                    replies_.clear();
                }
                // An extended-protocol unit goes to one server up to its Sync: a read that
                // opens it goes to a replica only if nothing after it in the unit may write.
                unit_writes_ =
                    routing_ && request.type != wire::frontend::kQuery &&
                    request.route.access == routing::Access::Read &&
                    unit_may_write(data.subspan(batch + r.frame.bytes.size()), max_message);
                first_statement_reads_ =
                    request.begin && routing_ &&
                    topology_->routing.transactions ==
                        config::TransactionRouting::ByFirstStatement &&
                    first_statement_reads(data.subspan(batch + r.frame.bytes.size()), max_message);
                if (sharding_ != nullptr) {
                    // The unit's shard (or every shard, or a refusal) before a link is attached.
                    ShardStep step = route_unit(request, r.frame, data, batch, max_message);
                    if (step.action == ShardStep::Action::FanOut) {
                        const bool ok =
                            step.target.pair_shards.empty()
                                ? co_await fan_out(step.target, data.subspan(batch), max_message,
                                                   step.consumed)
                                : co_await fan_out_pairs(step.target, data.subspan(batch),
                                                         max_message, step.consumed);
                        if (!ok) {
                            co_return false;
                        }
                        step.action = ShardStep::Action::Done;
                    }
                    batch += step.consumed;
                    if (step.action == ShardStep::Action::Stop) {
                        break;
                    }
                    if (step.action == ShardStep::Action::Done) {
                        continue;
                    }
                    unit_routed = true;
                }
                Attach attached_now = co_await attach(request);
                first_statement_reads_ = false;
                unit_writes_ = false;
                if (attached_now == Attach::Failed) {
                    co_return false;
                }
                if (attached_now == Attach::Refused) {
                    batch += r.frame.bytes.size();
                    continue;
                }
                link::ServerLink& fresh = *attached();
                fresh.retryable =
                    fresh.on_replica && !fresh.explicit_tx && client_stream_remaining_ == 0;
                retry_from = batch;
                retry_link = &fresh;
                retry_readies = 0;
            }
            batch_base_ = batch;
            link::ServerLink& link = *attached();
            if (sharding_ != nullptr && !unit_routed &&
                (request.type == wire::frontend::kQuery || request.type == wire::frontend::kBind)) {
                check_shard(r.frame, request);  // a later unit on a link already attached
            }
            if (request.type == wire::frontend::kQuery || request.type == wire::frontend::kSync) {
                unit_routed = false;
            }
            if (request.may_modify) {
                link.wrote = true;
                if (!request.consistency_key.empty()) {
                    last_statement_key_.assign(request.consistency_key);
                }
            }
            const auto access = request.route.access;
            if (access == routing::Access::Transaction ||
                access == routing::Access::ReadOnlyTransaction) {
                link.explicit_tx = true;
                link.tx_ending = false;
            } else if (request.ends_tx) {
                link.tx_ending = true;
            }
            if (request.type == wire::frontend::kParse && request.name.empty()) {
                statements_.unnamed_access = static_cast<std::uint8_t>(request.route.access);
                statements_.unnamed_may_modify = request.may_modify;
                if (sharding_ != nullptr) {
                    unnamed_query_.assign(request.text);
                    unnamed_types_.assign(request.param_types.begin(), request.param_types.end());
                }
            }
            if (link.retryable &&
                ((request.type == wire::frontend::kParse && !request.name.empty()) ||
                 request.type == wire::frontend::kFunctionCall ||
                 request.type == wire::frontend::kCopyData ||
                 request.type == wire::frontend::kCopyDone ||
                 request.type == wire::frontend::kCopyFail)) {
                link.retryable = false;  // sending it twice would not be the same
            }
            retry_readies +=
                request.type == wire::frontend::kQuery || request.type == wire::frontend::kSync;
            rewrite(r.frame, request);
            last_type = request.type;
            if (sharding_ != nullptr) {
                end_prepare_only_batch(request.type);
            }
        }
        batch += r.frame.bytes.size();
    }
    if (violation != nullptr) {
        co_await send_error("FATAL", wire::sqlstate::kProtocolViolation, violation);
        co_return false;
    }
    if (attached() != nullptr) {
        link::ServerLink& link = *attached();
        constexpr std::size_t kMaxReplay = 64 * 1024;
        if (&link == retry_link && link.retryable && batch - retry_from <= kMaxReplay &&
            (last_type == wire::frontend::kQuery || last_type == wire::frontend::kSync)) {
            link.replay.assign(data.begin() + static_cast<std::ptrdiff_t>(retry_from),
                               data.begin() + static_cast<std::ptrdiff_t>(batch));
            link.replay_readies = retry_readies;
        } else {
            link.retryable = false;
            link.replay.clear();  // more than the unit it was kept for
        }
        finish_unit(link, last_type);
        if (!co_await flush_to_server()) {
            co_return false;
        }
    }
    from_client_.consume(batch);
    if (!replies_.empty()) {
        co_await send_client(replies_);
        replies_.clear();
    }
    if (!copy_split_query_.empty()) {
        co_return co_await copy_in_split();
    }
    co_return !terminate;
}

awaitable<bool> ClientSession::start_stream(const wire::DecodeResult& head, bool& started) {
    auto data = from_client_.data();
    wire::Frame frame{head.type, data};
    Request request = understand(frame, true, statements_, transaction_mode_, rt_.statements(),
                                 routing_context());
    if (!request.valid) {
        co_return true;  // the head is not all here yet (a Bind's names): read on
    }
    if (attached() != nullptr && !accepts(*attached(), request) && !attached()->tx().batch_open()) {
        if (!co_await wait_for_link(false)) {
            co_return false;
        }
    }
    if (attached() == nullptr) {
        Attach attached_now = co_await attach(request);
        if (attached_now == Attach::Failed) {
            co_return false;
        }
        if (attached_now == Attach::Refused) {
            // Nothing can take it: the client is told, and the connection ends (the rest of the
            // message cannot be skipped in step with the protocol cheaply).
            if (!replies_.empty()) {
                co_await send_client(replies_);
                replies_.clear();
            }
            co_return false;
        }
    }
    if (request.may_modify) {
        attached()->wrote = true;
    }
    started = true;
    batch_base_ = 0;
    rewrite(frame, request);
    client_stream_remaining_ = head.total - data.size();
    if (!co_await flush_to_server()) {
        co_return false;
    }
    from_client_.consume(data.size());
    co_return true;
}

awaitable<bool> ClientSession::flush_to_server() {
    // A copy: the pump may drop the link from the session (server lost) while this write runs.
    std::shared_ptr<link::ServerLink> link = links_.front();
    buffers_.clear();
    link->out().for_each(from_client_.data(), [this](std::span<const std::uint8_t> bytes) {
        buffers_.push_back(asio::buffer(bytes.data(), bytes.size()));
    });
    error_code ec;
    if (!buffers_.empty()) {
        co_await io::write_all(link->socket(), buffers_, ec);
    }
    link->out().clear();
    if (ec && !link->lost) {
        // The pump sends an unanswered read elsewhere, or reports the loss and closes.
        link->lost = true;
        link->retry = !link->replay.empty() && !link->answered;
        error_code ignored;
        link->socket().cancel(ignored);
    }
    co_return !closing_;
}

}  // namespace pgrouter::session
