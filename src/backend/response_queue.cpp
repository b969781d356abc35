// pgrouter/backend/response_queue.cpp — matching server replies to the messages that asked for
// them.
#include "pgrouter/backend/response_queue.hpp"

namespace pgrouter::backend {
namespace {

bool is_async(char type) {
    // NoticeResponse, ParameterStatus, NotificationResponse can come at any time.
    return type == 'N' || type == 'S' || type == 'A';
}

}  // namespace

void ResponseQueue::push(Kind kind, bool hidden, std::uint32_t tag) {
    entries_.push_back({kind, hidden, tag, 0, 0});
}

void ResponseQueue::push_synthetic(std::span<const std::uint8_t> bytes, std::uint32_t tag) {
    auto offset = static_cast<std::uint32_t>(synthetic_.size());
    synthetic_.insert(synthetic_.end(), bytes.begin(), bytes.end());
    entries_.push_back(
        {Kind::Synthetic, false, tag, offset, static_cast<std::uint32_t>(bytes.size())});
}

void ResponseQueue::clear() noexcept {
    entries_.clear();
    synthetic_.clear();
    head_ = 0;
}

void ResponseQueue::reset() noexcept {
    clear();
    failed_.clear();
    done_.clear();
}

void ResponseQueue::pop() noexcept {
    ++head_;
    if (head_ == entries_.size()) {
        clear();
    }
}

void ResponseQueue::skip_to_sync() noexcept {
    while (head_ < entries_.size() && entries_[head_].kind != Kind::Sync) {
        drop();
    }
}

bool ResponseQueue::on_server_message(char type) {
    if (is_async(type) || empty()) {
        return true;
    }
    const Entry front = entries_[head_];
    bool forward = !front.hidden;
    switch (type) {
        case 'E':  // ErrorResponse
            if (front.kind == Kind::Query || front.kind == Kind::Sync) {
                return forward;  // part of a simple query (still waiting for its ReadyForQuery)
            }
            // The error answers this request even when pgrouter injected it (a missing statement
            // that failed to prepare is the error of the client's Bind).
            drop();
            skip_to_sync();
            return true;
        case '1':  // ParseComplete
        case '2':  // BindComplete
        case '3':  // CloseComplete
        case 'n':  // NoData
        case 'T':  // RowDescription
        case 'C':  // CommandComplete
        case 'I':  // EmptyQueryResponse
        case 's':  // PortalSuspended
            if (front.kind != Kind::Query) {
                bool done =
                    front.kind != Kind::Execute || type == 'C' || type == 'I' || type == 's';
                if (front.kind == Kind::Describe) {
                    done = type == 'T' || type == 'n';
                }
                if (done) {
                    pop_done();
                }
            }
            return forward;
        case 'Z':  // ReadyForQuery ends a Query or a Sync
            pop();
            return forward;
        default:  // rows, ParameterDescription, COPY messages, FunctionCallResponse
            return forward;
    }
}

}  // namespace pgrouter::backend
