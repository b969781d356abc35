// src/auth/md5.cpp — PostgreSQL md5 authentication arithmetic and the RAND_bytes wrapper.
// Pure: no I/O, no logging; the only failure paths are "not an md5 hash" and a dead RNG (abort).
#include "pgrouter/auth/md5.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdlib>

#include "crypto.hpp"

namespace pgrouter::auth {

namespace {

constexpr std::string_view kMd5Prefix = "md5";
constexpr std::size_t kMd5HexLen = 32;

std::string md5_hex_of_parts(std::string_view a, std::span<const std::uint8_t> b) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::array<unsigned char, 16> digest{};
    unsigned int len = 0;
    const bool ok = ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_md5(), nullptr) == 1 &&
                    EVP_DigestUpdate(ctx, a.data(), a.size()) == 1 &&
                    EVP_DigestUpdate(ctx, b.data(), b.size()) == 1 &&
                    EVP_DigestFinal_ex(ctx, digest.data(), &len) == 1 && len == digest.size();
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        // MD5 is in OpenSSL's default provider; losing it means a broken install, not bad input.
        std::abort();
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out(kMd5HexLen, '0');
    for (std::size_t i = 0; i < digest.size(); ++i) {
        out[2 * i] = kHex[digest[i] >> 4];
        out[2 * i + 1] = kHex[digest[i] & 0x0f];
    }
    return out;
}

}  // namespace

std::string md5_hex(std::string_view data) {
    return md5_hex_of_parts(data, {});
}

std::string md5_user_hash(std::string_view password, std::string_view user) {
    // PostgreSQL's pg_md5_encrypt(passwd, salt = role name): md5(password || user).
    std::string out(kMd5Prefix);
    out += md5_hex_of_parts(password, detail::as_bytes(user));
    return out;
}

std::string md5_salted_response(std::string_view user_hash, std::span<const std::uint8_t, 4> salt) {
    if (!is_md5_hash(user_hash)) {
        return {};
    }
    // libpq hashes the 32 hex characters (without "md5") followed by the 4 raw salt bytes.
    std::string out(kMd5Prefix);
    out += md5_hex_of_parts(user_hash.substr(kMd5Prefix.size()), salt);
    return out;
}

bool md5_verify(std::string_view user_hash, std::span<const std::uint8_t, 4> salt,
                std::string_view client_response) {
    const std::string expected = md5_salted_response(user_hash, salt);
    if (expected.empty()) {
        return false;
    }
    return detail::constant_time_equal(detail::as_bytes(expected),
                                       detail::as_bytes(client_response));
}

bool is_md5_hash(std::string_view s) noexcept {
    if (s.size() != kMd5Prefix.size() + kMd5HexLen || !s.starts_with(kMd5Prefix)) {
        return false;
    }
    return std::all_of(s.begin() + kMd5Prefix.size(), s.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void random_bytes(std::span<std::uint8_t> out) noexcept {
    // RAND_bytes takes an int length; chunk so any span size is honoured.
    while (!out.empty()) {
        const std::size_t n = std::min<std::size_t>(out.size(), INT_MAX);
        if (RAND_bytes(out.data(), static_cast<int>(n)) != 1) {
            std::abort();
        }
        out = out.subspan(n);
    }
}

}  // namespace pgrouter::auth
