// src/sharding/numeric.hpp — exact decimal arithmetic on PostgreSQL numeric text, for the merge:
// comparison in PostgreSQL's order, addition of partial sums, and avg's division with the scale
// and rounding of PostgreSQL 15's numeric_div. Internal to src/sharding. Pure, never throws on
// bad input (nullopt instead); only string growth can throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pgrouter::sharding::detail {

enum class NumericSpecial : std::uint8_t { None, NegInf, PosInf, NaN };

// A view of numeric text as numeric_out writes it: [-]digits[.digits], NaN, Infinity,
// -Infinity. No exponent (numeric_out never writes one).
struct DecimalView {
    NumericSpecial special = NumericSpecial::None;
    bool negative = false;         // never set for zero
    std::string_view int_digits;   // leading zeros stripped; empty for an integer part of 0
    std::string_view frac_digits;  // trailing zeros stripped (they do not change the value)
};

[[nodiscard]] std::optional<DecimalView> parse_decimal_view(std::string_view text) noexcept;

// <0, 0, >0 in PostgreSQL's order: -Infinity < numbers < Infinity < NaN, NaN = NaN.
[[nodiscard]] int compare_decimal(const DecimalView& a, const DecimalView& b) noexcept;

// An owned exact decimal: |value| = digits * 10^-scale.
struct Decimal {
    NumericSpecial special = NumericSpecial::None;
    bool negative = false;
    std::string digits;  // '0'..'9', no leading zeros; empty is zero
    int scale = 0;       // PostgreSQL's display scale (dscale)
};

// Parses numeric text, also with an exponent ("1.5e3") as a SQL numeric literal may have.
// The scale is the written one (trailing zeros count, as numeric_in keeps them).
[[nodiscard]] std::optional<Decimal> parse_decimal(std::string_view text);
[[nodiscard]] Decimal decimal_from_int(std::int64_t v);
// numeric_out's text: exactly `scale` fraction digits.
[[nodiscard]] std::string to_string(const Decimal& d);
// a + b as numeric_add: scale = max of both; NaN wins; +Infinity + -Infinity = NaN.
[[nodiscard]] Decimal add(const Decimal& a, const Decimal& b);
// sum / count as PostgreSQL 15 numeric_div (select_div_scale, div_var rounding half away from
// zero) computes avg's final value; count > 0.
[[nodiscard]] Decimal divide_for_avg(const Decimal& sum, std::int64_t count);

// Integer text (int2/int4/int8/oid output): optional sign, digits. nullopt on overflow or junk.
[[nodiscard]] std::optional<std::int64_t> parse_int64(std::string_view text) noexcept;

}  // namespace pgrouter::sharding::detail
