// tests/support/raw_client.cpp — RawClient over a plain blocking socket plus poll() deadlines.
// Parses only the typed-message framing the tests need to look at; bodies stay opaque.
#include "support/raw_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "support/bytes.hpp"

namespace pgrouter::test {
namespace {

using Clock = std::chrono::steady_clock;

std::uint32_t read_be32(std::string_view bytes) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[0])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[3]));
}

}  // namespace

std::string error_field(const RawMessage& message, char code) {
    std::string_view body = message.body;
    std::size_t pos = 0;
    while (pos < body.size() && body[pos] != '\0') {
        const char field = body[pos++];
        const std::size_t end = body.find('\0', pos);
        if (end == std::string_view::npos) {
            return "";
        }
        if (field == code) {
            return std::string(body.substr(pos, end - pos));
        }
        pos = end + 1;
    }
    return "";
}

RawClient::~RawClient() {
    close();
}

void RawClient::close() {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

bool RawClient::connect(std::uint16_t port) {
    close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        return false;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close();
        return false;
    }
    return true;
}

bool RawClient::send(std::string_view bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return false;
        }
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

bool RawClient::send(std::span<const std::uint8_t> bytes) {
    return send(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void RawClient::parse_buffer(std::vector<RawMessage>& out) {
    std::size_t pos = 0;
    while (!garbage_ && buffer_.size() - pos >= 5) {
        const std::uint32_t length = read_be32(std::string_view(buffer_).substr(pos + 1, 4));
        if (length < 4) {
            garbage_ = true;
            break;
        }
        if (buffer_.size() - pos < 1 + static_cast<std::size_t>(length)) {
            break;
        }
        RawMessage message{buffer_[pos], buffer_.substr(pos + 5, length - 4)};
        received_.push_back(message);
        out.push_back(std::move(message));
        pos += 1 + length;
    }
    buffer_.erase(0, pos);
}

std::vector<RawMessage> RawClient::read_messages(std::chrono::milliseconds timeout,
                                                 std::optional<char> stop_at) {
    std::vector<RawMessage> out;
    const auto deadline = Clock::now() + timeout;
    char chunk[65536];
    while (fd_ >= 0 && !closed_) {
        if (stop_at) {
            for (const RawMessage& m : out) {
                if (m.type == *stop_at) {
                    return out;
                }
            }
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) {
            break;
        }
        pollfd pfd{fd_, POLLIN, 0};
        const int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            break;
        }
        const ssize_t n = ::recv(fd_, chunk, sizeof(chunk), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            closed_ = true;  // EOF, or ECONNRESET and friends
            break;
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
        parse_buffer(out);
    }
    return out;
}

bool RawClient::startup_trust(std::string_view user, std::string_view database,
                              std::chrono::milliseconds timeout) {
    if (!send(startup({{"user", user}, {"database", database}}))) {
        return false;
    }
    read_messages(timeout, 'Z');
    bool auth_ok = false;
    for (const RawMessage& m : received_) {
        if (m.type == 'R') {
            if (m.body.size() < 4 || read_be32(m.body) != 0) {
                return false;  // asked for a password: not a trust login
            }
            auth_ok = true;
        }
        if (m.type == 'E') {
            return false;
        }
        if (m.type == 'Z') {
            return auth_ok;
        }
    }
    return false;
}

std::string RawClient::first_error_sqlstate() const {
    for (const RawMessage& m : received_) {
        if (m.type == 'E') {
            return error_field(m, 'C');
        }
    }
    return "";
}

std::optional<std::pair<std::uint32_t, std::uint32_t>> RawClient::backend_key() const {
    for (const RawMessage& m : received_) {
        if (m.type == 'K' && m.body.size() == 8) {
            return std::make_pair(read_be32(m.body), read_be32(std::string_view(m.body).substr(4)));
        }
    }
    return std::nullopt;
}

}  // namespace pgrouter::test
