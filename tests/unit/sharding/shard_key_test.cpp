// Unit tests for sharding::ShardKey, key_from_text and key_from_param: PostgreSQL 15's input
// rules for each key type, binary parameters, and errors as values.
#include "pgrouter/sharding/shard_key.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace pgrouter::sharding {
namespace {

using config::ShardKeyType;

KeyError error_of(std::string_view text, ShardKeyType type) {
    return key_from_text(text, type).error;
}

std::int64_t integer_of(std::string_view text, ShardKeyType type = ShardKeyType::Bigint) {
    KeyParse parsed = key_from_text(text, type);
    EXPECT_TRUE(parsed.ok()) << "'" << text << "': " << to_string(parsed.error);
    EXPECT_EQ(parsed.key.kind(), ShardKey::Kind::Integer);
    return parsed.key.integer_value();
}

std::vector<std::uint8_t> uuid_bytes_of(std::string_view text) {
    KeyParse parsed = key_from_text(text, ShardKeyType::Uuid);
    EXPECT_TRUE(parsed.ok()) << text;
    std::span<const std::uint8_t> bytes = parsed.key.hash_bytes();
    return {bytes.begin(), bytes.end()};
}

KeyParse binary(std::vector<std::uint8_t> bytes, std::uint32_t type_oid, ShardKeyType type) {
    return key_from_param(bytes, ParamFormat::Binary, type_oid, type);
}

const std::vector<std::uint8_t> kUuidBytes{0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8,
                                           0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11};

TEST(ShardKey, IntegerBytesAreLittleEndianTwosComplement) {
    // hash_bytes() points into the key, so the key must outlive the span.
    const ShardKey big = ShardKey::integer(0x0102030405060708);
    std::span<const std::uint8_t> bytes = big.hash_bytes();
    EXPECT_EQ(std::vector<std::uint8_t>(bytes.begin(), bytes.end()),
              (std::vector<std::uint8_t>{8, 7, 6, 5, 4, 3, 2, 1}));
    const ShardKey minus_two = ShardKey::integer(-2);
    bytes = minus_two.hash_bytes();
    EXPECT_EQ(std::vector<std::uint8_t>(bytes.begin(), bytes.end()),
              (std::vector<std::uint8_t>{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
}

TEST(ShardKey, TextBorrowsItsBytes) {
    const std::string value = "alice";
    ShardKey key = ShardKey::text(value);
    EXPECT_EQ(key.kind(), ShardKey::Kind::Text);
    EXPECT_EQ(key.hash_bytes().data(), reinterpret_cast<const std::uint8_t*>(value.data()));
    EXPECT_EQ(key.hash_bytes().size(), 5u);
    ShardKey copy = key;
    EXPECT_EQ(copy.text_value(), "alice");
}

TEST(KeyFromText, IntegersAsPostgresReadsThem) {
    EXPECT_EQ(integer_of("42"), 42);
    EXPECT_EQ(integer_of("+42"), 42);
    EXPECT_EQ(integer_of("-7"), -7);
    EXPECT_EQ(integer_of("  42\t\n"), 42);
    EXPECT_EQ(integer_of("\v\f\r-0 "), 0);
    EXPECT_EQ(integer_of("007"), 7);
    EXPECT_EQ(integer_of("9223372036854775807"), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(integer_of("-9223372036854775808"), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(integer_of("32767", ShardKeyType::Smallint), 32767);
    EXPECT_EQ(integer_of("-32768", ShardKeyType::Smallint), -32768);
    EXPECT_EQ(integer_of("2147483647", ShardKeyType::Integer), 2147483647);
    EXPECT_EQ(integer_of("-2147483648", ShardKeyType::Integer), -2147483648LL);
}

TEST(KeyFromText, RejectsWhatPostgresRejects) {
    for (std::string_view bad : {"", " ", "-", "+", "4.0", "0x10", "1_000", "1e3", "42abc", "abc",
                                 "4 2", "--1", "+-1", " - 1", "４２"}) {
        EXPECT_EQ(error_of(bad, ShardKeyType::Bigint), KeyError::NotAnInteger) << bad;
        EXPECT_EQ(error_of(bad, ShardKeyType::Smallint), KeyError::NotAnInteger) << bad;
    }
    EXPECT_EQ(error_of(std::string_view("42\0", 3), ShardKeyType::Bigint), KeyError::NotAnInteger);
}

TEST(KeyFromText, IntegerRangesFollowTheKeyType) {
    EXPECT_EQ(error_of("32768", ShardKeyType::Smallint), KeyError::OutOfRange);
    EXPECT_EQ(error_of("-32769", ShardKeyType::Smallint), KeyError::OutOfRange);
    EXPECT_EQ(error_of("2147483648", ShardKeyType::Integer), KeyError::OutOfRange);
    EXPECT_EQ(error_of("-2147483649", ShardKeyType::Integer), KeyError::OutOfRange);
    EXPECT_EQ(error_of("9223372036854775808", ShardKeyType::Bigint), KeyError::OutOfRange);
    EXPECT_EQ(error_of("-9223372036854775809", ShardKeyType::Bigint), KeyError::OutOfRange);
    EXPECT_EQ(error_of("99999999999999999999999", ShardKeyType::Bigint), KeyError::OutOfRange);
    // As in pg_strtoint16: overflow is reported before the trailing garbage is seen.
    EXPECT_EQ(error_of("70000x", ShardKeyType::Smallint), KeyError::OutOfRange);
    EXPECT_EQ(integer_of("70000", ShardKeyType::Integer), 70000);
}

TEST(KeyFromText, UuidForms) {
    EXPECT_EQ(uuid_bytes_of("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), kUuidBytes);
    EXPECT_EQ(uuid_bytes_of("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"), kUuidBytes);
    EXPECT_EQ(uuid_bytes_of("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"), kUuidBytes);
    EXPECT_EQ(uuid_bytes_of("a0eebc999c0b4ef8bb6d6bb9bd380a11"), kUuidBytes);
    // PostgreSQL's docs list these too: a hyphen may follow any group of four digits.
    EXPECT_EQ(uuid_bytes_of("a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11"), kUuidBytes);
    EXPECT_EQ(uuid_bytes_of("{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}"), kUuidBytes);
}

TEST(KeyFromText, InvalidUuids) {
    for (std::string_view bad :
         {"", "a0eebc99", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
          "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
          "-a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",
          "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
          "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}", " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
          "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "{}"}) {
        EXPECT_EQ(error_of(bad, ShardKeyType::Uuid), KeyError::InvalidUuid) << bad;
    }
}

TEST(KeyFromText, TextIsTakenAsIs) {
    for (std::string_view text : {"", " 42 ", "alice", "\xc3\xa9"}) {
        KeyParse parsed = key_from_text(text, ShardKeyType::Text);
        ASSERT_TRUE(parsed.ok());
        EXPECT_EQ(parsed.key.kind(), ShardKey::Kind::Text);
        EXPECT_EQ(parsed.key.text_value(), text);
    }
}

TEST(KeyFromParam, BinaryIntegers) {
    EXPECT_EQ(binary({0xff, 0xfe}, oid::kInt2, ShardKeyType::Bigint).key.integer_value(), -2);
    EXPECT_EQ(binary({0x80, 0, 0, 0}, oid::kInt4, ShardKeyType::Bigint).key.integer_value(),
              -2147483648LL);
    EXPECT_EQ(
        binary({0, 0, 0, 1, 0, 0, 0, 0}, oid::kInt8, ShardKeyType::Bigint).key.integer_value(),
        4294967296LL);
    EXPECT_EQ(binary({0x7f, 0xff}, oid::kUnspecified, ShardKeyType::Smallint).key.integer_value(),
              32767);
}

TEST(KeyFromParam, BinaryErrors) {
    EXPECT_EQ(binary({0, 42}, oid::kInt4, ShardKeyType::Bigint).error, KeyError::BadBinaryLength);
    EXPECT_EQ(binary({0, 0, 42}, oid::kUnspecified, ShardKeyType::Bigint).error,
              KeyError::BadBinaryLength);
    EXPECT_EQ(binary({}, oid::kInt8, ShardKeyType::Bigint).error, KeyError::BadBinaryLength);
    EXPECT_EQ(binary({0, 0, 0, 42}, oid::kText, ShardKeyType::Integer).error,
              KeyError::TypeMismatch);
    EXPECT_EQ(binary({0, 1, 0, 0}, oid::kInt4, ShardKeyType::Smallint).error, KeyError::OutOfRange);
    EXPECT_EQ(binary({0, 0, 0, 1, 0, 0, 0, 0}, oid::kInt8, ShardKeyType::Integer).error,
              KeyError::OutOfRange);
    EXPECT_EQ(binary({0, 0, 0, 42}, oid::kInt4, ShardKeyType::Uuid).error, KeyError::TypeMismatch);
    EXPECT_EQ(binary({1, 2, 3}, oid::kUuid, ShardKeyType::Uuid).error, KeyError::BadBinaryLength);
    EXPECT_EQ(binary(kUuidBytes, oid::kUuid, ShardKeyType::Text).error, KeyError::TypeMismatch);
    EXPECT_EQ(binary({0, 0, 0, 42}, oid::kInt4, ShardKeyType::Text).error, KeyError::TypeMismatch);
}

TEST(KeyFromParam, TextFormatReadsTheText) {
    const std::string uuid = "{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}";
    KeyParse parsed =
        key_from_param({reinterpret_cast<const std::uint8_t*>(uuid.data()), uuid.size()},
                       ParamFormat::Text, oid::kUuid, ShardKeyType::Uuid);
    ASSERT_TRUE(parsed.ok());
    std::span<const std::uint8_t> bytes = parsed.key.hash_bytes();
    EXPECT_EQ(std::vector<std::uint8_t>(bytes.begin(), bytes.end()), kUuidBytes);
    const std::string bad = "4.0";
    EXPECT_EQ(key_from_param({reinterpret_cast<const std::uint8_t*>(bad.data()), bad.size()},
                             ParamFormat::Text, oid::kInt4, ShardKeyType::Integer)
                  .error,
              KeyError::NotAnInteger);
}

TEST(KeyError, DescribedAsPostgresWouldSayIt) {
    EXPECT_EQ(describe(KeyError::NotAnInteger, ShardKeyType::Bigint, "4.0"),
              "invalid input syntax for type bigint: \"4.0\"");
    EXPECT_EQ(describe(KeyError::OutOfRange, ShardKeyType::Smallint, "70000"),
              "value \"70000\" is out of range for type smallint");
    EXPECT_EQ(describe(KeyError::InvalidUuid, ShardKeyType::Uuid, "xyz"),
              "invalid input syntax for type uuid: \"xyz\"");
    EXPECT_EQ(to_string(KeyError::NotAnInteger), "not an integer");
    EXPECT_EQ(to_string(ShardKeyType::Integer), "integer");
}

}  // namespace
}  // namespace pgrouter::sharding
