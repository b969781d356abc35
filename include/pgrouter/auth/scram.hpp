// pgrouter/auth/scram.hpp — SCRAM-SHA-256 (RFC 5802/7677) server and client exchanges as pure
// state machines, as PostgreSQL implements them. No I/O, no logging, never throws; OpenSSL is used
// only inside the .cpp files. Secrets never appear in replies other than as SCRAM requires.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgrouter::auth {

using Key = std::array<std::uint8_t, 32>;

// What PostgreSQL stores for a SCRAM role: enough to verify a client, not to log in as it.
struct ScramSecret {
    int iterations = 4096;
    std::vector<std::uint8_t> salt;
    Key stored_key{};
    Key server_key{};
};

// Parses "SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>"
// (pg_authid.rolpassword). nullopt unless iterations >= 1, the salt is non-empty and both keys
// decode to exactly 32 bytes. Base64 must be canonical (padded, no whitespace).
[[nodiscard]] std::optional<ScramSecret> parse_scram_verifier(std::string_view verifier);
[[nodiscard]] bool is_scram_verifier(std::string_view s);

// Derives the secret from a plaintext password. No SASLprep: the password bytes are used as
// given. PostgreSQL uses the raw bytes too whenever SASLprep fails, and for ASCII passwords the
// two are identical; a non-ASCII password that SASLprep would change yields a different secret
// than PostgreSQL's. iterations < 1 is treated as 1 (and stored as 1), so the secret stays
// self-consistent; callers validate configuration before getting here.
[[nodiscard]] ScramSecret scram_secret_from_password(std::string_view password,
                                                     std::span<const std::uint8_t> salt,
                                                     int iterations);

// Inverse of parse_scram_verifier.
[[nodiscard]] std::string scram_verifier_string(const ScramSecret& secret);

// 24 random bytes, base64: 32 printable characters, never ','. Aborts if the RNG fails.
[[nodiscard]] std::string scram_nonce();

enum class ScramStatus { Continue, Success, BadProof, Malformed };

// pgrouter as the SCRAM server, authenticating a client (SASLInitialResponse / SASLResponse
// payloads in, AuthenticationSASLContinue / AuthenticationSASLFinal payloads out). Only
// SCRAM-SHA-256 without channel binding is offered, so "p=" is a protocol error.
class ScramServer {
public:
    // server_nonce must be printable and contain no ',' (use scram_nonce()).
    ScramServer(ScramSecret secret, std::string server_nonce);
    ~ScramServer();
    ScramServer(const ScramServer&) = default;
    ScramServer(ScramServer&&) noexcept = default;
    ScramServer& operator=(const ScramServer&) = default;
    ScramServer& operator=(ScramServer&&) noexcept = default;

    // client-first-message -> server-first-message in reply. Accepts gs2 headers "n,," and
    // "y,,"; channel binding ("p=..."), an authzid or a reserved "m=" extension is Malformed.
    // The username attribute is required but ignored (PostgreSQL takes it from StartupMessage).
    // Returns Continue or Malformed; reply is cleared unless Continue.
    [[nodiscard]] ScramStatus on_client_first(std::string_view message, std::string& reply);

    // client-final-message -> server-final-message ("v=...") in reply. Success, BadProof (wrong
    // password) or Malformed (bad syntax, nonce mismatch, wrong channel-binding data, or called
    // out of order). reply is cleared unless Success: like PostgreSQL, the caller answers a bad
    // proof with ErrorResponse 28P01, not with a server-final "e=".
    [[nodiscard]] ScramStatus on_client_final(std::string_view message, std::string& reply);

    // Valid after Success: the ClientKey the client proved it knows (ClientProof XOR
    // ClientSignature), for pass-through to a server storing the same verifier. All zero before.
    // It is password-equivalent for that verifier: keep it in memory only, never log it.
    [[nodiscard]] const Key& client_key() const noexcept { return client_key_; }

private:
    enum class State { ExpectClientFirst, ExpectClientFinal, Done };

    ScramSecret secret_;
    std::string server_nonce_;
    State state_ = State::ExpectClientFirst;
    std::string gs2_header_;         // "n,," or "y,,", echoed base64 in the client-final "c="
    std::string nonce_;              // client nonce + server nonce
    std::string client_first_bare_;  // AuthMessage part 1
    std::string server_first_;       // AuthMessage part 2
    Key client_key_{};
};

// pgrouter as the SCRAM client, authenticating to a PostgreSQL server.
class ScramClient {
public:
    // client_nonce must be printable and contain no ',' (use scram_nonce()). The password is
    // used without SASLprep (see scram_secret_from_password).
    static ScramClient with_password(std::string_view password, std::string client_nonce);

    // Pass-through: no plaintext. client_key comes from ScramServer::client_key() of an earlier
    // client exchange, server_key from the configured verifier. Works only when the server stores
    // the same verifier (same salt and iterations); otherwise the server rejects the proof.
    static ScramClient with_keys(const Key& client_key, const Key& server_key,
                                 std::string client_nonce);

    ~ScramClient();
    ScramClient(const ScramClient&) = default;
    ScramClient(ScramClient&&) noexcept = default;
    ScramClient& operator=(const ScramClient&) = default;
    ScramClient& operator=(ScramClient&&) noexcept = default;

    // "n,,n=,r=<nonce>": the SASLInitialResponse data. The username is sent empty, as libpq
    // does; PostgreSQL uses the StartupMessage user.
    [[nodiscard]] std::string client_first();

    // server-first-message -> client-final-message. Continue, or Malformed (nonce not extending
    // ours, iterations < 1, bad base64, unexpected attributes, or called before client_first()).
    // The PBKDF2 cost is set by the server's "i=" (password mode only). client_final is cleared
    // unless Continue.
    [[nodiscard]] ScramStatus on_server_first(std::string_view message, std::string& client_final);

    // server-final-message: Success if "v=" matches the expected ServerSignature; BadProof on a
    // mismatch or "e=..."; Malformed on bad syntax or when called out of order.
    [[nodiscard]] ScramStatus on_server_final(std::string_view message);

private:
    enum class State { Initial, SentClientFirst, SentClientFinal, Done };

    ScramClient() = default;

    bool has_password_ = false;
    std::string password_;  // wiped once SaltedPassword is derived
    Key client_key_{};      // with_keys, or derived in on_server_first
    Key server_key_{};
    std::string client_nonce_;
    State state_ = State::Initial;
    std::string client_first_bare_;
    Key expected_server_signature_{};
};

}  // namespace pgrouter::auth
