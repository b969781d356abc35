// tests/unit/sharding/numeric_test.cpp — the merge's decimal helpers (src/sharding/numeric.hpp):
// parsing, PostgreSQL's numeric order, exact addition and avg's division (values from
// PostgreSQL 15).
#include "../../../src/sharding/numeric.hpp"

#include <gtest/gtest.h>

namespace pgrouter::sharding::detail {
namespace {

std::string canon(std::string_view text) {
    const auto d = parse_decimal(text);
    return d ? to_string(*d) : "invalid";
}

int cmp(std::string_view a, std::string_view b) {
    return compare_decimal(*parse_decimal_view(a), *parse_decimal_view(b));
}

std::string sum(std::string_view a, std::string_view b) {
    return to_string(add(*parse_decimal(a), *parse_decimal(b)));
}

std::string avg(std::string_view s, std::int64_t n) {
    return to_string(divide_for_avg(*parse_decimal(s), n));
}

TEST(Numeric, ParsesAsNumericIn) {
    EXPECT_EQ(canon("1.50"), "1.50");
    EXPECT_EQ(canon("-0.00"), "0.00");
    EXPECT_EQ(canon("007"), "7");
    EXPECT_EQ(canon(".5"), "0.5");
    EXPECT_EQ(canon("1.5e3"), "1500");
    EXPECT_EQ(canon("1.25e-1"), "0.125");
    EXPECT_EQ(canon("nan"), "NaN");
    EXPECT_EQ(canon("-inf"), "-Infinity");
    EXPECT_EQ(canon("1e"), "invalid");
    EXPECT_EQ(canon("abc"), "invalid");
    EXPECT_EQ(canon(""), "invalid");
    EXPECT_FALSE(parse_decimal_view("1e5"));
    EXPECT_FALSE(parse_decimal_view("-"));
}

TEST(Numeric, ComparesInPostgresOrder) {
    EXPECT_EQ(cmp("1.0", "1.000"), 0);
    EXPECT_EQ(cmp("-0.0", "0"), 0);
    EXPECT_LT(cmp("-2", "-1.5"), 0);
    EXPECT_LT(cmp("9.99", "10"), 0);
    EXPECT_LT(cmp("0.1", "0.10001"), 0);
    EXPECT_LT(cmp("Infinity", "NaN"), 0);
    EXPECT_LT(cmp("-Infinity", "-99999"), 0);
    EXPECT_EQ(cmp("NaN", "NaN"), 0);
}

TEST(Numeric, AddsExactly) {
    EXPECT_EQ(sum("1.5", "-1.50"), "0.00");
    EXPECT_EQ(sum("-3", "1.25"), "-1.75");
    EXPECT_EQ(sum("999.999", "0.001"), "1000.000");
    EXPECT_EQ(sum("-1", "-0.5"), "-1.5");
    EXPECT_EQ(sum("NaN", "Infinity"), "NaN");
    EXPECT_EQ(sum("-Infinity", "5"), "-Infinity");
}

TEST(Numeric, DividesForAvgLikeNumericDiv) {
    EXPECT_EQ(avg("3", 2), "1.5000000000000000");
    EXPECT_EQ(avg("1", 2), "0.50000000000000000000");
    EXPECT_EQ(avg("100000000001", 2), "50000000000.50000000");
    EXPECT_EQ(avg("123456789012345679", 2), "61728394506172840");
    EXPECT_EQ(avg("-0.00004", 2), "-0.000020000000000000000000");
    EXPECT_EQ(avg("2", 3), "0.66666666666666666667");
    EXPECT_EQ(avg("-2", 3), "-0.66666666666666666667");
    EXPECT_EQ(avg("0", 5), "0.00000000000000000000");
    EXPECT_EQ(avg("9223372036854775807", 9223372036854775807), "1.00000000000000000000");
}

TEST(Numeric, ParsesInt64Exactly) {
    EXPECT_EQ(parse_int64("-9223372036854775808"), INT64_MIN);
    EXPECT_EQ(parse_int64("9223372036854775807"), INT64_MAX);
    EXPECT_FALSE(parse_int64("9223372036854775808"));
    EXPECT_FALSE(parse_int64("-9223372036854775809"));
    EXPECT_FALSE(parse_int64("1.0"));
    EXPECT_FALSE(parse_int64("-"));
    EXPECT_EQ(parse_int64("+42"), 42);
}

}  // namespace
}  // namespace pgrouter::sharding::detail
