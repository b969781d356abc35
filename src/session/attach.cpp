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

awaitable<bool> ClientSession::attach(const Request& request) {
    if (draining_ && transaction_mode_) {
        co_await send_error("FATAL", wire::sqlstate::kAdminShutdown,
                            "terminating connection due to administrator command");
        co_return false;
    }
    routing::SessionView view;
    view.pinned = pinned_;
    const routing::Decision decision = routing::route(route_request(request), view, *topology_, {});
    SPDLOG_TRACE("{} routed to server {}: {}", tag(), decision.server,
                 routing::to_string(decision.reason));
    if (attach_idle(decision)) {
        co_return true;
    }
    auto pool = pool_for(decision.server);
    pool::ConnectResult result = co_await pool->acquire(*credentials_);
    pool::BackendLease lease(pool, std::move(result.conn));
    if (!lease) {
        SPDLOG_WARN("{} no server connection: {}", tag(), result.error.message);
        co_await send_error("FATAL", result.error.sqlstate, result.error.message);
        co_return false;
    }
    if (closing_) {
        lease.give_back(pool::BackendPool::Return::Clean);
        co_return false;
    }
    on_attached(std::move(lease), decision.server);
    co_return true;
}

bool ClientSession::attach_idle(const routing::Decision& decision) {
    auto& pool = pool_for(decision.server);
    auto conn = pool->try_acquire_idle(client_.get_executor());
    if (!conn) {
        return false;
    }
    on_attached(pool::BackendLease(pool, std::move(conn)), decision.server);
    return true;
}

void ClientSession::on_attached(pool::BackendLease lease, std::size_t server) {
    if (!lease->socket.non_blocking()) {
        error_code ignored;
        lease->socket.non_blocking(true, ignored);  // once per connection: writes without waiting
    }
    auto link = link::ServerLink::make(std::move(lease), server);
    SPDLOG_TRACE("{} attached s{}", tag(), link->id());
    // Make the server session match this client's settings before its own messages run; the
    // reply to this hidden query is swallowed by the pump.
    link->sync_settings(params_);
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
            writer.ready_for_query('I');
            return true;
        default:
            return false;
    }
}

}  // namespace pgrouter::session
