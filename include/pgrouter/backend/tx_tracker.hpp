// pgrouter/backend/tx_tracker.hpp — decides when a transaction-mode client may give its server
// connection back. Pure: fed message type letters from both directions, no I/O.
//
// A server connection may go back to the pool only when every Sync/Query the client sent has been
// answered by ReadyForQuery, the last one said idle ('I'), and the client has not sent the start of
// a new extended-protocol batch (Parse/Bind/... without its Sync yet).
#pragma once

#include <cstdint>

namespace pgrouter::backend {

class TxTracker {
public:
    // A message the client sent to the server, by type letter.
    void on_client_message(char type) noexcept;
    // pgrouter itself sent a Query or Sync (its reply is hidden by the ResponseQueue).
    void on_hidden_query() noexcept { ++expected_ready_; }
    // The server's ReadyForQuery.
    void on_ready_for_query(char status) noexcept;
    // Transaction mode: the server connection can be released now.
    bool at_idle_boundary() const noexcept {
        return expected_ready_ == 0 && !batch_open_ && status_ == 'I';
    }
    // The server connection is in a state no other client can be given (mid-transaction or
    // mid-batch); if the client vanishes now the connection must be reset or closed.
    bool server_busy() const noexcept {
        return expected_ready_ > 0 || batch_open_ || status_ != 'I';
    }
    char status() const noexcept { return status_; }
    // Extended-protocol messages have been sent since the last Sync.
    bool batch_open() const noexcept { return batch_open_; }
    std::uint32_t expected_ready() const noexcept { return expected_ready_; }
    // A new server connection starts with nothing in flight.
    void reset() noexcept { *this = TxTracker{}; }

private:
    std::uint32_t expected_ready_ = 0;  // Syncs/Queries sent and not yet answered
    bool batch_open_ = false;           // extended-protocol messages sent since the last Sync
    char status_ = 'I';
};

}  // namespace pgrouter::backend
