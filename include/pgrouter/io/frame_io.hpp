// pgrouter/io/frame_io.hpp — small coroutine helpers that join the pure codec to an Asio socket:
// read one whole frame, write a buffer, and a deadline that closes a socket when it expires.
// Used on start-up and control paths; the session hot path batches frames itself.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <vector>

#include "pgrouter/io/asio.hpp"
#include "pgrouter/io/read_buffer.hpp"
#include "pgrouter/wire/frame.hpp"
#include "pgrouter/wire/startup.hpp"

namespace pgrouter::io {

// Reads until `buf` starts with one complete typed message. On success status is Complete and the
// frame stays valid until `buf` is consumed or read into again. I/O errors are reported in `ec`
// (status stays NeedMore); BadLength/TooLarge are returned as they are.
awaitable<wire::DecodeResult> read_frame(Socket& socket, ReadBuffer& buf, std::size_t max_message,
                                         error_code& ec);

// Same for the length-first packets sent before the first typed message.
awaitable<wire::StartupDecode> read_startup(Socket& socket, ReadBuffer& buf, std::size_t max_packet,
                                            error_code& ec);

// A non-blocking socket had nothing to give or take right now.
inline bool would_block(const error_code& ec) noexcept {
    return ec == asio::error::would_block || ec == asio::error::try_again;
}

// Writes all of `bytes`; errors in `ec`.
// On a socket in non-blocking mode the bytes are first written without suspending (the usual
// case), and only what the socket did not take waits for it.
awaitable<void> write_all(Socket& socket, std::span<const std::uint8_t> bytes, error_code& ec);
// The same for a gather list (one sendmsg); `buffers` is consumed.
awaitable<void> write_all(Socket& socket, std::vector<asio::const_buffer>& buffers, error_code& ec);

// Closes `socket` if still alive when `timeout` expires. Must be created from a coroutine running
// on the io_context that owns `socket`; the expiry runs on that same thread.
class SocketDeadline {
public:
    SocketDeadline(Executor here, Socket& socket, std::chrono::steady_clock::duration timeout);
    ~SocketDeadline();
    SocketDeadline(const SocketDeadline&) = delete;
    SocketDeadline& operator=(const SocketDeadline&) = delete;
    bool expired() const noexcept { return state_->expired; }

private:
    struct State {
        Socket* socket = nullptr;
        bool expired = false;
    };
    Timer timer_;
    std::shared_ptr<State> state_;
};

}  // namespace pgrouter::io
