// pgrouter/link/server_link.cpp — rewriting for one server connection (settings replay, pgrouter's
// statement names) and giving it back.
#include "pgrouter/link/server_link.hpp"

#include "pgrouter/wire/writer.hpp"

namespace pgrouter::link {

using Kind = backend::ResponseQueue::Kind;

ServerLink::ServerLink(pool::BackendLease lease, std::size_t server)
    : lease_(std::move(lease)), server_(server), in_(0) {}

void ServerLink::sync_settings(const backend::ParamState& wanted) {
    script_.clear();
    append_sync_script(wanted, lease_->params, script_);
    if (script_.empty()) {
        return;
    }
    send_hidden_query(script_);
    lease_->params.copy_replayed_from(wanted);
}

void ServerLink::send_hidden_query(std::string_view sql) {
    const std::size_t mark = out_.own_mark();
    wire::MessageWriter(out_.own()).query(sql);
    out_.commit_own(mark);
    responses_.push(Kind::Query, true);
    tx_.on_hidden_query();
}

const std::string& ServerLink::ensure_prepared(const backend::PreparedStatement& statement) {
    if (!lease_->prepared.use(statement.server_name)) {
        write_parse(statement, true, {});
    }
    return statement.server_name;
}

void ServerLink::send_parse(const backend::PreparedStatement& statement,
                            std::string_view client_name) {
    write_parse(statement, false, client_name);
}

void ServerLink::write_parse(const backend::PreparedStatement& statement, bool hidden,
                             std::string_view client_name) {
    const std::size_t mark = out_.own_mark();
    wire::MessageWriter writer(out_.own());
    writer.parse(statement.server_name, statement.query, statement.param_count,
                 statement.param_types);
    responses_.push(Kind::Parse, hidden, record_parse(client_name, statement.server_name, true));
    // The LRU keeps the connection's statements bounded: the one it drops is closed (hidden).
    if (auto evicted = lease_->prepared.add(statement.server_name)) {
        writer.close('S', *evicted);
        responses_.push(Kind::Close, true);
    }
    out_.commit_own(mark);
}

std::uint32_t ServerLink::record_parse(std::string_view client_name, const std::string& server_name,
                                       bool on_server) {
    parse_records_.push_back({std::string(client_name), server_name, on_server});
    return static_cast<std::uint32_t>(parse_records_.size());
}

const ServerLink::ParseRecord* ServerLink::undo_parse(std::uint32_t tag) {
    const ParseRecord* record = parse_record(tag);
    if (record != nullptr && record->on_server) {
        lease_->prepared.remove(record->server_name);
    }
    return record;
}

namespace {

// Finished links of this thread. Small: links in use at the same moment on one thread.
constexpr std::size_t kLinkCacheLimit = 16;

std::vector<std::shared_ptr<ServerLink>>& link_cache() {
    thread_local std::vector<std::shared_ptr<ServerLink>> cache;
    return cache;
}

}  // namespace

std::shared_ptr<ServerLink> ServerLink::make(pool::BackendLease lease, std::size_t server) {
    auto& cache = link_cache();
    if (cache.empty()) {
        return std::make_shared<ServerLink>(std::move(lease), server);
    }
    std::shared_ptr<ServerLink> link = std::move(cache.back());
    cache.pop_back();
    link->reuse(std::move(lease), server);
    return link;
}

void ServerLink::recycle(std::shared_ptr<ServerLink> link) noexcept {
    auto& cache = link_cache();
    if (link.use_count() != 1 || link->lease_ || !link->in_.empty() ||
        cache.size() >= kLinkCacheLimit) {
        return;  // still shared, or not finished: destroyed when the last holder lets go
    }
    try {
        cache.push_back(std::move(link));
    } catch (...) {
        // Out of memory for the cache slot: the link is simply destroyed.
    }
}

void ServerLink::reuse(pool::BackendLease lease, std::size_t server) {
    lease_ = std::move(lease);
    server_ = server;
    out_.clear();
    replies_.clear();
    tx_.reset();
    responses_.reset();
    parse_records_.clear();
    stream_remaining = 0;
    lost = false;
    on_replica = false;
    explicit_tx = false;
    tx_ending = false;
    wrote = false;
    lsn_queries = 0;
    counts_in_flight = false;
    retryable = false;
    replay.clear();
    replay_readies = 0;
    answered = false;
    retry = false;
}

ServerLink::~ServerLink() {
    // Idle clients hold no server buffer (thousands of them would otherwise keep 16 KiB each).
    in_.consume(in_.size());
    in_.release_to_cache(kServerReadChunk);
}

}  // namespace pgrouter::link
