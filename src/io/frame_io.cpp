// pgrouter/io/frame_io.cpp — frame reading/writing helpers over Asio sockets; no protocol logic.
#include "pgrouter/io/frame_io.hpp"

namespace pgrouter::io {

awaitable<wire::DecodeResult> read_frame(Socket& socket, ReadBuffer& buf, std::size_t max_message,
                                         error_code& ec) {
    for (;;) {
        wire::DecodeResult r = wire::decode_frame(buf.data(), max_message);
        if (r.status != wire::DecodeStatus::NeedMore) {
            co_return r;
        }
        std::size_t want = r.total > buf.size() ? r.total - buf.size() : 4096;
        auto space = buf.prepare(std::max<std::size_t>(want, 4096));
        std::size_t n = co_await socket.async_read_some(asio::buffer(space.data(), space.size()),
                                                        asio::redirect_error(use_awaitable, ec));
        if (ec) {
            co_return r;
        }
        buf.commit(n);
    }
}

awaitable<wire::StartupDecode> read_startup(Socket& socket, ReadBuffer& buf, std::size_t max_packet,
                                            error_code& ec) {
    for (;;) {
        wire::StartupDecode r = wire::decode_startup(buf.data(), max_packet);
        if (r.status != wire::DecodeStatus::NeedMore) {
            co_return r;
        }
        auto space = buf.prepare(1024);
        std::size_t n = co_await socket.async_read_some(asio::buffer(space.data(), space.size()),
                                                        asio::redirect_error(use_awaitable, ec));
        if (ec) {
            co_return r;
        }
        buf.commit(n);
    }
}

namespace {

// Drops the first `n` bytes of `buffers`.
void drop_front(std::vector<asio::const_buffer>& buffers, std::size_t n) {
    std::size_t whole = 0;
    while (whole < buffers.size() && n >= buffers[whole].size()) {
        n -= buffers[whole].size();
        ++whole;
    }
    buffers.erase(buffers.begin(), buffers.begin() + static_cast<std::ptrdiff_t>(whole));
    if (!buffers.empty() && n > 0) {
        buffers.front() += n;
    }
}

// What a non-blocking socket takes at once (usually all of it: no operation, no completion to
// dispatch). 0 on a blocking socket, where only the asynchronous write is safe.
template <typename Buffers>
std::size_t write_now(Socket& socket, const Buffers& buffers, error_code& ec) {
    if (!socket.non_blocking() || asio::buffer_size(buffers) == 0) {
        return 0;
    }
    std::size_t n = socket.write_some(buffers, ec);
    if (would_block(ec)) {
        ec = {};
        return 0;
    }
    return n;
}

}  // namespace

awaitable<void> write_all(Socket& socket, std::span<const std::uint8_t> bytes, error_code& ec) {
    asio::const_buffer buffer(bytes.data(), bytes.size());
    const std::size_t n = write_now(socket, buffer, ec);
    if (ec || n == buffer.size()) {
        co_return;
    }
    buffer += n;
    co_await asio::async_write(socket, buffer, asio::redirect_error(use_awaitable, ec));
}

awaitable<void> write_all(Socket& socket, std::vector<asio::const_buffer>& buffers,
                          error_code& ec) {
    const std::size_t n = write_now(socket, buffers, ec);
    if (ec || n == asio::buffer_size(buffers)) {
        co_return;
    }
    drop_front(buffers, n);
    co_await asio::async_write(socket, buffers, asio::redirect_error(use_awaitable, ec));
}

SocketDeadline::SocketDeadline(Executor here, Socket& socket,
                               std::chrono::steady_clock::duration timeout)
    : timer_(here), state_(std::make_shared<State>()) {
    state_->socket = &socket;
    timer_.expires_after(timeout);
    timer_.async_wait([state = state_](error_code ec) {
        if (!ec && state->socket != nullptr) {
            state->expired = true;
            error_code ignored;
            state->socket->close(ignored);
        }
    });
}

SocketDeadline::~SocketDeadline() {
    state_->socket = nullptr;
    timer_.cancel();
}

}  // namespace pgrouter::io
