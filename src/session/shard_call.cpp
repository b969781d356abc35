// src/session/shard_call.cpp — reading and writing one shard's part of a statement run on several
// shards (shard_call.hpp).
#include "shard_call.hpp"

#include <algorithm>

#include "pgrouter/io/frame_io.hpp"
#include "pgrouter/pool/backend_conn.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"

namespace pgrouter::session::shard_io {
namespace {

constexpr std::size_t kShardReadMin = 4 * 1024;

}  // namespace

bool sorts_bytewise(std::string_view collation) {
    return collation == "C" || collation == "POSIX" || collation == "C.UTF-8" ||
           collation == "C.utf8";
}

void open_call(ShardCall& call, const backend::ParamState& wanted, bool begin) {
    wire::MessageWriter w(call.out);
    const std::string script = backend::sync_script(wanted, call.lease->params);
    if (!script.empty()) {
        w.query(script);
        ++call.hidden;
        call.lease->params.copy_replayed_from(wanted);
    }
    if (begin) {
        w.query("BEGIN");
        ++call.hidden;
    }
}

std::span<const std::uint8_t> bind_rest(const wire::Frame& bind) {
    auto view = wire::parse_bind(bind);
    if (!view) {
        return {};
    }
    const auto body = bind.body();
    const auto at = static_cast<std::size_t>(view->statement.data() -
                                             reinterpret_cast<const char*>(body.data())) +
                    view->statement.size() + 1;
    return body.subspan(at);
}

awaitable<void> exchange(ShardCall& call) {
    Socket& socket = call.lease->socket;
    error_code ec;
    co_await io::write_all(socket, call.out, ec);
    std::uint32_t seen = 0;
    std::size_t scanned = 0;
    std::size_t had = call.in.size();
    bool stopped = false;
    while (!ec && seen < call.readies && !stopped) {
        // Grows by doubling (resize() zero-fills: a small answer costs a small buffer).
        if (call.in.size() - had < kShardReadMin) {
            call.in.resize(std::max(had + kShardReadMin, call.in.size() * 2));
        }
        const std::size_t n = co_await socket.async_read_some(
            asio::buffer(call.in.data() + had, call.in.size() - had),
            asio::redirect_error(use_awaitable, ec));
        had += ec ? 0 : n;
        const std::span<const std::uint8_t> received(call.in.data(), had);
        for (;;) {
            wire::DecodeResult r = wire::decode_frame(received.subspan(scanned), SIZE_MAX);
            if (r.status != wire::DecodeStatus::Complete) {
                break;
            }
            scanned += r.frame.bytes.size();
            if (r.frame.type == wire::backend::kReadyForQuery && r.frame.body().size() == 1) {
                ++seen;
                call.status = static_cast<char>(r.frame.body()[0]);
            } else if (call.stop_at != 0 && r.frame.type == call.stop_at && seen >= call.hidden) {
                stopped = true;
                break;
            }
        }
    }
    call.in.resize(had);
    if (ec) {
        call.lost = true;
        call.failure = ec.message();
    }
}

// Splits what a shard answered into its hidden part and the frames that answer the client.
void parse(ShardCall& call) {
    call.frames.clear();
    call.hidden_rows.clear();
    call.hidden_error.reset();
    std::span<const std::uint8_t> bytes(call.in);
    std::uint32_t readies = 0;
    std::size_t at = 0;
    while (at < bytes.size()) {
        wire::DecodeResult r = wire::decode_frame(bytes.subspan(at), SIZE_MAX);
        if (r.status != wire::DecodeStatus::Complete) {
            break;
        }
        at += r.frame.bytes.size();
        const char type = r.frame.type;
        if (type == wire::backend::kParameterStatus) {
            if (auto ps = wire::parse_parameter_status(r.frame)) {
                call.lease->params.set_reported(ps->name, ps->value);
            }
            continue;
        }
        if (readies < call.hidden) {
            if (type == wire::backend::kDataRow) {
                call.hidden_rows.push_back(r.frame);
            }
            if (type == wire::backend::kErrorResponse && !call.hidden_error) {
                call.hidden_error = r.frame;
            }
            readies += type == wire::backend::kReadyForQuery;
            continue;
        }
        call.frames.push_back(r.frame);
    }
}

awaitable<bool> end_transaction(ShardCall& call, bool commit) {
    ShardCall ending;
    ending.lease = std::move(call.lease);
    wire::MessageWriter(ending.out).query(commit ? "COMMIT" : "ROLLBACK");
    ending.readies = 1;
    ending.hidden = 1;
    co_await exchange(ending);
    parse(ending);
    call.lease = std::move(ending.lease);
    call.status = ending.status;
    call.lost = call.lost || ending.lost;
    co_return !ending.lost && !ending.hidden_error;
}

const wire::Frame* first_of(const ShardCall& call, char type) {
    for (const auto& frame : call.frames) {
        if (frame.type == type) {
            return &frame;
        }
    }
    return nullptr;
}

std::string error_text(const wire::Frame& error) {
    auto fields = wire::parse_error_fields(error);
    return fields ? std::string(fields->message) : std::string("error");
}

std::string error_code_of(const wire::Frame& error) {
    auto fields = wire::parse_error_fields(error);
    return fields && !fields->sqlstate.empty() ? std::string(fields->sqlstate)
                                               : std::string(wire::sqlstate::kInternalError);
}

void append(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
}

std::string single_value(const wire::Frame& row) {
    // int16 column count, int32 length (-1: NULL), the bytes.
    auto body = row.body();
    if (body.size() < 6 || static_cast<std::int32_t>(wire::read_u32(body.data() + 2)) < 0) {
        return {};
    }
    return std::string(reinterpret_cast<const char*>(body.data()) + 6, body.size() - 6);
}

awaitable<void> exchange_all(std::vector<ShardCall>& calls) {
    if (calls.empty()) {
        co_return;
    }
    // Every shard works at once; this waits on a timer that the last exchange cancels.
    struct Wait {
        explicit Wait(const Socket::executor_type& executor) : timer(executor) {}
        Timer timer;
        std::size_t pending = 0;
    };
    auto wait = std::make_shared<Wait>(calls.front().lease->socket.get_executor());
    wait->pending = calls.size();
    for (ShardCall& call : calls) {
        asio::co_spawn(wait->timer.get_executor(), exchange(call), [wait](std::exception_ptr) {
            if (--wait->pending == 0) {
                wait->timer.cancel();
            }
        });
    }
    while (wait->pending > 0) {
        wait->timer.expires_at(Timer::time_point::max());
        error_code ec;
        co_await wait->timer.async_wait(asio::redirect_error(use_awaitable, ec));
    }
}

}  // namespace pgrouter::session::shard_io
