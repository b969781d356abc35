// pgrouter/io/asio.hpp — the only include of Boost.Asio in pgrouter, plus the aliases we use.
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>; include it first.
//
// Every I/O object and coroutine is typed on io_context's own executor: each session lives on one
// io_context run by one thread, and the type-erased any_io_executor (Asio's default) costs a
// virtual dispatch and a small allocation on every operation of the hot path.
#pragma once

// clang-format off
#include <utility>
#include <boost/asio.hpp>
// clang-format on

namespace pgrouter {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

using Executor = asio::io_context::executor_type;
template <typename T = void>
using awaitable = asio::awaitable<T, Executor>;
inline constexpr asio::use_awaitable_t<Executor> use_awaitable{};
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;
using Timer = asio::basic_waitable_timer<std::chrono::steady_clock,
                                         asio::wait_traits<std::chrono::steady_clock>, Executor>;
using SignalSet = asio::basic_signal_set<Executor>;
}  // namespace pgrouter
