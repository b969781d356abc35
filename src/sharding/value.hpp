// src/sharding/value.hpp — one result value decoded for comparison as PostgreSQL compares it for
// its type (ORDER BY, min/max, DISTINCT, GROUP BY, HAVING in the merge). Internal to
// src/sharding. Pure: views into the caller's bytes, never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "numeric.hpp"
#include "pgrouter/wire/row_messages.hpp"

namespace pgrouter::sharding::detail {

// The type OIDs the merge understands (pg_type.dat).
inline constexpr std::uint32_t kBoolOid = 16;
inline constexpr std::uint32_t kNameOid = 19;
inline constexpr std::uint32_t kInt8Oid = 20;
inline constexpr std::uint32_t kInt2Oid = 21;
inline constexpr std::uint32_t kInt4Oid = 23;
inline constexpr std::uint32_t kTextOid = 25;
inline constexpr std::uint32_t kOidOid = 26;
inline constexpr std::uint32_t kFloat4Oid = 700;
inline constexpr std::uint32_t kFloat8Oid = 701;
inline constexpr std::uint32_t kBpcharOid = 1042;
inline constexpr std::uint32_t kVarcharOid = 1043;
inline constexpr std::uint32_t kDateOid = 1082;
inline constexpr std::uint32_t kTimeOid = 1083;
inline constexpr std::uint32_t kTimestampOid = 1114;
inline constexpr std::uint32_t kTimestamptzOid = 1184;
inline constexpr std::uint32_t kNumericOid = 1700;
inline constexpr std::uint32_t kUuidOid = 2950;

enum class TypeClass : std::uint8_t {
    Integer,  // int2, int4, int8, oid
    Numeric,
    Float,   // float4, float8
    Text,    // text, varchar, name
    Bpchar,  // char(n): trailing spaces do not count
    Bool,
    Date,
    Timestamp,  // timestamp and timestamptz (the instant, offsets applied)
    Time,
    Uuid,
    Other,
};

[[nodiscard]] TypeClass type_class(std::uint32_t type_oid) noexcept;
// Text classes compare by collation: ordering them needs the shards' collation to be bytewise.
[[nodiscard]] inline bool is_text_class(TypeClass c) noexcept {
    return c == TypeClass::Text || c == TypeClass::Bpchar;
}

struct Column {
    std::uint32_t type_oid = 0;
    std::int16_t format = 0;  // 0 text, 1 binary
    TypeClass cls = TypeClass::Other;
};

// A non-null value in a form that compares like PostgreSQL: which member holds it depends on
// the class. Times are microseconds (dates days) since 2000-01-01, as PostgreSQL stores them,
// with `rank` -1 / +1 for -infinity / infinity.
struct Key {
    TypeClass cls = TypeClass::Other;
    std::int64_t i = 0;  // Integer, Bool
    double f = 0;        // Float
    int rank = 0;        // Date, Timestamp, Time
    __int128 t = 0;      // Date, Timestamp, Time; Uuid (as unsigned bits)
    std::string_view s;  // Text, Bpchar
    DecimalView d;       // Numeric
};

enum class DecodeStatus : std::uint8_t {
    Ok,
    Unsupported,  // type or format the merge cannot compare
    Malformed,    // bytes that are not this type's output (for times: not DateStyle ISO)
};

// Decodes one non-null value of `column`. `constant` marks a HAVING literal (always text,
// parsed as PostgreSQL's input function would for the common spellings).
[[nodiscard]] DecodeStatus decode_key(const Column& column, wire::Bytes value, bool constant,
                                      Key& out) noexcept;

// Both keys of the same class. <0, 0, >0.
[[nodiscard]] int compare_keys(const Key& a, const Key& b) noexcept;
// Consistent with compare_keys() == 0.
[[nodiscard]] std::size_t hash_key(const Key& k) noexcept;

}  // namespace pgrouter::sharding::detail
