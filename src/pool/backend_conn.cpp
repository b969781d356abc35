// pgrouter/pool/backend_conn.cpp — opening, authenticating, resetting and cancelling server
// connections. Secrets are used here and never logged or copied into errors.
#include "pgrouter/pool/backend_conn.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "pgrouter/auth/md5.hpp"
#include "pgrouter/auth/scram.hpp"
#include "pgrouter/io/frame_io.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"

namespace pgrouter::pool {
namespace {

constexpr std::size_t kMaxStartupMessage = 1 << 20;

ServerError own_error(std::string_view sqlstate, std::string message) {
    return ServerError{std::string(sqlstate), std::move(message), {}};
}

ServerError from_error_response(const wire::Frame& frame) {
    auto fields = wire::parse_error_fields(frame);
    if (!fields) {
        return own_error(wire::sqlstate::kProtocolViolation, "malformed error from server");
    }
    return ServerError{std::string(fields->sqlstate), std::string(fields->message),
                       std::string(fields->detail)};
}

// Answers one authentication request. Returns an error when it cannot (no credentials, bad
// server signature, unsupported method).
struct AuthStep {
    std::vector<std::uint8_t>& out;
    const Credentials& credentials;
    std::optional<auth::ScramClient>& scram;

    ServerError answer(const wire::AuthRequest& request) {
        wire::MessageWriter writer(out);
        switch (request.code) {
            case 0:  // AuthenticationOk
                return {};
            case 3:  // AuthenticationCleartextPassword
                if (credentials.password.empty() || auth::is_md5_hash(credentials.password)) {
                    return own_error(wire::sqlstate::kInvalidPassword,
                                     "server asked for a cleartext password and pgrouter has none "
                                     "for user \"" +
                                         credentials.user + "\"");
                }
                writer.password_message(credentials.password);
                return {};
            case 5: {  // AuthenticationMD5Password
                if (credentials.password.empty() || request.data.size() != 4) {
                    return own_error(wire::sqlstate::kInvalidPassword,
                                     "server asked for an md5 password and pgrouter has none for "
                                     "user \"" +
                                         credentials.user + "\"");
                }
                std::string user_hash =
                    auth::is_md5_hash(credentials.password)
                        ? credentials.password
                        : auth::md5_user_hash(credentials.password, credentials.user);
                writer.password_message(auth::md5_salted_response(
                    user_hash, std::span<const std::uint8_t, 4>(request.data.data(), 4)));
                return {};
            }
            case 10: {  // AuthenticationSASL
                if (!wire::sasl_mechanisms_contain(request.data, "SCRAM-SHA-256")) {
                    return own_error(wire::sqlstate::kFeatureNotSupported,
                                     "server offers no supported SASL mechanism");
                }
                bool plain =
                    !credentials.password.empty() && !auth::is_md5_hash(credentials.password);
                if (plain) {
                    scram.emplace(auth::ScramClient::with_password(credentials.password,
                                                                   auth::scram_nonce()));
                } else if (credentials.scram_client_key && credentials.scram_server_key) {
                    scram.emplace(auth::ScramClient::with_keys(*credentials.scram_client_key,
                                                               *credentials.scram_server_key,
                                                               auth::scram_nonce()));
                } else {
                    return own_error(wire::sqlstate::kInvalidPassword,
                                     "server asked for SCRAM and pgrouter has no password or "
                                     "client key for user \"" +
                                         credentials.user + "\"");
                }
                writer.sasl_initial_response("SCRAM-SHA-256", scram->client_first());
                return {};
            }
            case 11: {  // AuthenticationSASLContinue
                std::string reply;
                if (!scram || scram->on_server_first(std::string_view(reinterpret_cast<const char*>(
                                                                          request.data.data()),
                                                                      request.data.size()),
                                                     reply) != auth::ScramStatus::Continue) {
                    return own_error(wire::sqlstate::kInvalidPassword,
                                     "malformed SCRAM challenge from server");
                }
                writer.sasl_response(reply);
                return {};
            }
            case 12:  // AuthenticationSASLFinal
                if (!scram || scram->on_server_final(std::string_view(
                                  reinterpret_cast<const char*>(request.data.data()),
                                  request.data.size())) != auth::ScramStatus::Success) {
                    return own_error(wire::sqlstate::kInvalidPassword,
                                     "server's SCRAM signature did not verify");
                }
                return {};
            default:
                return own_error(wire::sqlstate::kFeatureNotSupported,
                                 "server asked for an unsupported authentication method (" +
                                     std::to_string(request.code) + ")");
        }
    }
};

}  // namespace

bool BackendConn::looks_dead() const noexcept {
    std::uint8_t byte;
    // const_cast: native_handle() is non-const in Asio but peeking does not change the socket.
    auto fd = const_cast<Socket&>(socket).native_handle();
    ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) {
        return errno != EAGAIN && errno != EWOULDBLOCK;
    }
    return true;  // EOF, or bytes nobody asked for (e.g. a FATAL before the server exits)
}

void BackendConn::move_to(const Executor& ex) {
    if (&socket.get_executor().context() == &ex.context()) {
        return;
    }
    error_code ec;
    const tcp protocol = socket.local_endpoint(ec).protocol();
    Socket moved(ex);
    if (!ec) {
        auto fd = socket.release(ec);
        if (!ec) {
            moved.assign(protocol, fd, ec);
            if (ec) {
                ::close(fd);
            }
        }
    }
    // Move assignment takes `moved`'s service and reactor registration with it.
    socket = std::move(moved);
}

awaitable<ConnectResult> connect_backend(const config::Address& address, const std::string& dbname,
                                         const Credentials& credentials,
                                         std::chrono::milliseconds timeout, std::uint64_t id) {
    auto here = co_await asio::this_coro::executor;
    ConnectResult result;
    auto conn = std::make_unique<BackendConn>(here);
    conn->address = address;
    conn->id = id;
    error_code ec;
    io::SocketDeadline deadline(here, conn->socket, timeout);

    Resolver resolver(here);
    auto endpoints = co_await resolver.async_resolve(address.host, std::to_string(address.port),
                                                     asio::redirect_error(use_awaitable, ec));
    if (ec) {
        result.error = own_error(wire::sqlstate::kConnectionFailure,
                                 "could not resolve server " + address.to_string());
        co_return result;
    }
    co_await asio::async_connect(conn->socket, endpoints, asio::redirect_error(use_awaitable, ec));
    if (ec) {
        result.error = own_error(wire::sqlstate::kConnectionFailure,
                                 "could not connect to server " + address.to_string() + ": " +
                                     (deadline.expired() ? "timeout" : ec.message()));
        co_return result;
    }
    conn->socket.set_option(tcp::no_delay(true), ec);

    std::vector<std::uint8_t> out;
    {
        wire::MessageWriter writer(out);
        const wire::StartupParam params[] = {{"user", credentials.user}, {"database", dbname}};
        writer.startup_message(params);
    }
    co_await io::write_all(conn->socket, out, ec);

    io::ReadBuffer buf(4096);
    std::optional<auth::ScramClient> scram;
    while (!ec) {
        wire::DecodeResult r = co_await io::read_frame(conn->socket, buf, kMaxStartupMessage, ec);
        if (ec) {
            break;
        }
        if (r.status != wire::DecodeStatus::Complete) {
            result.error = own_error(wire::sqlstate::kProtocolViolation,
                                     "invalid message from server " + address.to_string());
            co_return result;
        }
        const wire::Frame& frame = r.frame;
        switch (frame.type) {
            case wire::backend::kAuthentication: {
                auto request = wire::parse_authentication(frame);
                if (!request) {
                    result.error = own_error(wire::sqlstate::kProtocolViolation,
                                             "malformed authentication request from server");
                    co_return result;
                }
                out.clear();
                AuthStep step{out, credentials, scram};
                if (ServerError err = step.answer(*request)) {
                    result.error = std::move(err);
                    co_return result;
                }
                if (!out.empty()) {
                    co_await io::write_all(conn->socket, out, ec);
                }
                break;
            }
            case wire::backend::kParameterStatus:
                if (auto ps = wire::parse_parameter_status(frame)) {
                    conn->params.set_reported(ps->name, ps->value);
                    conn->startup_status.emplace_back(ps->name, ps->value);
                }
                break;
            case wire::backend::kBackendKeyData:
                if (auto key = wire::parse_backend_key_data(frame)) {
                    conn->server_key = *key;
                }
                break;
            case wire::backend::kErrorResponse:
                result.error = from_error_response(frame);
                co_return result;
            case wire::backend::kReadyForQuery:
                conn->created = conn->last_used = Clock::now();
                result.conn = std::move(conn);
                co_return result;
            default:  // NoticeResponse, NegotiateProtocolVersion: nothing to do
                break;
        }
        buf.consume(frame.bytes.size());
    }
    result.error = own_error(wire::sqlstate::kConnectionFailure,
                             "server " + address.to_string() + " closed the connection during " +
                                 "start-up" + (deadline.expired() ? " (timeout)" : ""));
    co_return result;
}

awaitable<bool> reset_backend(BackendConn& conn, const std::string& query,
                              std::chrono::milliseconds timeout) {
    auto here = co_await asio::this_coro::executor;
    io::SocketDeadline deadline(here, conn.socket, timeout);
    std::vector<std::uint8_t> out;
    wire::MessageWriter(out).query(query);
    error_code ec;
    co_await io::write_all(conn.socket, out, ec);
    io::ReadBuffer buf(1024);
    bool failed = false;
    while (!ec) {
        wire::DecodeResult r = co_await io::read_frame(conn.socket, buf, kMaxStartupMessage, ec);
        if (ec || r.status != wire::DecodeStatus::Complete) {
            co_return false;
        }
        if (r.frame.type == wire::backend::kErrorResponse) {
            failed = true;
        } else if (r.frame.type == wire::backend::kParameterStatus) {
            if (auto ps = wire::parse_parameter_status(r.frame)) {
                conn.params.set_reported(ps->name, ps->value);
            }
        } else if (r.frame.type == wire::backend::kReadyForQuery) {
            auto status = wire::parse_ready_for_query(r.frame);
            // The reset query (DISCARD ALL) dropped statements and settings made on this session.
            conn.prepared.clear();
            conn.params.clear_replayed();
            co_return !failed && status == 'I' && buf.size() == r.frame.bytes.size();
        }
        buf.consume(r.frame.bytes.size());
    }
    co_return false;
}

awaitable<void> send_cancel(const config::Address& address, wire::CancelKey key,
                            std::chrono::milliseconds timeout) {
    auto here = co_await asio::this_coro::executor;
    Socket socket(here);
    io::SocketDeadline deadline(here, socket, timeout);
    error_code ec;
    Resolver resolver(here);
    auto endpoints = co_await resolver.async_resolve(address.host, std::to_string(address.port),
                                                     asio::redirect_error(use_awaitable, ec));
    if (ec) {
        co_return;
    }
    co_await asio::async_connect(socket, endpoints, asio::redirect_error(use_awaitable, ec));
    if (ec) {
        co_return;
    }
    std::vector<std::uint8_t> out;
    wire::MessageWriter(out).cancel_request(key);
    co_await io::write_all(socket, out, ec);
    // PostgreSQL closes the connection after reading the request; wait for that so the request is
    // processed before we return.
    std::uint8_t byte;
    co_await socket.async_read_some(asio::buffer(&byte, 1),
                                    asio::redirect_error(use_awaitable, ec));
}

}  // namespace pgrouter::pool
