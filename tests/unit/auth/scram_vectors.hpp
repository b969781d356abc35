// tests/unit/auth/scram_vectors.hpp — SCRAM test vectors shared by scram_test and scram_fuzz_test:
// RFC 7677, a PostgreSQL 15 verifier, and values computed independently with Python hashlib/hmac.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "pgrouter/auth/scram.hpp"

// Namespace-scope constexpr has internal linkage, so each test file gets its own copy.
namespace pgrouter::auth {

// RFC 7677 section 3 exchange (user "user", password "pencil").
constexpr std::string_view kRfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
// StoredKey/ServerKey for "pencil" with the RFC salt, from Python hashlib.pbkdf2_hmac + hmac.
constexpr std::string_view kPencilVerifier =
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

// HMAC(SaltedPassword, "Client Key") for "pencil" with the RFC salt, from Python.
constexpr Key kPencilClientKey{0xa6, 0x0f, 0xc9, 0x23, 0xd6, 0x7e, 0x86, 0x44, 0xa9, 0x2d, 0x16,
                               0xb9, 0x6e, 0xda, 0x5e, 0xf4, 0x65, 0x6b, 0x0c, 0x72, 0x5c, 0x48,
                               0x43, 0x74, 0xbe, 0x25, 0x53, 0x55, 0x76, 0x99, 0x6e, 0x8b};

// pg_authid.rolpassword for password 'app', written by PostgreSQL 15 (CREATE ROLE ... PASSWORD).
constexpr std::string_view kPostgresAppVerifier =
    "SCRAM-SHA-256$4096:Xy4ovWUNM8P5m8sv4wuKmA==$cnhbfa6vQSapbsNCWfh80km99cxZw77N/avjR72MeIE=:"
    "QKrQAelP5pUl8klyoTpHUyBFZCmdeYT98ZobRn1gpns=";
// HMAC(SaltedPassword, "Client Key") for that verifier, from Python.
constexpr Key kPostgresAppClientKey{
    0x4b, 0x7d, 0x9f, 0x79, 0x58, 0xdf, 0x76, 0xb9, 0x1d, 0xca, 0xa1, 0x63, 0x5c, 0x45, 0xb9, 0x76,
    0x55, 0x7f, 0x5b, 0x66, 0x00, 0x72, 0xa1, 0xe7, 0x98, 0x70, 0x01, 0x12, 0xeb, 0x67, 0xf8, 0x31};

inline ScramSecret secret_of(std::string_view verifier) {
    auto secret = parse_scram_verifier(verifier);
    EXPECT_TRUE(secret.has_value()) << verifier;
    return secret.value_or(ScramSecret{});
}

inline ScramServer rfc_server() {
    return ScramServer(secret_of(kPencilVerifier), std::string(kRfcServerNonce));
}

}  // namespace pgrouter::auth
