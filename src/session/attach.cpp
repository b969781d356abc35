// pgrouter/session/attach.cpp — the route and attach steps: the router picks a server for the
// request, the session leases a connection from that server's pool and makes a link of it; and
// the messages that need no server at all, answered here.
#include <spdlog/spdlog.h>

#include "pgrouter/session/client_session.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"

namespace pgrouter::session {

std::shared_ptr<pool::BackendPool>& ClientSession::pool_for(std::size_t server) {
    if (pools_.size() <= server) {
        pools_.resize(topology_->servers.size());
    }
    auto& pool = pools_[server];
    if (!pool) {
        pool = rt_.pools().get(topology_->servers[server], topology_->dbname, user_name_);
    }
    return pool;
}

awaitable<ClientSession::Attach> ClientSession::attach(const Request& request) {
    if (draining_ && transaction_mode_) {
        co_await send_error("FATAL", wire::sqlstate::kAdminShutdown,
                            "terminating connection due to administrator command");
        co_return Attach::Failed;
    }
    const routing::RouteRequest route = transaction_request(request);
    routing::SessionView view = session_view(request);
    routing::Decision decision = routing::route(route, view, *topology_, snapshot_status());
    pool::ConnectResult result;
    std::shared_ptr<pool::BackendPool> pool;
    for (int attempt = 0;; ++attempt) {
        if (decision.refused()) {
            SPDLOG_WARN("{} {}", tag(), routing::describe(decision, *topology_));
            refuse(request,
                   decision.reason == routing::Reason::TwoPrimaries
                       ? wire::sqlstate::kCannotConnectNow
                       : wire::sqlstate::kConnectionFailure,
                   "pgrouter: " + routing::describe(decision, *topology_));
            co_return Attach::Refused;
        }
        if (trace_ || spdlog::should_log(spdlog::level::debug)) {
            co_await trace(decision);  // a coroutine frame: only when someone listens
        }
        if (attach_idle(decision)) {
            co_return Attach::Attached;
        }
        pool = pool_for(decision.server);
        result = co_await pool->acquire(*credentials_);
        if (result.conn) {
            break;
        }
        const bool waited_out = result.error.sqlstate == wire::sqlstate::kTooManyConnections;
        // The circuit breaker counts it (only where probes run, which close it again).
        if (!waited_out && routing_ && health_[decision.server] != nullptr) {
            health_[decision.server]->record_failure(health::Clock::now());
        }
        // A read outside a transaction goes to another server once; nothing else is retried.
        const bool retry = attempt == 0 && !waited_out && routing_ &&
                           route.access == routing::Access::Read && held_begin_.empty();
        if (retry) {
            status_[decision.server].available = false;
            const std::size_t failed = decision.server;
            decision = routing::route(route, view, *topology_, status_);
            if (decision.refused() || decision.server != failed) {
                SPDLOG_INFO("{} {} failed ({}); read retried elsewhere", tag(),
                            topology_->servers[failed].to_string(), result.error.message);
                continue;
            }
        }
        SPDLOG_WARN("{} no server connection: {}", tag(), result.error.message);
        if (waited_out || !routing_) {
            co_await send_error("FATAL", result.error.sqlstate, result.error.message);
            co_return Attach::Failed;
        }
        refuse(request, result.error.sqlstate,
               "pgrouter: " + topology_->servers[decision.server].to_string() + ": " +
                   result.error.message);
        co_return Attach::Refused;
    }
    pool::BackendLease lease(pool, std::move(result.conn));
    if (closing_) {
        lease.give_back(pool::BackendPool::Return::Clean);
        co_return Attach::Failed;
    }
    on_attached(std::move(lease), decision);
    co_return Attach::Attached;
}

bool ClientSession::attach_idle(const routing::Decision& decision) {
    auto& pool = pool_for(decision.server);
    auto conn = pool->try_acquire_idle(client_.get_executor());
    if (!conn) {
        return false;
    }
    on_attached(pool::BackendLease(pool, std::move(conn)), decision);
    return true;
}

void ClientSession::on_attached(pool::BackendLease lease, const routing::Decision& decision) {
    if (!lease->socket.non_blocking()) {
        error_code ignored;
        lease->socket.non_blocking(true, ignored);  // once per connection: writes without waiting
    }
    auto link = link::ServerLink::make(std::move(lease), decision.server);
    SPDLOG_TRACE("{} attached s{}", tag(), link->id());
    link->on_replica = decision.reason == routing::Reason::ReplicaRead ||
                       decision.reason == routing::Reason::HintReplica ||
                       decision.reason == routing::Reason::SessionReplica;
    if (routing_ && topology_->routing.balance == config::Balance::LeastBusy &&
        health_[decision.server] != nullptr) {
        health_[decision.server]->begin_use();
        link->counts_in_flight = true;
    }
    // Make the server session match this client's settings before its own messages run; the
    // reply to this hidden query is swallowed by the pump.
    link->sync_settings(params_);
    if (!held_begin_.empty()) {
        // The transaction pgrouter answered BEGIN for starts here, before its first statement.
        link->send_hidden_query(held_begin_);
        link->explicit_tx = true;
        held_begin_.clear();
    }
    links_.push_back(link);
    serverless_batch_ = false;
    auto self = shared_from_this();
    asio::co_spawn(
        client_.get_executor(),
        // Moved into the pump: the pump alone holds it, and can recycle it when it is done.
        [self, link = std::move(link)]() mutable { return self->pump(std::move(link)); },
        [self](std::exception_ptr e) {
            if (e) {
                // The link (and with it the lease) is gone: its connection was closed.
                SPDLOG_ERROR("{} server reader failed", self->tag());
                self->close();
            }
        });
}

bool ClientSession::answer_without_server(const Request& request) {
    if (!transaction_mode_ || pinned_ || attached() != nullptr) {
        return false;
    }
    wire::MessageWriter writer(replies_);
    switch (request.type) {
        case wire::frontend::kClose:
            if (request.target != 'S' || request.name.empty()) {
                return false;
            }
            // The server statement stays for other clients; only this client's name goes.
            statements_.remove(request.name);
            writer.close_complete();
            serverless_batch_ = true;
            return true;
        case wire::frontend::kParse: {
            // A statement some server connection has already accepted (same text and types):
            // the server would answer ParseComplete, so pgrouter does, without waiting for a
            // server (pgbench -M prepared prepares with a blocking PQprepare).
            if (request.name.empty() || request.classification ||
                statements_.find(request.name) != nullptr) {
                return false;
            }
            auto statement = make_statement(request);
            if (!rt_.knows_statement(statement->server_name)) {
                return false;
            }
            statements_.add(request.name, std::move(statement));
            writer.parse_complete();
            serverless_batch_ = true;
            return true;
        }
        case wire::frontend::kFlush:
            return serverless_batch_;
        case wire::frontend::kSync:
            if (!serverless_batch_) {
                return false;
            }
            serverless_batch_ = false;
            // Inside a transaction whose BEGIN pgrouter holds, the client is not idle.
            writer.ready_for_query(held_failed_ ? 'E' : held_begin_.empty() ? 'I' : 'T');
            return true;
        default:
            return false;
    }
}

}  // namespace pgrouter::session
