// tests/unit/auth/md5_test.cpp — md5 hashing against vectors from PostgreSQL 15 and independent
// tools (md5sum, Python hashlib). Pure: no sockets, no server.
#include "pgrouter/auth/md5.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace pgrouter::auth {
namespace {

// pg_authid.rolpassword for role "app" with password 'app', written by PostgreSQL 15 with
// password_encryption = md5 (also `printf appapp | md5sum`).
constexpr std::string_view kAppHash = "md5fe63fea7be31b0200b496d08bc6b517d";
constexpr std::array<std::uint8_t, 4> kSalt{1, 2, 3, 4};
// Python: "md5" + hashlib.md5(b"fe63fea7be31b0200b496d08bc6b517d" + bytes([1,2,3,4])).hexdigest()
constexpr std::string_view kAppResponse = "md5c1007ebbc6ecc151a46d7e2af0f47b66";

TEST(Md5Hex, MatchesRfc1321Vectors) {
    EXPECT_EQ(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    EXPECT_EQ(md5_hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(Md5UserHash, MatchesPostgresRolpassword) {
    EXPECT_EQ(md5_user_hash("app", "app"), kAppHash);
}

TEST(Md5UserHash, DependsOnUserName) {
    EXPECT_NE(md5_user_hash("app", "app"), md5_user_hash("app", "other"));
}

TEST(Md5SaltedResponse, MatchesIndependentComputation) {
    EXPECT_EQ(md5_salted_response(kAppHash, kSalt), kAppResponse);
}

TEST(Md5SaltedResponse, IsEmptyForInvalidUserHash) {
    EXPECT_EQ(md5_salted_response("app", kSalt), "");
    EXPECT_EQ(md5_salted_response("SCRAM-SHA-256$4096:abc", kSalt), "");
}

TEST(Md5Verify, AcceptsCorrectResponse) {
    EXPECT_TRUE(md5_verify(kAppHash, kSalt, kAppResponse));
    EXPECT_TRUE(md5_verify(kAppHash, kSalt, md5_salted_response(kAppHash, kSalt)));
}

TEST(Md5Verify, RejectsWrongPasswordSaltOrShape) {
    const std::array<std::uint8_t, 4> other_salt{1, 2, 3, 5};
    const std::string wrong = md5_salted_response(md5_user_hash("wrong", "app"), kSalt);
    EXPECT_FALSE(md5_verify(kAppHash, kSalt, wrong));
    EXPECT_FALSE(md5_verify(kAppHash, other_salt, kAppResponse));
    EXPECT_FALSE(md5_verify(kAppHash, kSalt, kAppResponse.substr(0, 34)));
    EXPECT_FALSE(md5_verify(kAppHash, kSalt, std::string(kAppResponse) + '\0'));
    EXPECT_FALSE(md5_verify(kAppHash, kSalt, ""));
    EXPECT_FALSE(md5_verify(kAppHash, kSalt, "app"));
    std::string upper(kAppResponse);
    std::transform(upper.begin(), upper.end(), upper.begin(),
                   [](char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; });
    EXPECT_FALSE(md5_verify(kAppHash, kSalt, upper));
}

TEST(Md5Verify, RejectsEverythingForInvalidUserHash) {
    // An empty stored hash must not be satisfied by an empty response.
    EXPECT_FALSE(md5_verify("", kSalt, ""));
    EXPECT_FALSE(md5_verify("app", kSalt, md5_salted_response("app", kSalt)));
}

TEST(IsMd5Hash, AcceptsOnlyPrefixAnd32LowercaseHex) {
    EXPECT_TRUE(is_md5_hash(kAppHash));
    EXPECT_FALSE(is_md5_hash(""));
    EXPECT_FALSE(is_md5_hash("md5"));
    EXPECT_FALSE(is_md5_hash(kAppHash.substr(0, 34)));
    EXPECT_FALSE(is_md5_hash(std::string(kAppHash) + "0"));
    EXPECT_FALSE(is_md5_hash("MD5fe63fea7be31b0200b496d08bc6b517d"));
    EXPECT_FALSE(is_md5_hash("md5FE63FEA7BE31B0200B496D08BC6B517D"));
    EXPECT_FALSE(is_md5_hash("md5fe63fea7be31b0200b496d08bc6b517g"));
    EXPECT_FALSE(is_md5_hash("xyzfe63fea7be31b0200b496d08bc6b517d"));
}

TEST(RandomBytes, FillsBufferWithFreshBytes) {
    std::array<std::uint8_t, 32> a{};
    std::array<std::uint8_t, 32> b{};
    random_bytes(a);
    random_bytes(b);
    // 2^-256 chance of a false failure for each check.
    EXPECT_NE(a, (std::array<std::uint8_t, 32>{}));
    EXPECT_NE(a, b);
}

}  // namespace
}  // namespace pgrouter::auth
