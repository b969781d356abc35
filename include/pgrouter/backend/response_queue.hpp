// pgrouter/backend/response_queue.hpp — what the server still owes the client, in order, so that
// replies to messages pgrouter injected can be hidden and replies pgrouter answers itself can be
// put at the right place. Pure: fed message type letters, no I/O, no allocation once warm.
//
// Each message sent to the server that the server answers adds one entry. A synthetic entry holds
// bytes pgrouter sends the client itself (e.g. ParseComplete for a statement the server already
// has); they go out as soon as every reply before them has been forwarded.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace pgrouter::backend {

class ResponseQueue {
public:
    enum class Kind : std::uint8_t {
        Parse,     // ParseComplete '1'
        Bind,      // BindComplete '2'
        Close,     // CloseComplete '3'
        Describe,  // [ParameterDescription 't'] then RowDescription 'T' or NoData 'n'
        Execute,   // rows, then CommandComplete 'C' / EmptyQueryResponse 'I' / PortalSuspended 's'
        Sync,      // ReadyForQuery 'Z'
        Query,     // everything up to ReadyForQuery 'Z' (also FunctionCall)
        Synthetic,
    };

    // `tag` (non-zero) names an entry whose request the caller must undo if the server never
    // carries it out: it failed, or an earlier error made the server skip it.
    void push(Kind kind, bool hidden, std::uint32_t tag = 0);
    void push_synthetic(std::span<const std::uint8_t> bytes, std::uint32_t tag = 0);
    // Tags of entries dropped by an error since the last call.
    template <typename Undo>
    void take_failed(Undo&& undo) {
        for (std::uint32_t tag : failed_) {
            undo(tag);
        }
        failed_.clear();
    }

    // Tags of entries the server carried out (their reply came, no error) since the last call.
    template <typename Done>
    void take_done(Done&& done) {
        for (std::uint32_t tag : done_) {
            done(tag);
        }
        done_.clear();
    }

    // Bytes of synthetic entries now at the front, to send before the next server message (or
    // right away when nothing else is owed). Pops them.
    template <typename Emit>
    void pop_synthetic(Emit&& emit) {
        while (head_ < entries_.size() && entries_[head_].kind == Kind::Synthetic) {
            const Entry& e = entries_[head_];
            emit(std::span<const std::uint8_t>(synthetic_.data() + e.offset, e.length));
            pop();
        }
    }

    // Accounts for one server message; returns true when it must be forwarded to the client,
    // false when it answers an injected message. Call pop_synthetic() first.
    bool on_server_message(char type);

    bool empty() const noexcept { return head_ == entries_.size(); }
    bool front_hidden() const noexcept { return !empty() && entries_[head_].hidden; }
    std::size_t size() const noexcept { return entries_.size() - head_; }
    void clear() noexcept;
    void reset() noexcept;  // clear() and forget failed tags (a new server connection)

private:
    struct Entry {
        Kind kind;
        bool hidden;
        std::uint32_t tag = 0;
        std::uint32_t offset = 0;  // Synthetic: bytes in synthetic_
        std::uint32_t length = 0;
    };
    void pop() noexcept;
    void pop_done() {  // pops an entry the server carried out
        if (entries_[head_].tag != 0) {
            done_.push_back(entries_[head_].tag);
        }
        pop();
    }
    void drop() {  // pops an entry the server will not carry out
        if (entries_[head_].tag != 0) {
            failed_.push_back(entries_[head_].tag);
        }
        pop();
    }
    // After an error the server skips every message up to the next Sync.
    void skip_to_sync() noexcept;

    std::vector<Entry> entries_;
    std::size_t head_ = 0;
    std::vector<std::uint8_t> synthetic_;
    std::vector<std::uint32_t> failed_;
    std::vector<std::uint32_t> done_;
};

}  // namespace pgrouter::backend
