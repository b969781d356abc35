// pgrouter/backend/tx_tracker.cpp — the release rule of transaction pooling; pure.
#include "pgrouter/backend/tx_tracker.hpp"

namespace pgrouter::backend {

void TxTracker::on_client_message(char type) noexcept {
    switch (type) {
        case 'Q':  // Query: one ReadyForQuery at the end
        case 'F':  // FunctionCall
            ++expected_ready_;
            break;
        case 'S':  // Sync closes the batch and asks for ReadyForQuery
            ++expected_ready_;
            batch_open_ = false;
            break;
        case 'P':  // Parse
        case 'B':  // Bind
        case 'D':  // Describe
        case 'E':  // Execute
        case 'C':  // Close
        case 'H':  // Flush
            batch_open_ = true;
            break;
        default:  // CopyData/CopyDone/CopyFail belong to a Query already counted
            break;
    }
}

void TxTracker::on_ready_for_query(char status) noexcept {
    if (expected_ready_ > 0) {
        --expected_ready_;
    }
    status_ = status;
}

}  // namespace pgrouter::backend
