// pgrouter/session/client_startup.cpp — a client's start-up: SSL/GSS refusal, CancelRequest,
// StartupMessage, authentication (SCRAM-SHA-256, md5, trust) and the parameters a client is told.
// Errors mirror what PostgreSQL sends; no password, verifier or proof is ever logged.
#include <spdlog/spdlog.h>

#include "pgrouter/auth/md5.hpp"
#include "pgrouter/auth/scram.hpp"
#include "pgrouter/io/frame_io.hpp"
#include "pgrouter/logging/logging.hpp"
#include "pgrouter/session/client_session.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"

namespace pgrouter::session {
namespace {

constexpr std::size_t kMaxAuthMessage = 8192;

std::string_view as_text(std::span<const std::uint8_t> bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// "-c name=value" and "--name=value" pairs of the startup "options" parameter (backslash escapes
// a space, as in PostgreSQL's pg_split_opts).
std::vector<std::pair<std::string, std::string>> split_options(std::string_view options) {
    std::vector<std::string> words;
    std::string word;
    bool escaped = false;
    for (char c : options) {
        if (escaped) {
            word.push_back(c);
            escaped = false;
        } else if (c == '\\') {
            escaped = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (!word.empty()) {
                words.push_back(std::move(word));
                word.clear();
            }
        } else {
            word.push_back(c);
        }
    }
    if (!word.empty()) {
        words.push_back(std::move(word));
    }
    std::vector<std::pair<std::string, std::string>> out;
    for (std::size_t i = 0; i < words.size(); ++i) {
        std::string setting;
        if (words[i] == "-c" && i + 1 < words.size()) {
            setting = words[++i];
        } else if (words[i].rfind("-c", 0) == 0 && words[i].size() > 2) {
            setting = words[i].substr(2);
        } else if (words[i].rfind("--", 0) == 0) {
            setting = words[i].substr(2);
        } else {
            continue;
        }
        auto eq = setting.find('=');
        if (eq == std::string::npos || eq == 0) {
            continue;
        }
        std::string name = setting.substr(0, eq);
        std::replace(name.begin(), name.end(), '-', '_');
        out.emplace_back(std::move(name), setting.substr(eq + 1));
    }
    return out;
}

std::string password_failed(const std::string& user) {
    return "password authentication failed for user \"" + user + "\"";
}

}  // namespace

awaitable<bool> ClientSession::login() {
    auto here = co_await asio::this_coro::executor;
    const auto& config = rt_.config();
    // On expiry only cancel reads, so the client can still be told why it is disconnected. The
    // flag is shared because an expiry may already be queued when login() returns.
    Timer login_timer(here);
    auto expired = std::make_shared<bool>(false);
    login_timer.expires_after(config.limits.client_login_timeout);
    login_timer.async_wait([self = shared_from_this(), expired](error_code ec) {
        if (!ec && !self->closing_) {
            *expired = true;
            error_code ignored;
            self->client_.cancel(ignored);
        }
    });
    struct CancelTimer {
        Timer& timer;
        ~CancelTimer() { timer.cancel(); }
    } cancel_timer{login_timer};
    const bool& timed_out = *expired;

    error_code ec;
    wire::StartupDecode startup;
    for (;;) {
        startup = co_await io::read_startup(client_, from_client_,
                                            config.limits.max_startup_packet_bytes, ec);
        if (ec) {
            if (timed_out) {
                co_await send_error("FATAL", wire::sqlstate::kProtocolViolation,
                                    "timeout: no complete login within client_login_timeout");
            }
            co_return false;
        }
        if (startup.status != wire::DecodeStatus::Complete) {
            co_await send_error("FATAL", wire::sqlstate::kProtocolViolation,
                                "invalid length of startup packet");
            co_return false;
        }
        if (startup.kind == wire::StartupKind::SslRequest ||
            startup.kind == wire::StartupKind::GssEncRequest) {
            from_client_.consume(startup.total);
            if (!from_client_.empty()) {
                // Bytes after SSLRequest before our answer: a buffer-stuffing attempt
                // (CVE-2021-23222).
                co_await send_error("FATAL", wire::sqlstate::kProtocolViolation,
                                    "received unencrypted data after SSL request");
                co_return false;
            }
            static const std::uint8_t kNo = 'N';
            co_await io::write_all(client_, std::span(&kNo, 1), ec);
            if (ec) {
                co_return false;
            }
            continue;
        }
        break;
    }
    if (startup.kind == wire::StartupKind::CancelRequest) {
        co_await handle_cancel_request(startup.packet);
        co_return false;
    }
    if (startup.kind != wire::StartupKind::Startup) {
        co_await send_error("FATAL", wire::sqlstate::kFeatureNotSupported,
                            "unsupported frontend protocol " + std::to_string(startup.code >> 16) +
                                "." + std::to_string(startup.code & 0xffff) +
                                ": server supports 3.0 to 3.0");
        co_return false;
    }
    std::vector<wire::StartupParam> raw_params;
    if (!wire::parse_startup_params(startup.packet, raw_params)) {
        co_await send_error("FATAL", wire::sqlstate::kProtocolViolation,
                            "invalid startup packet layout: expected terminator as last byte");
        co_return false;
    }
    std::vector<std::pair<std::string, std::string>> settings;
    std::vector<std::string_view> unrecognized;
    for (const auto& p : raw_params) {
        if (p.name == "user") {
            user_name_ = p.value;
        } else if (p.name == "database") {
            database_name_ = p.value;
        } else if (p.name == "options") {
            for (auto& kv : split_options(p.value)) {
                settings.push_back(std::move(kv));
            }
        } else if (p.name.rfind("_pq_.", 0) == 0) {
            unrecognized.push_back(p.name);
        } else if (p.name != "replication") {
            settings.emplace_back(p.name, p.value);
        }
    }
    from_client_.consume(startup.total);
    if ((startup.code & 0xffff) != 0 || !unrecognized.empty()) {
        std::vector<std::uint8_t> bytes;
        wire::MessageWriter(bytes).negotiate_protocol_version(0, unrecognized);
        co_await send_client(bytes);
    }
    if (user_name_.empty()) {
        co_await send_error("FATAL", wire::sqlstate::kInvalidAuthorization,
                            "no PostgreSQL user name specified in startup packet");
        co_return false;
    }
    if (database_name_.empty()) {
        database_name_ = user_name_;
    }
    if (!rt_.try_add_client()) {
        co_await send_error("FATAL", wire::sqlstate::kTooManyConnections,
                            "sorry, too many clients already");
        co_return false;
    }
    counted_ = true;
    if (rt_.draining()) {
        co_await send_error("FATAL", wire::sqlstate::kCannotConnectNow,
                            "the database system is shutting down");
        co_return false;
    }

    user_ = rt_.user_auth(user_name_);
    if (!co_await authenticate(user_, user_name_)) {
        if (timed_out) {
            co_await send_error("FATAL", wire::sqlstate::kProtocolViolation,
                                "timeout: no complete login within client_login_timeout");
        }
        co_return false;
    }
    database_ = config.find_database(database_name_);
    topology_ = rt_.topology().find(database_name_);
    if (database_ == nullptr || topology_ == nullptr) {
        co_await send_error("FATAL", wire::sqlstate::kInvalidCatalogName,
                            "database \"" + database_name_ + "\" does not exist");
        co_return false;
    }
    cancel_timer.timer.cancel();
    credentials_ = rt_.server_credentials(*user_);
    init_sharding();  // a sharded database starts on its first shard
    init_routing();
    user_key_ = user_name_ + "@" + database_name_ + (sharding_ != nullptr ? "#0" : "");

    // The server parameters a client is told at login come from the primary (after a failover,
    // from whichever server is primary now; with none, from any server that answers).
    std::size_t login_server = topology_->primary;
    const routing::Decision primary = routing::current_primary(*topology_, snapshot_status());
    if (!primary.refused()) {
        login_server = primary.server;
    } else {
        for (std::size_t i = 0; i < status_.size(); ++i) {
            if (status_[i].available) {
                login_server = i;
                break;
            }
        }
    }
    auto& pool = pool_for(login_server);
    auto startup_params = pool->startup_params();
    if (!startup_params) {
        // First client of this pool: open a connection to learn the server's parameters (this
        // also reports a wrong server password or a missing database right away).
        pool::ConnectResult probe = co_await pool->acquire(*credentials_);
        if (!probe.conn) {
            SPDLOG_WARN("{} cannot reach server: {}", tag(), probe.error.message);
            co_await send_error("FATAL", probe.error.sqlstate, probe.error.message);
            co_return false;
        }
        pool->release(std::move(probe.conn), pool::BackendPool::Return::Clean);
        startup_params = pool->startup_params();
    }
    for (const auto& [name, value] : *startup_params) {
        params_.set_reported(name, value);
    }
    adopt_startup_params(settings);

    cancel_key_ = rt_.cancels().add(weak_from_this());
    registered_cancel_ = true;
    std::vector<std::uint8_t> bytes;
    wire::MessageWriter writer(bytes);
    told_base_ = startup_params;
    for (const auto& [name, value] : *startup_params) {
        // The client's own start-up values for the parameters pgrouter keeps in step.
        const std::string* own = params_.reported(name);
        if (own != nullptr && *own != value) {
            told_changes_.emplace_back(name, *own);
        }
        writer.parameter_status(name, own != nullptr ? std::string_view(*own) : value);
    }
    writer.backend_key_data(cancel_key_);
    writer.ready_for_query('I');
    co_await send_client(bytes);
    if (config.log.connections) {
        SPDLOG_INFO("{} login ok", tag());
    }
    co_return !closing_;
}

void ClientSession::adopt_startup_params(
    const std::vector<std::pair<std::string, std::string>>& params) {
    std::vector<sql::SettingChange> changes;
    for (const auto& [name, value] : params) {
        if (backend::is_synced_reported(name)) {
            params_.set_reported(name, value);
        } else {
            std::string lower = name;
            std::transform(lower.begin(), lower.end(), lower.begin(),
                           [](unsigned char c) { return std::tolower(c); });
            changes.push_back({sql::SettingAction::Set, lower,
                               "SET " + lower + " TO " + backend::quote_literal(value)});
        }
    }
    params_.apply(changes);
}

awaitable<bool> ClientSession::authenticate(const UserAuth* user, const std::string& user_name) {
    const auto max_auth = kMaxAuthMessage;
    std::vector<std::uint8_t> bytes;
    error_code ec;
    auto fail = [&](std::string_view sqlstate, std::string message) -> awaitable<bool> {
        if (rt_.config().log.connections) {
            SPDLOG_INFO("{} login failed: {}", tag(), message);
        }
        co_await send_error("FATAL", sqlstate, message);
        co_return false;
    };
    // Unknown users fail like a wrong password, as PostgreSQL does with password methods, so the
    // user list cannot be probed.
    if (user == nullptr) {
        co_return co_await fail(wire::sqlstate::kInvalidPassword, password_failed(user_name));
    }
    auto read_password_frame = [&]() -> awaitable<std::optional<wire::Frame>> {
        wire::DecodeResult r = co_await io::read_frame(client_, from_client_, max_auth, ec);
        if (ec || r.status != wire::DecodeStatus::Complete ||
            r.frame.type != wire::frontend::kPassword) {
            co_return std::nullopt;
        }
        co_return r.frame;
    };

    switch (user->config->auth) {
        case config::AuthMethod::Trust:
            break;
        case config::AuthMethod::Md5: {
            std::array<std::uint8_t, 4> salt;
            auth::random_bytes(salt);
            wire::MessageWriter(bytes).authentication_md5(salt);
            co_await send_client(bytes);
            auto frame = co_await read_password_frame();
            if (!frame) {
                co_return false;  // client gave up (psql asks for the password and reconnects)
            }
            auto password = wire::parse_password(*frame);
            bool ok = password && auth::md5_verify(user->md5_hash, salt, *password);
            from_client_.consume(frame->bytes.size());
            if (!ok) {
                co_return co_await fail(wire::sqlstate::kInvalidPassword,
                                        password_failed(user_name));
            }
            break;
        }
        case config::AuthMethod::ScramSha256: {
            auth::ScramServer scram(*user->scram, auth::scram_nonce());
            wire::MessageWriter(bytes).authentication_sasl("SCRAM-SHA-256");
            co_await send_client(bytes);
            auto frame = co_await read_password_frame();
            if (!frame) {
                co_return false;
            }
            auto initial = wire::parse_sasl_initial_response(*frame);
            std::string reply;
            if (!initial || initial->mechanism != "SCRAM-SHA-256" ||
                scram.on_client_first(as_text(initial->data), reply) !=
                    auth::ScramStatus::Continue) {
                co_return co_await fail(wire::sqlstate::kProtocolViolation,
                                        "malformed SCRAM message");
            }
            from_client_.consume(frame->bytes.size());
            bytes.clear();
            wire::MessageWriter(bytes).authentication_sasl_continue(reply);
            co_await send_client(bytes);
            frame = co_await read_password_frame();
            if (!frame) {
                co_return false;
            }
            auth::ScramStatus status = scram.on_client_final(as_text(frame->body()), reply);
            from_client_.consume(frame->bytes.size());
            if (status == auth::ScramStatus::Malformed) {
                co_return co_await fail(wire::sqlstate::kProtocolViolation,
                                        "malformed SCRAM message");
            }
            if (status != auth::ScramStatus::Success) {
                co_return co_await fail(wire::sqlstate::kInvalidPassword,
                                        password_failed(user_name));
            }
            bytes.clear();
            wire::MessageWriter(bytes).authentication_sasl_final(reply);
            co_await send_client(bytes);
            if (user->config->password_kind == config::PasswordKind::ScramVerifier) {
                rt_.remember_client_key(user_name, scram.client_key());
            }
            break;
        }
    }
    bytes.clear();
    wire::MessageWriter(bytes).authentication_ok();
    co_await send_client(bytes);
    co_return !closing_;
}

awaitable<void> ClientSession::handle_cancel_request(std::span<const std::uint8_t> packet) {
    auto key = wire::parse_cancel_request(packet);
    if (!key) {
        co_return;
    }
    // Unknown or stale keys do nothing and get no answer, as in PostgreSQL.
    if (auto target = rt_.cancels().find(*key)) {
        target->cancel_current_query();
    }
}

}  // namespace pgrouter::session
