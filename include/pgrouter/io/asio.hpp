// pgrouter/io/asio.hpp — the only include of Boost.Asio in pgrouter, plus the aliases we use.
// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>; include it first.
#pragma once

// clang-format off
#include <utility>
#include <boost/asio.hpp>
// clang-format on

namespace pgrouter {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
template <typename T = void>
using awaitable = asio::awaitable<T>;
inline constexpr auto use_awaitable = asio::use_awaitable;
}  // namespace pgrouter
