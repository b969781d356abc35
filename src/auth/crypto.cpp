// src/auth/crypto.cpp — the only place auth calls OpenSSL primitives directly. Internal failures
// of OpenSSL (allocation) abort: STYLE.md treats running out of memory as fatal, and an auth
// decision must never be made on a half-computed digest.
#include "crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>

namespace pgrouter::auth::detail {

std::span<const std::uint8_t> as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

std::string base64_encode(std::span<const std::uint8_t> data) {
    // EVP_EncodeBlock writes 4 bytes per started 3-byte group plus a terminating NUL.
    std::string out((data.size() + 2) / 3 * 4 + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                                  static_cast<int>(data.size()));
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
}

namespace {

bool is_base64_char(char c) noexcept {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

}  // namespace

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = 0;
    if (!text.empty() && text.back() == '=') {
        padding = (text.size() >= 2 && text[text.size() - 2] == '=') ? 2 : 1;
    }
    for (std::size_t i = 0; i < text.size() - padding; ++i) {
        if (!is_base64_char(text[i])) {
            return std::nullopt;
        }
    }
    std::vector<std::uint8_t> out(text.size() / 4 * 3);
    if (text.empty()) {
        return out;
    }
    // EVP_DecodeBlock returns the padded length (a multiple of 3); the '=' count gives the truth.
    const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
    if (n < 0 || static_cast<std::size_t>(n) != out.size()) {
        return std::nullopt;
    }
    out.resize(out.size() - padding);
    return out;
}

Key sha256(std::span<const std::uint8_t> data) {
    Key out{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
        len != out.size()) {
        std::abort();
    }
    return out;
}

Key hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) {
    Key out{};
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
             &len) == nullptr ||
        len != out.size()) {
        std::abort();
    }
    return out;
}

Key pbkdf2_sha256(std::string_view password, std::span<const std::uint8_t> salt, int iterations) {
    // Empty spans may carry a null pointer, which OpenSSL's parameter plumbing treats as "absent"
    // rather than "zero bytes"; point at a real byte instead.
    static const char kEmpty = 0;
    const char* pass = password.empty() ? &kEmpty : password.data();
    const auto* salt_bytes =
        salt.empty() ? reinterpret_cast<const unsigned char*>(&kEmpty) : salt.data();
    Key out{};
    if (PKCS5_PBKDF2_HMAC(pass, static_cast<int>(password.size()), salt_bytes,
                          static_cast<int>(salt.size()), iterations, EVP_sha256(),
                          static_cast<int>(out.size()), out.data()) != 1) {
        std::abort();
    }
    return out;
}

bool constant_time_equal(std::span<const std::uint8_t> a,
                         std::span<const std::uint8_t> b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void cleanse(void* p, std::size_t n) noexcept {
    if (n != 0) {
        OPENSSL_cleanse(p, n);
    }
}

void cleanse(std::string& s) noexcept {
    cleanse(s.data(), s.size());
    s.clear();
}

bool is_printable_nonce(std::string_view s) noexcept {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (c < 0x21 || c > 0x7e || c == ',') {
            return false;
        }
    }
    return true;
}

}  // namespace pgrouter::auth::detail
