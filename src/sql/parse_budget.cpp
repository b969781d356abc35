// src/sql/parse_budget.cpp — depth estimate for a SQL text, the calling thread's remaining stack,
// and the big-stack helper thread used for deep texts. No libpg_query here.
#include "parse_budget.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstdint>

#include "lex.hpp"

namespace pgrouter::sql::budget {
namespace {

// Covers the fixed levels above the first token (RawStmt, statement node, target list, ...).
constexpr std::size_t kBaseUnits = 16;
// A thread stack larger than this is assumed to be this big (main thread with no rlimit).
constexpr std::size_t kMaxAssumedStack = 64u * 1024 * 1024;

}  // namespace

std::size_t depth_units(std::string_view text) noexcept {
    std::size_t units = kBaseUnits;
    std::size_t pos = 0;
    while (pos < text.size()) {
        char c = text[pos];
        if (lex::is_space(c) || lex::starts_comment(text, pos)) {
            pos = lex::skip_blank(text, pos);
        } else if (lex::is_ident_start(c)) {
            std::size_t end = lex::ident_end(text, pos);
            ++units;
            if (end == pos + 1 && lex::lower(c) == 'e' && end < text.size() && text[end] == '\'') {
                end = lex::quoted_end(text, end + 1, '\'', true);  // E'...' string
            }
            pos = end;
        } else if (c == '\'' || c == '"') {
            pos = lex::quoted_end(text, pos + 1, c, false);
        } else if (c == '$' && pos + 1 < text.size() && lex::is_digit(text[pos + 1])) {
            ++pos;  // $n parameter; the digits follow
        } else if (c == '$' && lex::dollar_delimiter(text, pos) > 0) {
            std::string_view delimiter = text.substr(pos, lex::dollar_delimiter(text, pos));
            std::size_t close = text.find(delimiter, pos + delimiter.size());
            pos = close == std::string_view::npos ? text.size() : close + delimiter.size();
        } else if (lex::is_digit(c)) {
            while (pos < text.size() && lex::is_digit(text[pos])) {
                ++pos;
            }
        } else {
            if (c == '(' || c == '[') {
                units += 3;
            } else if (c != ',' && c != ';' && c != ')' && c != ']') {
                ++units;
            }
            ++pos;
        }
    }
    return units;
}

std::size_t stack_remaining() noexcept {
    // The low end of this thread's stack never changes, so look it up once per thread
    // (pthread_getattr_np reads /proc/self/maps for the main thread).
    thread_local std::uintptr_t low = 0;
    thread_local bool known = false;
    // The frame address, not a local's: under ASan a local may live on a heap "fake stack".
    auto sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    if (!known) {
        known = true;
        pthread_attr_t attr;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            void* addr = nullptr;
            std::size_t size = 0;
            if (pthread_attr_getstack(&attr, &addr, &size) == 0 && addr != nullptr) {
                auto top = reinterpret_cast<std::uintptr_t>(addr) + size;
                low = top - std::min(size, kMaxAssumedStack);
            }
            pthread_attr_destroy(&attr);
        }
    }
    return low != 0 && sp > low ? sp - low : 0;
}

bool run_on_helper_thread(std::size_t stack_bytes, void (*fn)(void*), void* arg) noexcept {
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) {
        return false;
    }
    bool ok = pthread_attr_setstacksize(&attr, stack_bytes) == 0;
    pthread_t thread{};
    struct Call {
        void (*fn)(void*);
        void* arg;
    } call{fn, arg};
    auto trampoline = [](void* p) -> void* {
        auto* c = static_cast<Call*>(p);
        c->fn(c->arg);
        return nullptr;
    };
    ok = ok && pthread_create(&thread, &attr, trampoline, &call) == 0;
    pthread_attr_destroy(&attr);
    return ok && pthread_join(thread, nullptr) == 0;
}

}  // namespace pgrouter::sql::budget
