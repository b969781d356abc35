// Unit tests for sharding::shard_hash and slot_of: golden vectors of the README "Shard hash"
// definition, and every spelling of one number hashing alike.
#include "pgrouter/sharding/shard_hash.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

namespace pgrouter::sharding {
namespace {

using config::ShardKeyType;

// Golden vectors, computed outside pgrouter by a throwaway C program against Debian 12's
// libxxhash 0.8.1: XXH3_64bits_withSeed(bytes, len, 0) over the 8 little-endian bytes of the
// int64, the UTF-8 bytes of the text, or the 16 bytes of the uuid; checked again with Debian's
// python3-xxhash 3.2.0 (the README's snippet, xxhash.xxh3_64_intdigest). Slot = hash % 1024.
struct Golden {
    std::uint64_t hash;
    std::uint32_t slot_1024;
};
constexpr Golden kBigint42{0xd5a6f8c838df27c8ULL, 968};
constexpr Golden kBigintMinus1{0x5111c7e47d784413ULL, 19};
constexpr Golden kBigint0{0xc77b3abb6f87acd9ULL, 217};
constexpr Golden kBigintMax{0xa233cf376558df46ULL, 838};  // 9223372036854775807
constexpr Golden kBigintMin{0x828f2476789a0e5fULL, 607};  // -9223372036854775808
constexpr Golden kTextAlice{0x4da10dd61a0116b0ULL, 688};
constexpr Golden kTextEmpty{0x2d06800538d394c2ULL, 194};
constexpr Golden kTextEAcute{0xf7940a006cf10cb3ULL, 179};  // 'é' = C3 A9
constexpr Golden kUuid{0x55df69482c6d3767ULL, 871};        // a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11

std::uint64_t text_hash(std::string_view text, ShardKeyType type) {
    KeyParse parsed = key_from_text(text, type);
    EXPECT_TRUE(parsed.ok()) << text;
    return shard_hash(parsed.key);
}

std::vector<std::uint8_t> be(std::uint64_t value, std::size_t width) {
    std::vector<std::uint8_t> bytes(width);
    for (std::size_t i = 0; i < width; ++i) {
        bytes[width - 1 - i] = static_cast<std::uint8_t>(value >> (8 * i));
    }
    return bytes;
}

std::uint64_t binary_hash(std::int64_t value, std::size_t width, std::uint32_t type_oid,
                          ShardKeyType type = ShardKeyType::Bigint) {
    std::vector<std::uint8_t> bytes = be(static_cast<std::uint64_t>(value), width);
    KeyParse parsed = key_from_param(bytes, ParamFormat::Binary, type_oid, type);
    EXPECT_TRUE(parsed.ok()) << value << " width " << width;
    return shard_hash(parsed.key);
}

config::ShardingConfig sharding(config::ShardFunction function, std::uint32_t slots) {
    config::ShardingConfig config;
    config.function = function;
    config.slots = slots;
    return config;
}

TEST(ShardHash, BigintGoldenVectors) {
    EXPECT_EQ(text_hash("42", ShardKeyType::Bigint), kBigint42.hash);
    EXPECT_EQ(text_hash("-1", ShardKeyType::Bigint), kBigintMinus1.hash);
    EXPECT_EQ(text_hash("0", ShardKeyType::Bigint), kBigint0.hash);
    EXPECT_EQ(text_hash("9223372036854775807", ShardKeyType::Bigint), kBigintMax.hash);
    EXPECT_EQ(text_hash("-9223372036854775808", ShardKeyType::Bigint), kBigintMin.hash);
    EXPECT_EQ(shard_hash(ShardKey::integer(42)), kBigint42.hash);
}

TEST(ShardHash, TextAndUuidGoldenVectors) {
    EXPECT_EQ(text_hash("alice", ShardKeyType::Text), kTextAlice.hash);
    EXPECT_EQ(text_hash("", ShardKeyType::Text), kTextEmpty.hash);
    EXPECT_EQ(text_hash("\xc3\xa9", ShardKeyType::Text), kTextEAcute.hash);
    EXPECT_EQ(text_hash("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", ShardKeyType::Uuid), kUuid.hash);
}

TEST(ShardHash, IsXxh3OverTheBytesWithSeedZero) {
    const std::vector<std::uint8_t> le42{42, 0, 0, 0, 0, 0, 0, 0};
    EXPECT_EQ(shard_hash(le42), kBigint42.hash);
    EXPECT_EQ(shard_hash(std::span<const std::uint8_t>{}), kTextEmpty.hash);
}

TEST(ShardHash, FortyTwoHashesAlikeInEverySpelling) {
    for (ShardKeyType type :
         {ShardKeyType::Smallint, ShardKeyType::Integer, ShardKeyType::Bigint}) {
        EXPECT_EQ(text_hash("42", type), kBigint42.hash);
        EXPECT_EQ(text_hash(" +42 ", type), kBigint42.hash);
        EXPECT_EQ(binary_hash(42, 2, oid::kInt2, type), kBigint42.hash);
        EXPECT_EQ(binary_hash(42, 4, oid::kInt4, type), kBigint42.hash);
        EXPECT_EQ(binary_hash(42, 8, oid::kInt8, type), kBigint42.hash);
        EXPECT_EQ(binary_hash(42, 4, oid::kUnspecified, type), kBigint42.hash);
    }
    // A text-format parameter is its text, whatever OID it was declared with.
    const std::string_view text = "42";
    for (std::uint32_t type_oid : {oid::kUnspecified, oid::kInt2, oid::kInt4, oid::kInt8}) {
        KeyParse parsed =
            key_from_param({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()},
                           ParamFormat::Text, type_oid, ShardKeyType::Bigint);
        ASSERT_TRUE(parsed.ok());
        EXPECT_EQ(shard_hash(parsed.key), kBigint42.hash);
    }
}

TEST(ShardHash, NegativeNumbersHashAlikeInEveryWidth) {
    EXPECT_EQ(binary_hash(-1, 2, oid::kInt2), kBigintMinus1.hash);
    EXPECT_EQ(binary_hash(-1, 4, oid::kInt4), kBigintMinus1.hash);
    EXPECT_EQ(binary_hash(-1, 8, oid::kInt8), kBigintMinus1.hash);
    EXPECT_EQ(binary_hash(-32768, 2, oid::kInt2), text_hash("-32768", ShardKeyType::Bigint));
    EXPECT_EQ(binary_hash(std::numeric_limits<std::int64_t>::max(), 8, oid::kInt8),
              kBigintMax.hash);
}

TEST(ShardHash, BinaryTextAndUuidParametersMatchTheirText) {
    const std::vector<std::uint8_t> alice{'a', 'l', 'i', 'c', 'e'};
    for (std::uint32_t type_oid : {oid::kText, oid::kVarchar, oid::kUnspecified}) {
        KeyParse parsed = key_from_param(alice, ParamFormat::Binary, type_oid, ShardKeyType::Text);
        ASSERT_TRUE(parsed.ok());
        EXPECT_EQ(shard_hash(parsed.key), kTextAlice.hash);
    }
    const std::vector<std::uint8_t> uuid{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8,
                                         0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11};
    KeyParse parsed = key_from_param(uuid, ParamFormat::Binary, oid::kUuid, ShardKeyType::Uuid);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(shard_hash(parsed.key), kUuid.hash);
}

TEST(SlotOf, HashModSlots) {
    const auto xxh3 = sharding(config::ShardFunction::Xxh3, 1024);
    EXPECT_EQ(slot_of(ShardKey::integer(42), xxh3), kBigint42.slot_1024);
    EXPECT_EQ(slot_of(ShardKey::integer(-1), xxh3), kBigintMinus1.slot_1024);
    EXPECT_EQ(slot_of(ShardKey::integer(0), xxh3), kBigint0.slot_1024);
    EXPECT_EQ(slot_of(ShardKey::text("alice"), xxh3), kTextAlice.slot_1024);
    EXPECT_EQ(slot_of(ShardKey::text(""), xxh3), kTextEmpty.slot_1024);
    EXPECT_EQ(slot_of(ShardKey::text("\xc3\xa9"), xxh3), kTextEAcute.slot_1024);
    EXPECT_EQ(slot_of_hash(kBigintMax.hash, 1024), kBigintMax.slot_1024);
    EXPECT_EQ(slot_of_hash(kBigintMin.hash, 1024), kBigintMin.slot_1024);
    EXPECT_EQ(slot_of_hash(kUuid.hash, 1024), kUuid.slot_1024);
    EXPECT_EQ(slot_of(ShardKey::integer(42), sharding(config::ShardFunction::Xxh3, 1)), 0u);
}

TEST(SlotOf, ModuloIsNonNegative) {
    const auto modulo = sharding(config::ShardFunction::Modulo, 1024);
    EXPECT_EQ(slot_of(ShardKey::integer(42), modulo), 42u);
    EXPECT_EQ(slot_of(ShardKey::integer(1024), modulo), 0u);
    EXPECT_EQ(slot_of(ShardKey::integer(1025), modulo), 1u);
    EXPECT_EQ(slot_of(ShardKey::integer(-1), modulo), 1023u);
    EXPECT_EQ(slot_of(ShardKey::integer(-1024), modulo), 0u);
    EXPECT_EQ(slot_of(ShardKey::integer(-1025), modulo), 1023u);
    EXPECT_EQ(slot_of_modulo(std::numeric_limits<std::int64_t>::max(), 1024), 1023u);
    EXPECT_EQ(slot_of_modulo(std::numeric_limits<std::int64_t>::min(), 1024), 0u);
    EXPECT_EQ(slot_of_modulo(std::numeric_limits<std::int64_t>::min(), 1000), 192u);
    EXPECT_EQ(slot_of_modulo(-7, 3), 2u);
    EXPECT_EQ(slot_of_modulo(-7, 0xffffffffu), 0xffffffffu - 7);
}

TEST(SlotOf, RefusesWhatValidationRefuses) {
    EXPECT_FALSE(slot_of(ShardKey::text("42"), sharding(config::ShardFunction::Modulo, 1024)));
    EXPECT_FALSE(slot_of(ShardKey::integer(42), sharding(config::ShardFunction::Xxh3, 0)));
    EXPECT_FALSE(slot_of(ShardKey::integer(42), sharding(config::ShardFunction::Modulo, 0)));
}

}  // namespace
}  // namespace pgrouter::sharding
