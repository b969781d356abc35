// src/sharding/value.cpp — decoding result values (text and binary formats) into comparable keys
// with PostgreSQL's semantics: float NaN above everything and -0 = 0, numeric NaN above Infinity,
// bpchar without trailing spaces, ISO dates and timestamps with BC, infinity and 5+ digit years,
// timestamptz compared as instants. Pure, never throws.
#include "value.hpp"

#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

namespace pgrouter::sharding::detail {

namespace {

constexpr std::int64_t kUsecPerSec = 1000000;
constexpr std::int64_t kUsecPerDay = 86400 * kUsecPerSec;
constexpr std::int64_t kUnixToPgEpochDays = 10957;  // 1970-01-01 -> 2000-01-01

std::string_view as_text(wire::Bytes b) noexcept {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

// Howard Hinnant's days_from_civil: proleptic Gregorian, astronomical years (1 BC = year 0).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// A cursor over ISO date/time text.
struct Cursor {
    std::string_view s;
    std::size_t pos = 0;

    bool eat(char c) noexcept {
        if (pos < s.size() && s[pos] == c) {
            ++pos;
            return true;
        }
        return false;
    }
    // Reads min..max digits as a number.
    bool number(std::size_t min, std::size_t max, std::int64_t& v) noexcept {
        const std::size_t start = pos;
        v = 0;
        while (pos < s.size() && pos - start < max &&
               std::isdigit(static_cast<unsigned char>(s[pos]))) {
            v = v * 10 + (s[pos] - '0');
            ++pos;
        }
        return pos - start >= min;
    }
    bool at_end() const noexcept { return pos == s.size(); }
};

// YYYY-MM-DD (any year width) -> days since 1970 before the era is applied.
bool parse_ymd(Cursor& c, std::int64_t& year, unsigned& month, unsigned& day) noexcept {
    std::int64_t y = 0;
    std::int64_t m = 0;
    std::int64_t d = 0;
    if (!c.number(1, 9, y) || !c.eat('-') || !c.number(1, 2, m) || !c.eat('-') ||
        !c.number(1, 2, d)) {
        return false;
    }
    if (m < 1 || m > 12 || d < 1 || d > 31) {
        return false;
    }
    year = y;
    month = static_cast<unsigned>(m);
    day = static_cast<unsigned>(d);
    return true;
}

// HH:MM[:SS[.ffffff]] -> microseconds since midnight.
bool parse_hms(Cursor& c, std::int64_t& usec) noexcept {
    std::int64_t h = 0;
    std::int64_t m = 0;
    std::int64_t s = 0;
    if (!c.number(1, 2, h) || !c.eat(':') || !c.number(2, 2, m)) {
        return false;
    }
    std::int64_t frac = 0;
    if (c.eat(':')) {
        if (!c.number(2, 2, s)) {
            return false;
        }
        if (c.eat('.')) {
            std::int64_t scale = 100000;
            const std::size_t start = c.pos;
            while (c.pos < c.s.size() && std::isdigit(static_cast<unsigned char>(c.s[c.pos]))) {
                frac += (c.s[c.pos] - '0') * scale;  // digits past the sixth add 0
                scale /= 10;
                ++c.pos;
            }
            if (c.pos == start) {
                return false;
            }
        }
    }
    if (h > 24 || m > 59 || s > 60) {
        return false;
    }
    usec = ((h * 60 + m) * 60 + s) * kUsecPerSec + frac;
    return true;
}

// +HH[:MM[:SS]] or -HH... -> seconds east of UTC.
bool parse_offset(Cursor& c, std::int64_t& seconds) noexcept {
    const bool negative = c.eat('-');
    if (!negative && !c.eat('+')) {
        return false;
    }
    std::int64_t h = 0;
    std::int64_t m = 0;
    std::int64_t s = 0;
    if (!c.number(2, 2, h)) {
        return false;
    }
    if (c.eat(':')) {
        if (!c.number(2, 2, m)) {
            return false;
        }
        if (c.eat(':') && !c.number(2, 2, s)) {
            return false;
        }
    } else {
        (void)c.number(2, 2, m);  // +HHMM
    }
    seconds = (h * 3600 + m * 60 + s) * (negative ? -1 : 1);
    return true;
}

bool parse_infinity(std::string_view s, Key& out) noexcept {
    if (iequals(s, "infinity") || iequals(s, "+infinity")) {
        out.rank = 1;
        return true;
    }
    if (iequals(s, "-infinity")) {
        out.rank = -1;
        return true;
    }
    return false;
}

// ISO date, timestamp or timestamptz text -> days (date) or microseconds (UTC for timestamptz).
bool parse_datetime(std::string_view text, std::uint32_t oid, bool constant, Key& out) noexcept {
    out.rank = 0;
    if (parse_infinity(text, out)) {
        return true;
    }
    Cursor c{text};
    std::int64_t year = 0;
    unsigned month = 0;
    unsigned day = 0;
    if (!parse_ymd(c, year, month, day)) {
        return false;
    }
    std::int64_t usec = 0;
    std::int64_t offset = 0;
    bool has_offset = false;
    if (oid != kDateOid && (c.eat(' ') || c.eat('T'))) {
        if (!parse_hms(c, usec)) {
            return false;
        }
        if (oid == kTimestamptzOid && c.pos < c.s.size() &&
            (c.s[c.pos] == '+' || c.s[c.pos] == '-')) {
            if (!parse_offset(c, offset)) {
                return false;
            }
            has_offset = true;
        }
    } else if (oid != kDateOid && !constant) {
        return false;  // timestamp output always has its time
    }
    bool bc = false;
    if (c.pos < c.s.size()) {
        if (c.s.substr(c.pos) != " BC") {
            return false;
        }
        bc = true;
    }
    // Without an offset a timestamptz literal is read in the session's TimeZone, which the
    // merge does not know: refuse rather than guess.
    if (oid == kTimestamptzOid && !has_offset) {
        return false;
    }
    if (bc && year == 0) {
        return false;
    }
    const std::int64_t astronomical = bc ? 1 - year : year;
    const std::int64_t days = days_from_civil(astronomical, month, day) - kUnixToPgEpochDays;
    if (oid == kDateOid) {
        out.t = days;
        return true;
    }
    out.t = static_cast<__int128>(days) * kUsecPerDay + usec - offset * kUsecPerSec;
    return true;
}

bool parse_float(std::string_view text, bool single, double& v) noexcept {
    if (iequals(text, "NaN")) {
        v = std::numeric_limits<double>::quiet_NaN();
        return true;
    }
    if (iequals(text, "Infinity") || iequals(text, "+Infinity") || iequals(text, "inf")) {
        v = std::numeric_limits<double>::infinity();
        return true;
    }
    if (iequals(text, "-Infinity") || iequals(text, "-inf")) {
        v = -std::numeric_limits<double>::infinity();
        return true;
    }
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
    }
    const char* end = text.data() + text.size();
    // float4 values compare (with each other and with float8 literals) as float4 widened to
    // float8, as PostgreSQL's float48 operators do.
    if (single) {
        float f = 0;
        const auto r = std::from_chars(text.data(), end, f);
        if (r.ec != std::errc{} || r.ptr != end) {
            return false;
        }
        v = f;
        return true;
    }
    const auto r = std::from_chars(text.data(), end, v);
    return r.ec == std::errc{} && r.ptr == end;
}

std::uint64_t be64(const std::uint8_t* p) noexcept {
    return (std::uint64_t{wire::read_u32(p)} << 32) | wire::read_u32(p + 4);
}

bool parse_uuid_text(std::string_view text, __int128& out) noexcept {
    unsigned __int128 v = 0;
    int digits = 0;
    if (!text.empty() && text.front() == '{' && text.back() == '}') {
        text = text.substr(1, text.size() - 2);
    }
    for (const char ch : text) {
        int d = 0;
        if (ch >= '0' && ch <= '9') {
            d = ch - '0';
        } else if (ch >= 'a' && ch <= 'f') {
            d = ch - 'a' + 10;
        } else if (ch >= 'A' && ch <= 'F') {
            d = ch - 'A' + 10;
        } else if (ch == '-') {
            continue;
        } else {
            return false;
        }
        v = (v << 4) | static_cast<unsigned>(d);
        ++digits;
    }
    if (digits != 32) {
        return false;
    }
    out = static_cast<__int128>(v);
    return true;
}

DecodeStatus decode_text(const Column& col, std::string_view text, bool constant, Key& k) noexcept {
    switch (col.cls) {
        case TypeClass::Integer: {
            const auto v = parse_int64(constant ? trim(text) : text);
            if (!v) {
                return DecodeStatus::Malformed;
            }
            k.i = *v;
            return DecodeStatus::Ok;
        }
        case TypeClass::Numeric: {
            const auto v = parse_decimal_view(text);
            if (!v) {
                return DecodeStatus::Malformed;
            }
            k.d = *v;
            return DecodeStatus::Ok;
        }
        case TypeClass::Float:
            return parse_float(constant ? trim(text) : text, col.type_oid == kFloat4Oid, k.f)
                       ? DecodeStatus::Ok
                       : DecodeStatus::Malformed;
        case TypeClass::Text:
            k.s = text;
            return DecodeStatus::Ok;
        case TypeClass::Bpchar:
            k.s = text.substr(0, text.find_last_not_of(' ') + 1);
            return DecodeStatus::Ok;
        case TypeClass::Bool: {
            const std::string_view t = constant ? trim(text) : text;
            if (iequals(t, "t") || iequals(t, "true") || iequals(t, "yes") || iequals(t, "on") ||
                t == "1") {
                k.i = 1;
            } else if (iequals(t, "f") || iequals(t, "false") || iequals(t, "no") ||
                       iequals(t, "off") || t == "0") {
                k.i = 0;
            } else {
                return DecodeStatus::Malformed;
            }
            return DecodeStatus::Ok;
        }
        case TypeClass::Date:
        case TypeClass::Timestamp:
            return parse_datetime(constant ? trim(text) : text, col.type_oid, constant, k)
                       ? DecodeStatus::Ok
                       : DecodeStatus::Malformed;
        case TypeClass::Time: {
            Cursor c{constant ? trim(text) : text};
            std::int64_t usec = 0;
            if (!parse_hms(c, usec) || !c.at_end()) {
                return DecodeStatus::Malformed;
            }
            k.t = usec;
            return DecodeStatus::Ok;
        }
        case TypeClass::Uuid:
            return parse_uuid_text(constant ? trim(text) : text, k.t) ? DecodeStatus::Ok
                                                                      : DecodeStatus::Malformed;
        case TypeClass::Other:
            break;
    }
    return DecodeStatus::Unsupported;
}

DecodeStatus decode_binary(const Column& col, wire::Bytes b, Key& k) noexcept {
    const std::uint8_t* p = b.data();
    switch (col.type_oid) {
        case kInt2Oid:
            if (b.size() != 2) {
                return DecodeStatus::Malformed;
            }
            k.i = static_cast<std::int16_t>(wire::read_u16(p));
            return DecodeStatus::Ok;
        case kInt4Oid:
            if (b.size() != 4) {
                return DecodeStatus::Malformed;
            }
            k.i = static_cast<std::int32_t>(wire::read_u32(p));
            return DecodeStatus::Ok;
        case kOidOid:
            if (b.size() != 4) {
                return DecodeStatus::Malformed;
            }
            k.i = wire::read_u32(p);
            return DecodeStatus::Ok;
        case kInt8Oid:
            if (b.size() != 8) {
                return DecodeStatus::Malformed;
            }
            k.i = static_cast<std::int64_t>(be64(p));
            return DecodeStatus::Ok;
        case kFloat4Oid:
            if (b.size() != 4) {
                return DecodeStatus::Malformed;
            }
            k.f = std::bit_cast<float>(wire::read_u32(p));
            return DecodeStatus::Ok;
        case kFloat8Oid:
            if (b.size() != 8) {
                return DecodeStatus::Malformed;
            }
            k.f = std::bit_cast<double>(be64(p));
            return DecodeStatus::Ok;
        case kBoolOid:
            if (b.size() != 1) {
                return DecodeStatus::Malformed;
            }
            k.i = p[0] != 0 ? 1 : 0;
            return DecodeStatus::Ok;
        case kUuidOid:
            if (b.size() != 16) {
                return DecodeStatus::Malformed;
            }
            k.t = static_cast<__int128>((static_cast<unsigned __int128>(be64(p)) << 64) |
                                        be64(p + 8));
            return DecodeStatus::Ok;
        case kDateOid: {
            if (b.size() != 4) {
                return DecodeStatus::Malformed;
            }
            // DATEVAL_NOBEGIN / DATEVAL_NOEND are INT32_MIN / INT32_MAX: plain int order holds.
            const auto v = static_cast<std::int32_t>(wire::read_u32(p));
            k.rank = v == INT32_MIN ? -1 : (v == INT32_MAX ? 1 : 0);
            k.t = k.rank == 0 ? v : 0;
            return DecodeStatus::Ok;
        }
        case kTimestampOid:
        case kTimestamptzOid:
        case kTimeOid: {
            if (b.size() != 8) {
                return DecodeStatus::Malformed;
            }
            const auto v = static_cast<std::int64_t>(be64(p));
            k.rank =
                col.type_oid == kTimeOid ? 0 : (v == INT64_MIN ? -1 : (v == INT64_MAX ? 1 : 0));
            k.t = k.rank == 0 ? v : 0;
            return DecodeStatus::Ok;
        }
        case kTextOid:
        case kVarcharOid:
        case kNameOid:
        case kBpcharOid:
            return decode_text(col, as_text(b), false, k);
        default:
            break;
    }
    return DecodeStatus::Unsupported;  // binary numeric among them: not decoded here
}

template <typename T>
int cmp3(const T& a, const T& b) noexcept {
    return a < b ? -1 : (b < a ? 1 : 0);
}

std::size_t mix(std::size_t h, std::size_t v) noexcept {
    return h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
}

}  // namespace

TypeClass type_class(std::uint32_t oid) noexcept {
    switch (oid) {
        case kInt2Oid:
        case kInt4Oid:
        case kInt8Oid:
        case kOidOid:
            return TypeClass::Integer;
        case kNumericOid:
            return TypeClass::Numeric;
        case kFloat4Oid:
        case kFloat8Oid:
            return TypeClass::Float;
        case kTextOid:
        case kVarcharOid:
        case kNameOid:
            return TypeClass::Text;
        case kBpcharOid:
            return TypeClass::Bpchar;
        case kBoolOid:
            return TypeClass::Bool;
        case kDateOid:
            return TypeClass::Date;
        case kTimestampOid:
        case kTimestamptzOid:
            return TypeClass::Timestamp;
        case kTimeOid:
            return TypeClass::Time;
        case kUuidOid:
            return TypeClass::Uuid;
        default:
            return TypeClass::Other;
    }
}

DecodeStatus decode_key(const Column& column, wire::Bytes value, bool constant, Key& out) noexcept {
    out = Key{};
    out.cls = column.cls;
    if (column.cls == TypeClass::Other) {
        return DecodeStatus::Unsupported;
    }
    if (column.format == 0 || constant) {
        return decode_text(column, as_text(value), constant, out);
    }
    if (column.format != 1) {
        return DecodeStatus::Malformed;
    }
    return decode_binary(column, value, out);
}

int compare_keys(const Key& a, const Key& b) noexcept {
    switch (a.cls) {
        case TypeClass::Integer:
        case TypeClass::Bool:
            return cmp3(a.i, b.i);
        case TypeClass::Numeric:
            return compare_decimal(a.d, b.d);
        case TypeClass::Float: {
            // float8_cmp_internal: NaN equals NaN and sorts above everything.
            const bool an = std::isnan(a.f);
            const bool bn = std::isnan(b.f);
            if (an || bn) {
                return an && bn ? 0 : (an ? 1 : -1);
            }
            return cmp3(a.f, b.f);  // -0 == 0
        }
        case TypeClass::Text:
        case TypeClass::Bpchar: {
            const int c = a.s.compare(b.s);  // char_traits<char>::compare is memcmp: unsigned bytes
            return c < 0 ? -1 : (c > 0 ? 1 : 0);
        }
        case TypeClass::Date:
        case TypeClass::Timestamp:
        case TypeClass::Time:
            if (a.rank != b.rank) {
                return cmp3(a.rank, b.rank);
            }
            return cmp3(a.t, b.t);
        case TypeClass::Uuid:
            return cmp3(static_cast<unsigned __int128>(a.t), static_cast<unsigned __int128>(b.t));
        case TypeClass::Other:
            break;
    }
    return 0;
}

std::size_t hash_key(const Key& k) noexcept {
    switch (k.cls) {
        case TypeClass::Integer:
        case TypeClass::Bool:
            return std::hash<std::int64_t>{}(k.i);
        case TypeClass::Numeric: {
            std::size_t h = static_cast<std::size_t>(k.d.special) + (k.d.negative ? 7 : 0);
            h = mix(h, std::hash<std::string_view>{}(k.d.int_digits));
            return mix(h, std::hash<std::string_view>{}(k.d.frac_digits));
        }
        case TypeClass::Float:
            if (std::isnan(k.f)) {
                return 0x7ff8;
            }
            return k.f == 0 ? 0 : std::hash<double>{}(k.f);
        case TypeClass::Text:
        case TypeClass::Bpchar:
            return std::hash<std::string_view>{}(k.s);
        case TypeClass::Date:
        case TypeClass::Timestamp:
        case TypeClass::Time:
        case TypeClass::Uuid: {
            const auto u = static_cast<unsigned __int128>(k.t);
            std::size_t h = mix(static_cast<std::size_t>(k.rank + 1), static_cast<std::size_t>(u));
            return mix(h, static_cast<std::size_t>(u >> 64));
        }
        case TypeClass::Other:
            break;
    }
    return 0;
}

}  // namespace pgrouter::sharding::detail
