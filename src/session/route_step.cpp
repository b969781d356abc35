// pgrouter/session/route_step.cpp — the session's side of routing: the status snapshot and session
// view route() decides from, links that cannot take the next request (a replica and a write),
// refusals, trace notices, read-your-writes bookkeeping and pgrouter's own SET/SHOW pgrouter.*.
#include <spdlog/spdlog.h>

#include <charconv>

#include "pgrouter/session/client_session.hpp"
#include "pgrouter/session/pgrouter_command.hpp"
#include "pgrouter/sql/classify.hpp"
#include "pgrouter/sql/read_scan.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"

namespace pgrouter::session {
namespace {

constexpr std::string_view kLsnQuery = "SELECT pg_current_wal_insert_lsn()";

std::uint64_t next_ticket() {
    thread_local std::uint64_t ticket = 0;
    return ticket++;
}

std::int64_t ms_since(health::Clock::time_point then, health::Clock::time_point now) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - then).count();
}

}  // namespace

void ClientSession::init_routing() {
    routing_ = topology_->servers.size() > 1;
    health_.clear();
    for (const auto& address : topology_->servers) {
        health_.push_back(rt_.health().find(address));
    }
    status_.resize(topology_->servers.size());
}

RoutingContext ClientSession::routing_context() {
    RoutingContext context;
    // A sharded database needs the transaction facts (BEGIN is held until a shard is chosen).
    context.enabled = routing_ || sharding_ != nullptr;
    if (routing_) {
        const std::uint64_t version = rt_.health().write_functions_version();
        if (version != write_functions_version_) {
            write_functions_version_ = version;
            write_functions_ = rt_.health().write_functions();
            builtins_trusted_ = write_functions_ != nullptr;
            if (write_functions_) {
                for (std::string_view name : sql::scan_read_builtins()) {
                    if (write_functions_->contains(std::string(name))) {
                        builtins_trusted_ = false;
                    }
                }
            }
        }
        context.write_functions = write_functions_.get();
        context.builtins_trusted = builtins_trusted_;
    }
    return context;
}

std::span<const routing::ServerStatus> ClientSession::snapshot_status() {
    const auto now = health::Clock::now();
    for (std::size_t i = 0; i < health_.size(); ++i) {
        status_[i] = health_[i] != nullptr ? health_[i]->status(now) : routing::ServerStatus{};
    }
    if (avoid_server_ < status_.size()) {
        status_[avoid_server_].available = false;  // it just failed a read: not again
        avoid_server_ = SIZE_MAX;
    }
    return status_;
}

routing::RouteRequest ClientSession::transaction_request(const Request& request) const {
    routing::RouteRequest out = route_request(request);
    if (unit_writes_) {
        out.access = routing::Access::Write;
        out.cause = routing::WriteCause::Statement;
    }
    if (first_statement_reads_ && out.access == routing::Access::Transaction) {
        out.access = routing::Access::ReadOnlyTransaction;  // BEGIN; SELECT ... in one batch
        return out;
    }
    if (held_begin_.empty()) {
        return out;
    }
    // The first statement of a transaction whose BEGIN pgrouter held decides where it runs.
    if (request.sets_read_only) {
        out.access = routing::Access::ReadOnlyTransaction;
    } else if (out.access == routing::Access::Read &&
               topology_->routing.transactions == config::TransactionRouting::ByFirstStatement) {
        out.access = routing::Access::ReadOnlyTransaction;
    } else if (out.access != routing::Access::Write) {
        out.access = routing::Access::Transaction;
    }
    return out;
}

routing::SessionView ClientSession::session_view(const Request& request) {
    routing::SessionView view;
    // Session mode holds one server connection for the whole session: the primary.
    view.pinned = pinned_ || !transaction_mode_;
    view.route = route_mode_;
    view.ticket = next_ticket();
    if (!routing_) {
        return view;
    }
    const config::RoutingConfig& rules = topology_->routing;
    std::string_view key;
    if (rules.consistency_scope == config::ConsistencyScope::User) {
        key = user_key_;
    } else if (rules.consistency_scope == config::ConsistencyScope::Key) {
        key = !request.consistency_key.empty() ? request.consistency_key
                                               : std::string_view(consistency_key_);
    }
    if (!wrote_ && key.empty()) {
        return view;  // nothing written that this read must see
    }
    const auto now = health::Clock::now();
    const auto window = rules.pin_after_write.count();
    bool known = false;
    health::Clock::time_point at{};
    std::uint64_t lsn = 0;
    bool pending = false;
    auto consider = [&](health::Clock::time_point wrote_at, std::uint64_t wrote_lsn) {
        if (!known || wrote_at > at) {
            at = wrote_at;
        }
        known = true;
        if (wrote_lsn == 0) {
            // Not learnt (yet): within the window the primary answers; after it, as in window
            // mode, the write is taken to be replayed.
            pending = pending || ms_since(wrote_at, now) < window;
        }
        lsn = std::max(lsn, wrote_lsn);
    };
    if (wrote_) {
        consider(wrote_at_, write_lsn_);
    }
    if (!key.empty()) {
        if (auto entry = rt_.writes().find(key)) {
            consider(entry->wrote_at, entry->lsn);
        }
    }
    if (!known) {
        return view;
    }
    view.since_write_ms = ms_since(at, now);
    view.lsn_pending = pending;
    view.required_lsn = lsn;
    if (lsn != 0 && rules.consistency == config::Consistency::Lsn) {
        rt_.health().want_lsn(lsn);
    }
    return view;
}

bool ClientSession::accepts(const link::ServerLink& link, const Request& request) const {
    if (sharding_ != nullptr && transaction_mode_ && !pinned_ && !link.explicit_tx &&
        !link.tx().batch_open() &&
        (request.type == wire::frontend::kQuery || request.type == wire::frontend::kParse ||
         request.type == wire::frontend::kBind)) {
        return false;  // a new unit outside a transaction picks its shard once this one is done
    }
    if (!link.on_replica || request.neutral) {
        return true;
    }
    if (link.explicit_tx && !link.tx_ending) {
        return true;  // the replica's own answer (25006 for a write) is PostgreSQL's
    }
    const routing::RouteRequest route = route_request(request);
    return (route.access == routing::Access::Read ||
            route.access == routing::Access::ReadOnlyTransaction) &&
           route.hint != routing::Hint::Primary && route_mode_ != routing::SessionRoute::Primary;
}

awaitable<bool> ClientSession::wait_for_link(bool until_idle) {
    if (attached() != nullptr && !co_await flush_to_server()) {
        co_return false;
    }
    if (!link_wait_) {
        link_wait_ = std::make_unique<Timer>(client_.get_executor());
    }
    while (!closing_ && attached() != nullptr && !(until_idle && attached()->responses().empty())) {
        link_wait_->expires_at(Timer::time_point::max());
        error_code ec;
        waiting_for_link_ = true;
        co_await link_wait_->async_wait(asio::redirect_error(use_awaitable, ec));
        waiting_for_link_ = false;
    }
    co_return !closing_;
}

void ClientSession::retry_elsewhere(link::ServerLink& link) {
    SPDLOG_INFO("{} {} failed before answering a read; sending it to another server", tag(),
                topology_->servers[link.server()].to_string());
    if (health_[link.server()] != nullptr) {
        health_[link.server()]->record_failure(health::Clock::now());
    }
    replay_.swap(link.replay);
    replay_readies_ = link.replay_readies;
    avoid_server_ = link.server();
    if (waiting_in_frame_) {
        replay_requested_ = true;
        error_code ignored;
        client_.cancel(ignored);
    }
}

void ClientSession::take_replay() {
    // Rare: the unit goes back in front of whatever the client sent meanwhile.
    std::vector<std::uint8_t> rest(from_client_.data().begin(), from_client_.data().end());
    from_client_.consume(rest.size());
    auto space = from_client_.prepare(replay_.size() + rest.size());
    std::copy(replay_.begin(), replay_.end(), space.begin());
    std::copy(rest.begin(), rest.end(),
              space.begin() + static_cast<std::ptrdiff_t>(replay_.size()));
    from_client_.commit(replay_.size() + rest.size());
    ready_sent_ -= replay_readies_;  // they are counted again when sent again
    replay_.clear();
    replay_readies_ = 0;
}

bool ClientSession::first_statement_reads(std::span<const std::uint8_t> rest,
                                          std::size_t max_message) {
    // The statement after a BEGIN sent in the same batch (drivers that pipeline BEGIN with the
    // transaction's first statement, e.g. pgjdbc with autocommit off).
    while (!rest.empty()) {
        wire::DecodeResult r = wire::decode_frame(rest, max_message);
        if (r.status != wire::DecodeStatus::Complete) {
            return false;
        }
        char type = r.frame.type;
        if (type == wire::frontend::kQuery || type == wire::frontend::kParse ||
            (type == wire::frontend::kBind && r.frame.bytes.size() > wire::kHeaderSize + 1 &&
             r.frame.bytes[wire::kHeaderSize] == 0 && r.frame.bytes[wire::kHeaderSize + 1] != 0)) {
            Request next = understand(r.frame, false, statements_, transaction_mode_,
                                      rt_.statements(), routing_context());
            if (type != wire::frontend::kBind || next.prepared != nullptr) {
                return next.valid && next.route.access == routing::Access::Read;
            }
        }
        rest = rest.subspan(r.frame.bytes.size());
    }
    return false;
}

bool ClientSession::unit_may_write(std::span<const std::uint8_t> rest, std::size_t max_message) {
    while (!rest.empty()) {
        wire::DecodeResult r = wire::decode_frame(rest, max_message);
        if (r.status != wire::DecodeStatus::Complete) {
            return false;  // the rest has not arrived: if it writes, the replica refuses it
        }
        if (r.frame.type == wire::frontend::kSync) {
            return false;
        }
        Request next = understand(r.frame, false, statements_, transaction_mode_, rt_.statements(),
                                  routing_context());
        if (!next.valid || (!next.neutral && next.route.access != routing::Access::Read)) {
            return true;
        }
        rest = rest.subspan(r.frame.bytes.size());
    }
    return false;
}

void ClientSession::wake_reader() {
    if (waiting_for_link_) {
        link_wait_->cancel();
    }
}

void ClientSession::refuse(const Request& request, std::string_view sqlstate,
                           const std::string& message) {
    wire::MessageWriter writer(replies_);
    writer.error_response("ERROR", sqlstate, message);
    const char status = held_begin_.empty() ? 'I' : 'E';
    held_failed_ = !held_begin_.empty();
    if (request.type == wire::frontend::kQuery) {
        writer.ready_for_query(status);
        return;
    }
    if (request.type == wire::frontend::kSync) {
        writer.ready_for_query(status);
        return;
    }
    skip_until_sync_ = true;
    skip_status_ = status;
}

awaitable<void> ClientSession::trace(const routing::Decision& decision) {
    if (spdlog::should_log(spdlog::level::debug)) {
        SPDLOG_DEBUG("{} routed to {}", tag(), routing::describe(decision, *topology_));
    }
    if (trace_) {
        // Straight out: nothing is attached, so it precedes every byte of the result.
        std::vector<std::uint8_t> notice;
        wire::MessageWriter(notice).notice_response(
            "NOTICE", "00000", "pgrouter: " + routing::describe(decision, *topology_));
        co_await send_client(notice);
    }
}

void ClientSession::record_write(link::ServerLink& link) {
    link.wrote = false;
    const auto now = health::Clock::now();
    wrote_ = true;
    wrote_at_ = now;
    write_lsn_ = 0;
    const config::RoutingConfig& rules = topology_->routing;
    write_key_.clear();
    if (rules.consistency_scope == config::ConsistencyScope::User) {
        write_key_ = user_key_;
    } else if (rules.consistency_scope == config::ConsistencyScope::Key) {
        write_key_ = !last_statement_key_.empty() ? last_statement_key_ : consistency_key_;
    }
    last_statement_key_.clear();
    if (!write_key_.empty()) {
        write_ticket_ = rt_.writes().record_write(write_key_, now);
    }
}

void ClientSession::finish_unit(link::ServerLink& link, char last_type) {
    // In lsn mode a unit of work that may have written ends with a hidden query for the WAL
    // position: the client's own ReadyForQuery goes out first, the position follows.
    if (!routing_ || link.on_replica || !link.wrote ||
        topology_->routing.consistency != config::Consistency::Lsn) {
        return;
    }
    if (last_type != wire::frontend::kQuery && last_type != wire::frontend::kSync) {
        return;
    }
    if (link.explicit_tx && !link.tx_ending) {
        return;
    }
    link.send_hidden_query(kLsnQuery);
    ++link.lsn_queries;
}

void ClientSession::on_lsn_row(link::ServerLink& link, const wire::Frame& frame) {
    --link.lsn_queries;
    // DataRow: int16 column count, int32 length, bytes.
    auto body = frame.bytes.subspan(wire::kHeaderSize);
    if (body.size() < 6) {
        return;
    }
    const std::int32_t length = static_cast<std::int32_t>(wire::read_u32(body.data() + 2));
    if (length <= 0 || static_cast<std::size_t>(length) > body.size() - 6) {
        return;
    }
    auto lsn = health::parse_lsn(std::string_view(reinterpret_cast<const char*>(body.data() + 6),
                                                  static_cast<std::size_t>(length)));
    SPDLOG_DEBUG("{} wal position after write: {}", tag(), lsn ? health::format_lsn(*lsn) : "?");
    if (!lsn || !wrote_) {
        return;
    }
    if (*lsn > write_lsn_) {
        write_lsn_ = *lsn;
    }
    if (!write_key_.empty()) {
        rt_.writes().record_lsn(write_key_, *lsn, write_ticket_);
    }
    rt_.health().want_lsn(*lsn);
}

void ClientSession::finish_local_query(const char* tag, char status) {
    wire::MessageWriter writer(replies_);
    writer.command_complete(tag);
    writer.ready_for_query(status);
}

bool ClientSession::answer_locally(const Request& request) {
    if (request.type != wire::frontend::kQuery || !transaction_mode_ || pinned_) {
        return false;
    }
    const char status = attached() != nullptr ? attached()->tx().status()
                        : held_failed_        ? 'E'
                        : held_begin_.empty() ? 'I'
                                              : 'T';
    PgrouterCommand command = parse_pgrouter_command(request.text);
    wire::MessageWriter writer(replies_);
    if (command.verb != PgrouterCommand::Verb::None) {
        std::string_view name = command.name;
        std::string* text = nullptr;
        const bool shard_setting = name == "shard" || name == "shard_key";
        if (shard_setting && sharding_ == nullptr && command.verb != PgrouterCommand::Verb::Show) {
            writer.error_response("ERROR", "0A000",
                                  "pgrouter: database \"" + database_name_ + "\" is not sharded");
            writer.ready_for_query(status == 'T' ? 'E' : status);
            held_failed_ = held_failed_ || status == 'T';
            return true;
        }
        if (shard_setting && attached() != nullptr && command.verb != PgrouterCommand::Verb::Show) {
            writer.error_response("ERROR", "25001",
                                  "pgrouter: pgrouter." + command.name +
                                      " cannot change inside a transaction that runs on a shard");
            writer.ready_for_query('E');
            return true;
        }
        if (name != "route" && name != "trace" && name != "consistency_key" && !shard_setting) {
            writer.error_response(
                "ERROR", "42704",
                "unrecognized configuration parameter \"pgrouter." + command.name + "\"");
            writer.ready_for_query(status == 'T' ? 'E' : status);
            held_failed_ = held_failed_ || status == 'T';
            return true;
        }
        if (command.verb == PgrouterCommand::Verb::Show) {
            std::string value =
                name == "route"
                    ? std::string(route_mode_ == routing::SessionRoute::Primary   ? "primary"
                                  : route_mode_ == routing::SessionRoute::Replica ? "replica"
                                                                                  : "auto")
                : name == "trace"     ? std::string(trace_ ? "on" : "off")
                : name == "shard"     ? (session_shard_ ? std::to_string(*session_shard_) : "")
                : name == "shard_key" ? session_shard_key_
                                      : consistency_key_;
            writer.row_description_text("pgrouter." + command.name);
            writer.data_row_text(value);
            finish_local_query("SHOW", status);
            return true;
        }
        std::string value = command.verb == PgrouterCommand::Verb::Reset ? "" : command.value;
        for (char& c : value) {
            if (name != "consistency_key" && name != "shard_key") {
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            }
        }
        bool ok = true;
        if (name == "route") {
            if (value.empty() || value == "auto" || value == "default") {
                route_mode_ = routing::SessionRoute::Auto;
            } else if (value == "primary") {
                route_mode_ = routing::SessionRoute::Primary;
            } else if (value == "replica") {
                route_mode_ = routing::SessionRoute::Replica;
            } else {
                ok = false;
            }
        } else if (name == "trace") {
            if (value.empty() || value == "off" || value == "false" || value == "0" ||
                value == "default") {
                trace_ = false;
            } else if (value == "on" || value == "true" || value == "1") {
                trace_ = true;
            } else {
                ok = false;
            }
        } else if (name == "shard") {
            if (value.empty() || value == "default" || value == "auto") {
                session_shard_.reset();
            } else {
                std::size_t shard = 0;
                auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), shard);
                ok = ec == std::errc{} && end == value.data() + value.size() &&
                     shard < shard_states_.size();
                if (ok) {
                    session_shard_ = shard;
                }
            }
        } else if (name == "shard_key") {
            session_shard_key_ = value;
        } else {
            text = &consistency_key_;
            *text = value;
        }
        if (!ok) {
            writer.error_response("ERROR", "22023",
                                  "invalid value for parameter \"pgrouter." + command.name +
                                      "\": \"" + command.value + "\"");
            writer.ready_for_query(status == 'T' ? 'E' : status);
            held_failed_ = held_failed_ || status == 'T';
            return true;
        }
        finish_local_query(command.verb == PgrouterCommand::Verb::Reset ? "RESET" : "SET", status);
        return true;
    }
    if (attached() != nullptr || (!routing_ && sharding_ == nullptr)) {
        return false;
    }
    const auto* classification = request.classification.get();
    if (held_failed_) {
        if (request.ends_tx) {
            held_begin_.clear();
            held_failed_ = false;
            finish_local_query("ROLLBACK", 'I');
        } else {
            writer.error_response("ERROR", "25P02",
                                  "current transaction is aborted, commands ignored until end of "
                                  "transaction block");
            writer.ready_for_query('E');
        }
        return true;
    }
    if (!held_begin_.empty() && request.ends_tx && classification != nullptr) {
        // Nothing ran in the transaction: no server needs to hear of it.
        const bool commit = classification->statements.front().kind == sql::StatementKind::Commit;
        held_begin_.clear();
        finish_local_query(commit ? "COMMIT" : "ROLLBACK", 'I');
        return true;
    }
    if (held_begin_.empty() && request.begin) {
        held_begin_.assign(request.text);
        finish_local_query("BEGIN", 'T');
        return true;
    }
    return false;
}

}  // namespace pgrouter::session
