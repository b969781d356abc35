// src/auth/scram.cpp — SCRAM-SHA-256 message parsing and proofs (RFC 5802/7677), matching
// PostgreSQL's auth-scram.c (server) and fe-auth-scram.c (client). Pure: no I/O, no logging, no
// exceptions on bad input; statuses never say which secret-dependent check failed beyond BadProof.
#include "pgrouter/auth/scram.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include "crypto.hpp"
#include "pgrouter/auth/md5.hpp"

namespace pgrouter::auth {

namespace {

constexpr std::string_view kVerifierPrefix = "SCRAM-SHA-256$";
constexpr std::string_view kClientKeyLabel = "Client Key";
constexpr std::string_view kServerKeyLabel = "Server Key";
// base64("n,,"): pgrouter never uses channel binding as a client.
constexpr std::string_view kClientFinalBinding = "c=biws";
constexpr std::size_t kNonceBytes = 24;

// SCRAM attribute values never contain ',' (the username escapes it as "=2C"), so splitting the
// whole message on ',' yields exactly its attributes, plus the two gs2 header fields.
std::vector<std::string_view> split_fields(std::string_view message) {
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    for (;;) {
        const std::size_t comma = message.find(',', start);
        if (comma == std::string_view::npos) {
            fields.push_back(message.substr(start));
            return fields;
        }
        fields.push_back(message.substr(start, comma - start));
        start = comma + 1;
    }
}

// "x=..." with an ASCII letter name, as PostgreSQL's read_any_attr() requires.
bool is_attribute(std::string_view field) noexcept {
    if (field.size() < 2 || field[1] != '=') {
        return false;
    }
    const char c = field[0];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::optional<std::string_view> attribute_value(std::string_view field, char name) noexcept {
    if (field.size() < 2 || field[0] != name || field[1] != '=') {
        return std::nullopt;
    }
    return field.substr(2);
}

// Decimal digits only (no sign, no spaces), 1..INT_MAX.
std::optional<int> parse_iterations(std::string_view text) noexcept {
    if (text.empty() ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    int value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || ptr != text.data() + text.size() || value < 1) {
        return std::nullopt;
    }
    return value;
}

std::optional<Key> decode_key(std::string_view b64) {
    const auto bytes = detail::base64_decode(b64);
    if (!bytes || bytes->size() != Key{}.size()) {
        return std::nullopt;
    }
    Key key{};
    std::copy(bytes->begin(), bytes->end(), key.begin());
    return key;
}

Key xor_keys(const Key& a, const Key& b) noexcept {
    Key out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<std::uint8_t>(a[i] ^ b[i]);
    }
    return out;
}

void cleanse(Key& key) noexcept {
    detail::cleanse(key.data(), key.size());
}

}  // namespace

std::optional<ScramSecret> parse_scram_verifier(std::string_view verifier) {
    if (!verifier.starts_with(kVerifierPrefix)) {
        return std::nullopt;
    }
    const std::string_view rest = verifier.substr(kVerifierPrefix.size());
    const std::size_t dollar = rest.find('$');
    if (dollar == std::string_view::npos) {
        return std::nullopt;
    }
    // Base64 contains neither ':' nor '$', so a stray separator makes a decode below fail.
    const std::string_view params = rest.substr(0, dollar);
    const std::string_view keys = rest.substr(dollar + 1);
    const std::size_t params_colon = params.find(':');
    const std::size_t keys_colon = keys.find(':');
    if (params_colon == std::string_view::npos || keys_colon == std::string_view::npos) {
        return std::nullopt;
    }
    const auto iterations = parse_iterations(params.substr(0, params_colon));
    auto salt = detail::base64_decode(params.substr(params_colon + 1));
    const auto stored_key = decode_key(keys.substr(0, keys_colon));
    const auto server_key = decode_key(keys.substr(keys_colon + 1));
    if (!iterations || !salt || salt->empty() || !stored_key || !server_key) {
        return std::nullopt;
    }
    ScramSecret secret;
    secret.iterations = *iterations;
    secret.salt = std::move(*salt);
    secret.stored_key = *stored_key;
    secret.server_key = *server_key;
    return secret;
}

bool is_scram_verifier(std::string_view s) {
    return parse_scram_verifier(s).has_value();
}

ScramSecret scram_secret_from_password(std::string_view password,
                                       std::span<const std::uint8_t> salt, int iterations) {
    ScramSecret secret;
    secret.iterations = std::max(iterations, 1);
    secret.salt.assign(salt.begin(), salt.end());
    Key salted = detail::pbkdf2_sha256(password, salt, secret.iterations);
    Key client_key = detail::hmac_sha256(salted, kClientKeyLabel);
    secret.stored_key = detail::sha256(client_key);
    secret.server_key = detail::hmac_sha256(salted, kServerKeyLabel);
    cleanse(salted);
    cleanse(client_key);
    return secret;
}

std::string scram_verifier_string(const ScramSecret& secret) {
    std::string out(kVerifierPrefix);
    out += std::to_string(secret.iterations);
    out += ':';
    out += detail::base64_encode(secret.salt);
    out += '$';
    out += detail::base64_encode(secret.stored_key);
    out += ':';
    out += detail::base64_encode(secret.server_key);
    return out;
}

std::string scram_nonce() {
    std::array<std::uint8_t, kNonceBytes> raw{};
    random_bytes(raw);
    return detail::base64_encode(raw);
}

ScramServer::ScramServer(ScramSecret secret, std::string server_nonce)
    : secret_(std::move(secret)), server_nonce_(std::move(server_nonce)) {}

ScramServer::~ScramServer() {
    cleanse(secret_.stored_key);
    cleanse(secret_.server_key);
    cleanse(client_key_);
}

ScramStatus ScramServer::on_client_first(std::string_view message, std::string& reply) {
    reply.clear();
    if (state_ != State::ExpectClientFirst) {
        state_ = State::Done;
        return ScramStatus::Malformed;
    }
    state_ = State::Done;  // until the message proves well-formed

    // gs2-header "n,," or "y,,", then client-first-message-bare "n=<user>,r=<nonce>[,ext...]".
    const auto fields = split_fields(message);
    if (fields.size() < 4) {
        return ScramStatus::Malformed;
    }
    // "p=<cb-name>" asks for channel binding, which only SCRAM-SHA-256-PLUS offers.
    if (fields[0] != "n" && fields[0] != "y") {
        return ScramStatus::Malformed;
    }
    // PostgreSQL rejects an authorization identity ("a=...") as unsupported.
    if (!fields[1].empty()) {
        return ScramStatus::Malformed;
    }
    // A leading reserved "m=" extension is mandatory-to-understand and thus also rejected here.
    if (!attribute_value(fields[2], 'n')) {
        return ScramStatus::Malformed;
    }
    const auto client_nonce = attribute_value(fields[3], 'r');
    if (!client_nonce || !detail::is_printable_nonce(*client_nonce)) {
        return ScramStatus::Malformed;
    }
    for (std::size_t i = 4; i < fields.size(); ++i) {
        if (!is_attribute(fields[i])) {
            return ScramStatus::Malformed;
        }
    }

    const std::size_t header_len = fields[0].size() + 2;
    gs2_header_.assign(message.substr(0, header_len));
    client_first_bare_.assign(message.substr(header_len));
    nonce_.assign(*client_nonce);
    nonce_ += server_nonce_;

    server_first_ = "r=";
    server_first_ += nonce_;
    server_first_ += ",s=";
    server_first_ += detail::base64_encode(secret_.salt);
    server_first_ += ",i=";
    server_first_ += std::to_string(secret_.iterations);
    reply = server_first_;
    state_ = State::ExpectClientFinal;
    return ScramStatus::Continue;
}

ScramStatus ScramServer::on_client_final(std::string_view message, std::string& reply) {
    reply.clear();
    if (state_ != State::ExpectClientFinal) {
        state_ = State::Done;
        return ScramStatus::Malformed;
    }
    state_ = State::Done;

    // client-final-message = "c=<b64 gs2 header>,r=<nonce>[,ext...],p=<b64 proof>"; the proof is
    // last, and everything before ",p=" is client-final-message-without-proof.
    const std::size_t last_comma = message.rfind(',');
    if (last_comma == std::string_view::npos) {
        return ScramStatus::Malformed;
    }
    const std::string_view without_proof = message.substr(0, last_comma);
    const auto proof_b64 = attribute_value(message.substr(last_comma + 1), 'p');
    if (!proof_b64) {
        return ScramStatus::Malformed;
    }
    const auto proof = decode_key(*proof_b64);
    if (!proof) {
        return ScramStatus::Malformed;
    }

    const auto fields = split_fields(without_proof);
    if (fields.size() < 2) {
        return ScramStatus::Malformed;
    }
    // Without channel binding "c=" must echo the gs2 header sent in client-first ("biws" for
    // "n,,", "eSws" for "y,,"); anything else is a downgrade or a confused client.
    const auto binding = attribute_value(fields[0], 'c');
    if (!binding || *binding != detail::base64_encode(detail::as_bytes(gs2_header_))) {
        return ScramStatus::Malformed;
    }
    const auto nonce = attribute_value(fields[1], 'r');
    if (!nonce || *nonce != nonce_) {
        return ScramStatus::Malformed;
    }
    for (std::size_t i = 2; i < fields.size(); ++i) {
        if (!is_attribute(fields[i]) || fields[i][0] == 'p') {
            return ScramStatus::Malformed;
        }
    }

    std::string auth_message = client_first_bare_;
    auth_message += ',';
    auth_message += server_first_;
    auth_message += ',';
    auth_message += without_proof;

    const Key client_signature = detail::hmac_sha256(secret_.stored_key, auth_message);
    Key client_key = xor_keys(*proof, client_signature);
    if (!detail::constant_time_equal(detail::sha256(client_key), secret_.stored_key)) {
        cleanse(client_key);
        return ScramStatus::BadProof;
    }
    client_key_ = client_key;
    cleanse(client_key);

    reply = "v=";
    reply += detail::base64_encode(detail::hmac_sha256(secret_.server_key, auth_message));
    return ScramStatus::Success;
}

ScramClient ScramClient::with_password(std::string_view password, std::string client_nonce) {
    ScramClient client;
    client.has_password_ = true;
    client.password_.assign(password);
    client.client_nonce_ = std::move(client_nonce);
    return client;
}

ScramClient ScramClient::with_keys(const Key& client_key, const Key& server_key,
                                   std::string client_nonce) {
    ScramClient client;
    client.client_key_ = client_key;
    client.server_key_ = server_key;
    client.client_nonce_ = std::move(client_nonce);
    return client;
}

ScramClient::~ScramClient() {
    detail::cleanse(password_);
    cleanse(client_key_);
    cleanse(server_key_);
}

std::string ScramClient::client_first() {
    client_first_bare_ = "n=,r=";
    client_first_bare_ += client_nonce_;
    if (state_ == State::Initial) {
        state_ = State::SentClientFirst;
    }
    return "n,," + client_first_bare_;
}

ScramStatus ScramClient::on_server_first(std::string_view message, std::string& client_final) {
    client_final.clear();
    if (state_ != State::SentClientFirst) {
        state_ = State::Done;
        return ScramStatus::Malformed;
    }
    state_ = State::Done;

    // server-first-message = "r=<nonce>,s=<b64 salt>,i=<iterations>"; like libpq, nothing else.
    const auto fields = split_fields(message);
    if (fields.size() != 3) {
        return ScramStatus::Malformed;
    }
    const auto nonce = attribute_value(fields[0], 'r');
    // The server must extend our nonce, or it is answering some other exchange.
    if (!nonce || nonce->size() <= client_nonce_.size() || !nonce->starts_with(client_nonce_) ||
        !detail::is_printable_nonce(*nonce)) {
        return ScramStatus::Malformed;
    }
    const auto salt_b64 = attribute_value(fields[1], 's');
    const auto salt = salt_b64 ? detail::base64_decode(*salt_b64) : std::nullopt;
    if (!salt || salt->empty()) {
        return ScramStatus::Malformed;
    }
    const auto iterations_text = attribute_value(fields[2], 'i');
    const auto iterations = iterations_text ? parse_iterations(*iterations_text) : std::nullopt;
    if (!iterations) {
        return ScramStatus::Malformed;
    }

    if (has_password_) {
        Key salted = detail::pbkdf2_sha256(password_, *salt, *iterations);
        client_key_ = detail::hmac_sha256(salted, kClientKeyLabel);
        server_key_ = detail::hmac_sha256(salted, kServerKeyLabel);
        cleanse(salted);
        detail::cleanse(password_);
    }
    // In pass-through mode the salt and iterations are not needed: the keys already embody them.

    std::string without_proof(kClientFinalBinding);
    without_proof += ",r=";
    without_proof += *nonce;

    std::string auth_message = client_first_bare_;
    auth_message += ',';
    auth_message += message;
    auth_message += ',';
    auth_message += without_proof;

    const Key stored_key = detail::sha256(client_key_);
    const Key client_signature = detail::hmac_sha256(stored_key, auth_message);
    Key proof = xor_keys(client_key_, client_signature);
    expected_server_signature_ = detail::hmac_sha256(server_key_, auth_message);

    client_final = std::move(without_proof);
    client_final += ",p=";
    client_final += detail::base64_encode(proof);
    cleanse(proof);
    state_ = State::SentClientFinal;
    return ScramStatus::Continue;
}

ScramStatus ScramClient::on_server_final(std::string_view message) {
    if (state_ != State::SentClientFinal) {
        state_ = State::Done;
        return ScramStatus::Malformed;
    }
    state_ = State::Done;

    // "e=<server-error-value>": the server rejected us (PostgreSQL itself sends ErrorResponse).
    if (attribute_value(message, 'e')) {
        return ScramStatus::BadProof;
    }
    const auto signature_b64 = attribute_value(message, 'v');
    const auto signature = signature_b64 ? decode_key(*signature_b64) : std::nullopt;
    if (!signature) {
        return ScramStatus::Malformed;
    }
    return detail::constant_time_equal(*signature, expected_server_signature_)
               ? ScramStatus::Success
               : ScramStatus::BadProof;
}

}  // namespace pgrouter::auth
