// pgrouter/auth/md5.hpp — PostgreSQL md5 password hashing and verification, plus the process RNG.
// Pure: no I/O, no logging, never throws; secrets never appear in return values other than hashes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pgrouter::auth {

// 32 lowercase hex characters of MD5(data).
[[nodiscard]] std::string md5_hex(std::string_view data);

// "md5" + md5_hex(password + user): what PostgreSQL stores in pg_authid.rolpassword for md5 roles.
[[nodiscard]] std::string md5_user_hash(std::string_view password, std::string_view user);

// The PasswordMessage a client sends in reply to AuthenticationMD5Password:
// "md5" + md5_hex(hex part of user_hash + salt). Returns an empty string when user_hash is not
// is_md5_hash(), so a bad configured hash can never be sent as a password.
[[nodiscard]] std::string md5_salted_response(std::string_view user_hash,
                                              std::span<const std::uint8_t, 4> salt);

// Constant-time check of a client's PasswordMessage (the string without its terminating NUL)
// against the stored user hash. False when user_hash is not is_md5_hash().
[[nodiscard]] bool md5_verify(std::string_view user_hash, std::span<const std::uint8_t, 4> salt,
                              std::string_view client_response);

// "md5" followed by exactly 32 lowercase hex digits (PostgreSQL always writes lowercase, and the
// hex text itself is hashed in the salted response, so upper case could never verify).
[[nodiscard]] bool is_md5_hash(std::string_view s) noexcept;

// Fills `out` from OpenSSL's CSPRNG (RAND_bytes). Calls std::abort() if the RNG fails: without
// randomness salts and nonces are predictable, and there is no safe way to continue.
void random_bytes(std::span<std::uint8_t> out) noexcept;

}  // namespace pgrouter::auth
