// tests/support/raw_client.hpp — a blocking raw TCP client for bad-input tests: sends arbitrary
// bytes and collects the typed messages that come back until EOF or a deadline. Builds no
// protocol bytes itself (see support/bytes.hpp) and never retries.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgrouter::test {

struct RawMessage {
    char type = 0;
    std::string body;  // without type byte and length
};

// Field `code` ('C' = SQLSTATE, 'M' = message, 'S' = severity) of an ErrorResponse or
// NoticeResponse body; empty when absent.
std::string error_field(const RawMessage& message, char code);

class RawClient {
public:
    RawClient() = default;
    ~RawClient();
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    // TCP connect to 127.0.0.1:`port`; false on failure.
    bool connect(std::uint16_t port);

    // Writes all bytes (MSG_NOSIGNAL). False when the peer already closed or reset.
    bool send(std::string_view bytes);
    bool send(std::span<const std::uint8_t> bytes);

    // Reads typed messages until EOF, `timeout`, or, when `stop_at` is set, until a message of
    // that type arrived. Returns the messages read by this call; all of them are kept in
    // received(). A length field < 4 from the peer stops parsing (recorded in garbage()).
    std::vector<RawMessage> read_messages(std::chrono::milliseconds timeout,
                                          std::optional<char> stop_at = std::nullopt);

    // Sends a protocol 3.0 StartupMessage and reads until ReadyForQuery. True when it got
    // AuthenticationOk and ReadyForQuery without being asked for a password, i.e. the user is a
    // pgrouter `trust` user.
    bool startup_trust(std::string_view user, std::string_view database,
                       std::chrono::milliseconds timeout = std::chrono::milliseconds{10000});

    const std::vector<RawMessage>& received() const { return received_; }
    // SQLSTATE of the first ErrorResponse received so far; empty when none.
    std::string first_error_sqlstate() const;
    // The peer closed the connection (EOF) or reset it.
    bool closed() const { return closed_; }
    bool garbage() const { return garbage_; }
    // BackendKeyData (process id, secret key) received at startup, if any.
    std::optional<std::pair<std::uint32_t, std::uint32_t>> backend_key() const;

    void close();
    int fd() const { return fd_; }

private:
    void parse_buffer(std::vector<RawMessage>& out);

    int fd_ = -1;
    std::string buffer_;
    std::vector<RawMessage> received_;
    bool closed_ = false;
    bool garbage_ = false;
};

}  // namespace pgrouter::test
