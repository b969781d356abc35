// pgrouter/session/copy_split.cpp — COPY ... FROM STDIN into a sharded table: every shard runs the
// COPY in a transaction, each row of the client's stream goes to its key's shard as it arrives
// (a large COPY costs buffers, not memory for its rows), and the shards commit together once every
// one has taken its rows; the client gets one CopyInResponse and one "COPY n" with the total.
#include <spdlog/spdlog.h>

#include "pgrouter/io/frame_io.hpp"
#include "pgrouter/session/client_session.hpp"
#include "pgrouter/sharding/copy_rows.hpp"
#include "pgrouter/sharding/shard_hash.hpp"
#include "pgrouter/sharding/shard_key.hpp"
#include "pgrouter/sql/copy_from.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"
#include "shard_call.hpp"

namespace pgrouter::session {
namespace {

using namespace shard_io;

// Rows are sent to a shard in CopyData messages of about this size.
constexpr std::size_t kCopyChunk = 64 * 1024;

std::string quote_ident(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    return out + "\"";
}

// Opens a CopyData message in `out` (its length is written by close_copy_data()).
void open_copy_data(std::vector<std::uint8_t>& out) {
    out.push_back(static_cast<std::uint8_t>(wire::frontend::kCopyData));
    out.insert(out.end(), 4, 0);
}

void close_copy_data(std::vector<std::uint8_t>& out) {
    const std::uint32_t length = static_cast<std::uint32_t>(out.size() - 1);
    out[1] = static_cast<std::uint8_t>(length >> 24);
    out[2] = static_cast<std::uint8_t>(length >> 16);
    out[3] = static_cast<std::uint8_t>(length >> 8);
    out[4] = static_cast<std::uint8_t>(length);
}

}  // namespace

awaitable<bool> ClientSession::read_client() {
    error_code ec;
    for (;;) {
        auto space = from_client_.prepare(16 * 1024);
        const std::size_t n = client_.read_some(asio::buffer(space.data(), space.size()), ec);
        if (!ec) {
            from_client_.commit(n);
            co_return n > 0;
        }
        if (!io::would_block(ec)) {
            co_return false;
        }
        co_await client_.async_wait(Socket::wait_read, asio::redirect_error(use_awaitable, ec));
        if (ec) {
            co_return false;
        }
    }
}

awaitable<bool> ClientSession::copy_in_split() {
    const std::string query = std::move(copy_split_query_);
    copy_split_query_.clear();
    const std::size_t max_message = rt_.config().limits.max_message_bytes;
    std::vector<std::uint8_t> reply;
    wire::MessageWriter client(reply);
    auto refuse_now = [&](std::string_view sqlstate, const std::string& message) {
        client.error_response("ERROR", sqlstate, message);
        client.ready_for_query(held_begin_.empty() ? 'I' : 'E');
        held_failed_ = !held_begin_.empty();
    };
    const std::optional<sql::CopyFrom> format = sql::read_copy_from(query);
    const config::ShardingConfig& sharding = sharding_->database->sharding;
    const config::ShardedTable* table = nullptr;
    if (format) {
        for (const auto& entry : sharding.tables) {
            if (entry.name == format->table) {
                table = &entry;
            }
        }
    }
    std::string refusal;
    if (!format || table == nullptr) {
        refusal =
            "this form of COPY FROM STDIN (binary format, a WHERE clause, ...) into a "
            "sharded table";
    } else if (!held_begin_.empty() || pinned_ || !transaction_mode_) {
        refusal = "COPY into a sharded table inside a transaction or on a pinned session";
    }
    if (!refusal.empty()) {
        refuse_now(wire::sqlstate::kFeatureNotSupported,
                   "pgrouter: " + refusal + " is not supported across shards");
        co_await send_client(reply);
        co_return !closing_;
    }

    // Every shard: settings, BEGIN, the COPY; the first shard also says where the key column is
    // when the statement lists no columns.
    const std::size_t shards = database_topology_->shards.size();
    std::vector<ShardCall> calls(shards);
    for (std::size_t k = 0; k < shards; ++k) {
        if (auto failure = co_await lease_shard(k, calls[k].lease)) {
            refuse_now(failure->first, failure->second);
            co_await send_client(reply);
            co_return !closing_;
        }
        calls[k].shard = k;
    }
    const std::string relation = (format->schema.empty() ? "" : quote_ident(format->schema) + ".") +
                                 quote_ident(format->table);
    for (ShardCall& call : calls) {
        wire::MessageWriter w(call.out);
        if (call.shard == 0 && format->columns.empty()) {
            w.query("SELECT attname FROM pg_attribute WHERE attrelid = " +
                    backend::quote_literal(relation) +
                    "::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum");
            ++call.hidden;
        }
        open_call(call, params_, true);
        w.query(query);
        call.readies = call.hidden + 1;
        call.stop_at = wire::backend::kCopyInResponse;
    }
    auto run_all = [&]() -> awaitable<void> {
        // In shard order; each waits for its own answer (the shards work meanwhile).
        for (ShardCall& call : calls) {
            co_await exchange(call);
            parse(call);
        }
    };
    auto end_all = [&](bool commit) -> awaitable<bool> {
        bool ok = true;
        for (ShardCall& call : calls) {
            if (!call.lost && !co_await end_transaction(call, commit)) {
                ok = false;
            }
            call.lease.give_back(!call.lost && call.status == 'I'
                                     ? pool::BackendPool::Return::Clean
                                     : pool::BackendPool::Return::Close);
        }
        co_return ok;
    };
    // Fails the COPY on every shard still copying, rolls back, and tells the client.
    auto abort_copy = [&](std::string_view sqlstate, const std::string& message,
                          const wire::Frame* shard_error) -> awaitable<void> {
        for (ShardCall& call : calls) {
            if (call.lost || first_of(call, wire::backend::kCopyInResponse) == nullptr ||
                first_of(call, wire::backend::kReadyForQuery) != nullptr) {
                continue;  // not in COPY mode (failed, or done)
            }
            call.out.clear();
            call.in.clear();
            wire::MessageWriter(call.out).copy_fail("pgrouter: " + message);
            call.readies = 1;
            call.hidden = 0;
            call.stop_at = 0;
            co_await exchange(call);
            parse(call);
        }
        co_await end_all(false);
        if (shard_error != nullptr) {
            append(reply, shard_error->bytes);
        } else {
            client.error_response("ERROR", sqlstate, message);
        }
        client.ready_for_query('I');
    };
    co_await run_all();
    std::size_t key_column = 0;
    bool key_found = false;
    if (format->columns.empty()) {
        for (std::size_t i = 0; i < calls.front().hidden_rows.size(); ++i) {
            if (single_value(calls.front().hidden_rows[i]) == table->key) {
                key_column = i;
                key_found = true;
            }
        }
    } else {
        for (std::size_t i = 0; i < format->columns.size(); ++i) {
            if (format->columns[i] == table->key) {
                key_column = i;
                key_found = true;
            }
        }
    }
    for (ShardCall& call : calls) {
        const wire::Frame* error =
            call.hidden_error ? &*call.hidden_error : first_of(call, wire::backend::kErrorResponse);
        if (call.lost || error != nullptr) {
            std::string text = call.lost ? shard_name(call.shard) + " was lost: " + call.failure
                                         : error_text(*error);
            std::string code =
                call.lost ? std::string(wire::sqlstate::kConnectionFailure) : error_code_of(*error);
            co_await abort_copy(code, text, call.lost ? nullptr : error);
            co_await send_client(reply);
            co_return !closing_;
        }
    }
    if (!key_found) {
        co_await abort_copy(wire::sqlstate::kFeatureNotSupported,
                            "pgrouter: COPY into sharded table " + table->name +
                                " without its shard key column " + table->key +
                                " is not supported across shards",
                            nullptr);
        co_await send_client(reply);
        co_return !closing_;
    }
    // The client may send its rows now.
    append(reply, first_of(calls.front(), wire::backend::kCopyInResponse)->bytes);
    co_await send_client(reply);
    reply.clear();

    sharding::CopyRows rows(*format, key_column);
    std::vector<std::vector<std::uint8_t>> outgoing(shards);
    std::uint64_t row_number = 0;
    std::string failure;
    std::string failure_code;
    auto flush = [&](std::size_t k) -> awaitable<bool> {
        if (outgoing[k].size() <= 5) {
            co_return true;
        }
        close_copy_data(outgoing[k]);
        error_code ec;
        co_await io::write_all(calls[k].lease->socket, outgoing[k], ec);
        outgoing[k].clear();
        if (ec) {
            calls[k].lost = true;
            calls[k].failure = ec.message();
            co_return false;
        }
        co_return true;
    };
    auto route_rows = [&](const std::vector<sharding::CopyRows::Row>& ready) -> awaitable<bool> {
        for (const auto& row : ready) {
            std::vector<std::size_t> targets;
            if (row.header || row.end_marker) {
                for (std::size_t k = 0; k < shards; ++k) {
                    targets.push_back(k);
                }
            } else {
                ++row_number;
                if (!row.key) {
                    failure_code = row.missing ? "22P04" : "23502";
                    failure = row.missing ? "missing data for column \"" + table->key + "\""
                                          : "pgrouter: COPY row " + std::to_string(row_number) +
                                                " has no value for shard key " + table->key;
                    co_return false;
                }
                const sharding::KeyParse parsed = sharding::key_from_text(*row.key, table->type);
                std::optional<std::uint32_t> slot =
                    parsed.ok() ? sharding::slot_of(parsed.key, sharding) : std::nullopt;
                std::optional<std::size_t> shard =
                    slot ? sharding_->slots.shard_for(*slot) : std::nullopt;
                if (!shard) {
                    failure_code =
                        parsed.error == sharding::KeyError::OutOfRange ? "22003" : "22P02";
                    failure = sharding::describe(parsed.error, table->type, *row.key);
                    co_return false;
                }
                targets.push_back(*shard);
            }
            for (std::size_t k : targets) {
                if (outgoing[k].empty()) {
                    open_copy_data(outgoing[k]);
                }
                outgoing[k].insert(outgoing[k].end(), row.bytes.begin(), row.bytes.end());
                if (outgoing[k].size() >= kCopyChunk && !co_await flush(k)) {
                    failure_code = wire::sqlstate::kConnectionFailure;
                    failure = shard_name(k) + " was lost: " + calls[k].failure;
                    co_return false;
                }
            }
        }
        co_return true;
    };

    // The client's stream: CopyData until CopyDone or CopyFail.
    bool done = false;
    std::string client_fail;
    bool client_failed = false;
    while (!done && failure.empty()) {
        wire::DecodeResult r = wire::decode_frame(from_client_.data(), max_message);
        if (r.status == wire::DecodeStatus::NeedMore) {
            if (!co_await read_client()) {
                co_await end_all(false);
                co_return false;
            }
            continue;
        }
        if (r.status != wire::DecodeStatus::Complete) {
            co_await end_all(false);
            co_await send_error("FATAL", wire::sqlstate::kProtocolViolation,
                                "invalid message length");
            co_return false;
        }
        const std::size_t size = r.frame.bytes.size();
        switch (r.frame.type) {
            case wire::frontend::kCopyData:
                co_await route_rows(rows.feed(r.frame.body()));
                break;
            case wire::frontend::kCopyDone:
                co_await route_rows(rows.finish());
                done = true;
                break;
            case wire::frontend::kCopyFail: {
                auto body = r.frame.body();
                client_fail.assign(reinterpret_cast<const char*>(body.data()),
                                   body.empty() ? 0 : body.size() - 1);
                client_failed = true;
                done = true;
                break;
            }
            case wire::frontend::kFlush:
            case wire::frontend::kSync:
                break;  // ignored in COPY mode, as PostgreSQL does
            default:
                failure_code = wire::sqlstate::kProtocolViolation;
                failure = "unexpected message type 0x" + std::to_string(r.frame.type) +
                          " during COPY from stdin";
                break;
        }
        from_client_.consume(size);
    }
    if (client_failed) {
        co_await abort_copy(wire::sqlstate::kQueryCanceled,
                            "COPY from stdin failed: " + client_fail, nullptr);
        co_await send_client(reply);
        co_return !closing_;
    }
    if (!failure.empty()) {
        discard_copy_ = !done;  // the rest of the client's data is dropped
        co_await abort_copy(failure_code, failure, nullptr);
        co_await send_client(reply);
        co_return !closing_;
    }
    // Every row is out: CopyDone everywhere, then each shard's count.
    for (ShardCall& call : calls) {
        if (!co_await flush(call.shard)) {
            break;
        }
    }
    for (ShardCall& call : calls) {
        call.out.clear();
        call.in.clear();
        wire::MessageWriter(call.out).copy_done();
        call.readies = 1;
        call.hidden = 0;
        call.stop_at = 0;
    }
    co_await run_all();
    std::uint64_t total = 0;
    for (ShardCall& call : calls) {
        const wire::Frame* error = first_of(call, wire::backend::kErrorResponse);
        if (call.lost || error != nullptr) {
            std::vector<std::uint8_t> kept;
            if (error != nullptr) {
                kept.assign(error->bytes.begin(), error->bytes.end());
            }
            const std::string text = call.lost
                                         ? shard_name(call.shard) + " was lost: " + call.failure
                                         : error_text(*error);
            const std::string code =
                call.lost ? std::string(wire::sqlstate::kConnectionFailure) : error_code_of(*error);
            co_await end_all(false);
            client.error_response("ERROR", code,
                                  "pgrouter: " + shard_name(call.shard) + ": " + text +
                                      " (the COPY was rolled back on every shard)");
            client.ready_for_query('I');
            co_await send_client(reply);
            co_return !closing_;
        }
        if (auto tag = first_of(call, wire::backend::kCommandComplete)) {
            if (auto text = wire::parse_command_complete(*tag)) {
                std::string_view count = *text;
                count.remove_prefix(std::min(count.size(), count.rfind(' ') + 1));
                total += std::strtoull(std::string(count).c_str(), nullptr, 10);
            }
        }
    }
    if (!co_await end_all(true)) {
        client.error_response("ERROR", wire::sqlstate::kInternalError,
                              "pgrouter: COMMIT of the COPY failed on a shard after every shard "
                              "had taken its rows; other shards committed theirs");
        client.ready_for_query('I');
        co_await send_client(reply);
        co_return !closing_;
    }
    client.command_complete("COPY " + std::to_string(total));
    client.ready_for_query('I');
    co_await send_client(reply);
    co_return !closing_;
}

}  // namespace pgrouter::session
