// src/session/shard_call.hpp — one shard's part of a statement run on several shards: its
// connection, the bytes it is sent, everything it answers, split into pgrouter's hidden queries and
// the client's part. Shared by fan_out.cpp and copy_split.cpp. Internal header.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pgrouter/backend/param_state.hpp"
#include "pgrouter/io/asio.hpp"
#include "pgrouter/pool/lease.hpp"
#include "pgrouter/wire/frame.hpp"

namespace pgrouter::session::shard_io {

struct ShardCall {
    std::size_t shard = 0;
    pool::BackendLease lease;
    std::vector<std::uint8_t> out;
    std::vector<std::uint8_t> in;
    std::uint32_t readies = 0;  // ReadyForQuery messages the sent bytes will produce
    std::uint32_t hidden = 0;   // of which the first `hidden` answer pgrouter's own queries
    char stop_at = 0;           // also stop reading at this message type (CopyInResponse)
    bool lost = false;
    std::string failure;  // lost: why
    char status = 'I';
    // After parse(): the frames answering the client's request, and the hidden part's error and
    // rows.
    std::vector<wire::Frame> frames;
    std::optional<wire::Frame> hidden_error;
    std::vector<wire::Frame> hidden_rows;
};

inline constexpr std::string_view kCollationQuery =
    "SELECT datcollate FROM pg_database WHERE datname = current_database()";
bool sorts_bytewise(std::string_view collation);

// Appends pgrouter's hidden queries that open a call: the settings that make the connection match
// `wanted` (the client's), and BEGIN when the statement must be all-or-nothing.
void open_call(ShardCall& call, const backend::ParamState& wanted, bool begin);
// A Bind's bytes after its statement name (parameter formats, values, result formats), to send
// under other names; empty when the message is malformed.
std::span<const std::uint8_t> bind_rest(const wire::Frame& bind);

// Writes call.out, then reads until call.readies ReadyForQuery messages (or call.stop_at after
// the hidden ones) have arrived.
awaitable<void> exchange(ShardCall& call);
// exchange() on every call at once; returns when all are done.
awaitable<void> exchange_all(std::vector<ShardCall>& calls);
// Sorts call.in into hidden_error/hidden_rows and frames; ParameterStatus updates the connection.
void parse(ShardCall& call);
// COMMIT or ROLLBACK with buffers of its own (the call's frames still point into its first
// answer). False: it failed or the connection was lost.
awaitable<bool> end_transaction(ShardCall& call, bool commit);

const wire::Frame* first_of(const ShardCall& call, char type);
std::string error_text(const wire::Frame& error);
std::string error_code_of(const wire::Frame& error);
void append(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> bytes);
// The value of a one-column DataRow ("" for NULL).
std::string single_value(const wire::Frame& row);

}  // namespace pgrouter::session::shard_io
