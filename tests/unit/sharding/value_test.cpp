// tests/unit/sharding/value_test.cpp — decoding values for comparison (src/sharding/value.hpp):
// text and binary forms of the same value compare equal, PostgreSQL's special values order as
// PostgreSQL orders them, and HAVING constants are read like input functions read them.
#include "../../../src/sharding/value.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pgrouter::sharding::detail {
namespace {

wire::Bytes b(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Key key(std::uint32_t oid, std::string_view v, std::int16_t format = 0, bool constant = false) {
    Key k;
    EXPECT_EQ(decode_key({oid, format, type_class(oid)}, b(v), constant, k), DecodeStatus::Ok)
        << oid << " " << v;
    return k;
}

TEST(Value, BinaryAndTextDecodeToTheSameKey) {
    EXPECT_EQ(compare_keys(key(kInt8Oid, "-2"), key(kInt8Oid, std::string(7, '\xff') + "\xfe", 1)),
              0);
    // date 2000-01-02 is day 1; timestamp 2000-01-01 00:00:01 is 1000000 µs.
    EXPECT_EQ(
        compare_keys(key(kDateOid, "2000-01-02"), key(kDateOid, std::string("\0\0\0\x01", 4), 1)),
        0);
    EXPECT_EQ(compare_keys(key(kTimestampOid, "2000-01-01 00:00:01"),
                           key(kTimestampOid, std::string("\0\0\0\0\0\x0f\x42\x40", 8), 1)),
              0);
    EXPECT_EQ(compare_keys(key(kUuidOid, "00000000-0000-0000-0000-0000000000ff"),
                           key(kUuidOid, std::string(15, '\0') + "\xff", 1)),
              0);
    EXPECT_EQ(compare_keys(key(kBoolOid, "t"), key(kBoolOid, "\x01", 1)), 0);
}

TEST(Value, DatesCountBcAndInfinity) {
    // 0001-01-01 is 730119 days before 2000-01-01; 1 BC (year 0) is a leap year of 366 days.
    EXPECT_EQ(key(kDateOid, "0001-01-01").t, -730119);
    EXPECT_EQ(key(kDateOid, "0001-01-01 BC").t, -730119 - 366);
    EXPECT_LT(compare_keys(key(kDateOid, "5874897-12-31"), key(kDateOid, "infinity")), 0);
    EXPECT_LT(compare_keys(key(kDateOid, "-infinity"), key(kDateOid, "4713-01-01 BC")), 0);
    Key k;
    EXPECT_EQ(decode_key({kDateOid, 0, TypeClass::Date}, b("2024-13-01"), false, k),
              DecodeStatus::Malformed);
}

TEST(Value, TimestamptzIsAnInstant) {
    EXPECT_EQ(compare_keys(key(kTimestamptzOid, "2024-01-01 10:00:00+05:30"),
                           key(kTimestamptzOid, "2024-01-01 04:30:00+00")),
              0);
    EXPECT_EQ(compare_keys(key(kTimestamptzOid, "1900-01-01 00:00:00+00:19:32"),
                           key(kTimestamptzOid, "1899-12-31 23:40:28+00")),
              0);
    // A constant without an offset would need the session's TimeZone.
    Key k;
    EXPECT_EQ(
        decode_key({kTimestamptzOid, 0, TypeClass::Timestamp}, b("2024-01-01 00:00:00"), true, k),
        DecodeStatus::Malformed);
}

TEST(Value, FloatsFollowFloat8Cmp) {
    EXPECT_EQ(compare_keys(key(kFloat8Oid, "-0"), key(kFloat8Oid, "0")), 0);
    EXPECT_EQ(hash_key(key(kFloat8Oid, "-0")), hash_key(key(kFloat8Oid, "0")));
    EXPECT_GT(compare_keys(key(kFloat8Oid, "NaN"), key(kFloat8Oid, "Infinity")), 0);
    EXPECT_EQ(compare_keys(key(kFloat8Oid, "NaN"), key(kFloat8Oid, "NaN")), 0);
    // float4 1.1 widened is above the float8 literal 1.1, as in PostgreSQL.
    EXPECT_GT(compare_keys(key(kFloat4Oid, "1.1"), key(kFloat8Oid, "1.1")), 0);
}

TEST(Value, ConstantsReadLikeInputFunctions) {
    EXPECT_EQ(key(kBoolOid, " true ", 0, true).i, 1);
    EXPECT_EQ(key(kBoolOid, "off", 0, true).i, 0);
    EXPECT_EQ(key(kInt4Oid, " 12 ", 0, true).i, 12);
    EXPECT_EQ(compare_keys(key(kTimestampOid, "2024-01-02", 0, true),
                           key(kTimestampOid, "2024-01-02 00:00:00")),
              0);
    EXPECT_EQ(compare_keys(key(kUuidOid, "{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}", 0, true),
                           key(kUuidOid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
              0);
}

TEST(Value, BpcharIgnoresTrailingSpaces) {
    EXPECT_EQ(compare_keys(key(kBpcharOid, "ab   "), key(kBpcharOid, "ab")), 0);
    EXPECT_EQ(hash_key(key(kBpcharOid, "ab   ")), hash_key(key(kBpcharOid, "ab")));
    EXPECT_NE(compare_keys(key(kTextOid, "ab "), key(kTextOid, "ab")), 0);
}

TEST(Value, OtherTypesAndBinaryNumericAreUnsupported) {
    Key k;
    EXPECT_EQ(decode_key({1186, 0, type_class(1186)}, b("1 day"), false, k),
              DecodeStatus::Unsupported);
    EXPECT_EQ(decode_key({kNumericOid, 1, TypeClass::Numeric}, b("\0\0"), false, k),
              DecodeStatus::Unsupported);
}

}  // namespace
}  // namespace pgrouter::sharding::detail
