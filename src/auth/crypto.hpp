// src/auth/crypto.hpp — private OpenSSL wrappers shared by md5.cpp and scram.cpp (base64, SHA-256,
// HMAC, PBKDF2, constant-time compare). Not installed; nothing outside src/auth includes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "pgrouter/auth/scram.hpp"

namespace pgrouter::auth::detail {

std::span<const std::uint8_t> as_bytes(std::string_view s) noexcept;

// Standard alphabet with '=' padding, no line breaks.
std::string base64_encode(std::span<const std::uint8_t> data);

// Strict: length a multiple of 4, only alphabet characters, at most two '=' and only at the end.
// EVP_DecodeBlock alone would accept surrounding whitespace and report padded lengths.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

Key sha256(std::span<const std::uint8_t> data);
Key hmac_sha256(std::span<const std::uint8_t> key, std::string_view data);
Key pbkdf2_sha256(std::string_view password, std::span<const std::uint8_t> salt, int iterations);

// CRYPTO_memcmp over equal lengths; different lengths compare unequal (lengths are not secret).
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;

void cleanse(void* p, std::size_t n) noexcept;
void cleanse(std::string& s) noexcept;

// A printable RFC 5802 nonce: non-empty, %x21-7E except ','.
bool is_printable_nonce(std::string_view s) noexcept;

}  // namespace pgrouter::auth::detail
