// src/sql/parse_budget.hpp — keeps libpg_query from overflowing the stack. Its tree output and the
// protobuf-c unpack/free recurse once per nesting level (about 2 KB each), so "SELECT 1+1+...+1"
// with a few thousand terms would crash an 8 MB thread. Internal header; no allocation.
#pragma once

#include <cstddef>
#include <string_view>

namespace pgrouter::sql::budget {

// Stack bytes one depth unit may take in parse + unpack + free (measured: about 1.9 KB per
// nesting level for libpg_query 15-4.0.0; units are an upper bound on levels).
inline constexpr std::size_t kStackBytesPerUnit = 2560;
// Left free for everything around the parse (our frames, libc, signal handlers).
inline constexpr std::size_t kStackReserve = 256 * 1024;
// Largest stack a helper thread gets; deeper texts are not parsed at all.
inline constexpr std::size_t kMaxHelperStack = 256u * 1024 * 1024;

// An upper bound on the depth of the parse tree of `text`, in units: every word, operator
// character or unknown byte counts 1, every '(' or '[' counts 3, literals, quoted identifiers,
// parameters, commas, closing brackets, whitespace and comments count 0. Follows the lexical
// rules of libpg_query (standard_conforming_strings on), so nothing it calls a literal or a
// comment is code to the parser.
std::size_t depth_units(std::string_view text) noexcept;

// Bytes of stack left below the caller on this thread (0 when that cannot be found out).
std::size_t stack_remaining() noexcept;

// Runs fn(arg) on a new thread with a `stack_bytes` stack and waits for it to finish. False when
// no such thread could be started. fn must not throw.
bool run_on_helper_thread(std::size_t stack_bytes, void (*fn)(void*), void* arg) noexcept;

}  // namespace pgrouter::sql::budget
