// sharding/shard_key.cpp — shard key normalisation: PostgreSQL 15's int2/int4/int8/uuid input
// rules and the binary parameter forms. Pure: no I/O, no throwing, no allocation (except describe).
#include "pgrouter/sharding/shard_key.hpp"

#include <limits>

namespace pgrouter::sharding {
namespace {

using config::ShardKeyType;

bool is_integer_type(ShardKeyType type) noexcept {
    return type == ShardKeyType::Bigint || type == ShardKeyType::Integer ||
           type == ShardKeyType::Smallint;
}

std::int64_t min_of(ShardKeyType type) noexcept {
    switch (type) {
        case ShardKeyType::Smallint:
            return std::numeric_limits<std::int16_t>::min();
        case ShardKeyType::Integer:
            return std::numeric_limits<std::int32_t>::min();
        default:
            return std::numeric_limits<std::int64_t>::min();
    }
}

bool in_range(std::int64_t value, ShardKeyType type) noexcept {
    const std::int64_t min = min_of(type);
    return value >= min && value <= -(min + 1);
}

// isspace() in the C locale, which is what PostgreSQL's pg_strtoint* skip.
bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

KeyParse fail(KeyError error) noexcept {
    KeyParse parse;
    parse.error = error;
    return parse;
}

KeyParse ok(ShardKey key) noexcept {
    KeyParse parse;
    parse.key = key;
    return parse;
}

// pg_strtoint16/32/64 (PostgreSQL 15): accumulate negatively so the type's minimum fits, and
// report overflow as soon as it happens, as PostgreSQL does ("99999x" is out of range).
KeyParse parse_integer(std::string_view text, ShardKeyType type) noexcept {
    std::size_t i = 0;
    while (i < text.size() && is_space(text[i])) {
        ++i;
    }
    bool negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
        negative = text[i] == '-';
        ++i;
    }
    if (i == text.size() || !is_digit(text[i])) {
        return fail(KeyError::NotAnInteger);
    }
    const std::int64_t limit = min_of(type);
    std::int64_t acc = 0;  // minus the value read so far
    for (; i < text.size() && is_digit(text[i]); ++i) {
        const int digit = text[i] - '0';
        if (acc < limit / 10 || (acc == limit / 10 && digit > -(limit % 10))) {
            return fail(KeyError::OutOfRange);
        }
        acc = acc * 10 - digit;
    }
    while (i < text.size() && is_space(text[i])) {
        ++i;
    }
    if (i != text.size()) {
        return fail(KeyError::NotAnInteger);
    }
    if (!negative) {
        if (acc == limit) {
            return fail(KeyError::OutOfRange);
        }
        acc = -acc;
    }
    return ok(ShardKey::integer(acc));
}

// string_to_uuid (PostgreSQL 15): optional braces, 16 pairs of hex digits, and a '-' allowed
// after every second pair except the last. No surrounding whitespace.
KeyParse parse_uuid(std::string_view text) noexcept {
    std::array<std::uint8_t, 16> bytes{};
    std::size_t i = 0;
    const bool braces = !text.empty() && text[0] == '{';
    if (braces) {
        ++i;
    }
    for (std::size_t b = 0; b < bytes.size(); ++b) {
        if (text.size() - i < 2) {
            return fail(KeyError::InvalidUuid);
        }
        const int high = hex_value(text[i]);
        const int low = hex_value(text[i + 1]);
        if (high < 0 || low < 0) {
            return fail(KeyError::InvalidUuid);
        }
        bytes[b] = static_cast<std::uint8_t>(high * 16 + low);
        i += 2;
        if (i < text.size() && text[i] == '-' && b % 2 == 1 && b < bytes.size() - 1) {
            ++i;
        }
    }
    if (braces) {
        if (i == text.size() || text[i] != '}') {
            return fail(KeyError::InvalidUuid);
        }
        ++i;
    }
    if (i != text.size()) {
        return fail(KeyError::InvalidUuid);
    }
    return ok(ShardKey::uuid(bytes));
}

std::int64_t read_be_signed(std::span<const std::uint8_t> value) noexcept {
    std::uint64_t u = 0;
    for (std::uint8_t byte : value) {
        u = (u << 8) | byte;
    }
    // Sign-extend from the parameter's width (2, 4 or 8 bytes).
    const unsigned shift = static_cast<unsigned>(64 - 8 * value.size());
    return static_cast<std::int64_t>(u << shift) >> shift;
}

KeyParse binary_integer(std::span<const std::uint8_t> value, std::uint32_t type_oid,
                        ShardKeyType type) noexcept {
    std::size_t width = 0;
    switch (type_oid) {
        case oid::kInt2:
            width = 2;
            break;
        case oid::kInt4:
            width = 4;
            break;
        case oid::kInt8:
            width = 8;
            break;
        case oid::kUnspecified:
            // The server reads it as the column's type; every width names the same number, so
            // the length alone is enough (and a config that says bigint for an int4 column
            // still hashes right).
            width = value.size();
            if (width != 2 && width != 4 && width != 8) {
                return fail(KeyError::BadBinaryLength);
            }
            break;
        default:
            return fail(KeyError::TypeMismatch);
    }
    if (value.size() != width) {
        return fail(KeyError::BadBinaryLength);
    }
    const std::int64_t number = read_be_signed(value);
    if (!in_range(number, type)) {
        return fail(KeyError::OutOfRange);
    }
    return ok(ShardKey::integer(number));
}

}  // namespace

std::string_view to_string(KeyError error) noexcept {
    switch (error) {
        case KeyError::None:
            return "ok";
        case KeyError::NotAnInteger:
            return "not an integer";
        case KeyError::OutOfRange:
            return "out of range";
        case KeyError::InvalidUuid:
            return "invalid uuid";
        case KeyError::BadBinaryLength:
            return "binary value of the wrong length";
        case KeyError::TypeMismatch:
            return "parameter type does not match the key type";
    }
    return "unknown";
}

std::string describe(KeyError error, ShardKeyType type, std::string_view value) {
    // Built with append: GCC 12 warns (-Wrestrict, a false positive) on chained operator+.
    std::string text;
    switch (error) {
        case KeyError::NotAnInteger:
        case KeyError::InvalidUuid:
            text.append("invalid input syntax for type ").append(config::to_string(type));
            text.append(": \"").append(value).append("\"");
            return text;
        case KeyError::OutOfRange:
            text.append("value \"").append(value).append("\" is out of range for type ");
            text.append(config::to_string(type));
            return text;
        case KeyError::BadBinaryLength:
        case KeyError::TypeMismatch:
            text.append(to_string(error)).append(" (key type ").append(config::to_string(type));
            text.append(")");
            return text;
        case KeyError::None:
            break;
    }
    return "ok";
}

ShardKey ShardKey::integer(std::int64_t value) noexcept {
    ShardKey key;
    key.set_integer(value);
    return key;
}

ShardKey ShardKey::text(std::string_view bytes) noexcept {
    ShardKey key;
    key.kind_ = Kind::Text;
    key.size_ = 0;
    key.integer_ = 0;
    key.text_ = bytes;
    return key;
}

ShardKey ShardKey::uuid(const std::array<std::uint8_t, 16>& bytes) noexcept {
    ShardKey key;
    key.kind_ = Kind::Uuid;
    key.size_ = 16;
    key.integer_ = 0;
    key.bytes_ = bytes;
    return key;
}

void ShardKey::set_integer(std::int64_t value) noexcept {
    kind_ = Kind::Integer;
    integer_ = value;
    size_ = 8;
    // Written byte by byte, so the layout is little-endian on any host.
    auto u = static_cast<std::uint64_t>(value);
    for (std::size_t i = 0; i < 8; ++i) {
        bytes_[i] = static_cast<std::uint8_t>(u >> (8 * i));
    }
}

std::span<const std::uint8_t> ShardKey::hash_bytes() const noexcept {
    if (kind_ == Kind::Text) {
        return {reinterpret_cast<const std::uint8_t*>(text_.data()), text_.size()};
    }
    return {bytes_.data(), size_};
}

KeyParse key_from_text(std::string_view text, ShardKeyType type) noexcept {
    if (is_integer_type(type)) {
        return parse_integer(text, type);
    }
    if (type == ShardKeyType::Uuid) {
        return parse_uuid(text);
    }
    return ok(ShardKey::text(text));
}

KeyParse key_from_param(std::span<const std::uint8_t> value, ParamFormat format,
                        std::uint32_t type_oid, ShardKeyType type) noexcept {
    if (format == ParamFormat::Text) {
        return key_from_text({reinterpret_cast<const char*>(value.data()), value.size()}, type);
    }
    if (is_integer_type(type)) {
        return binary_integer(value, type_oid, type);
    }
    if (type == ShardKeyType::Uuid) {
        if (type_oid != oid::kUuid && type_oid != oid::kUnspecified) {
            return fail(KeyError::TypeMismatch);
        }
        if (value.size() != 16) {
            return fail(KeyError::BadBinaryLength);
        }
        std::array<std::uint8_t, 16> bytes{};
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            bytes[i] = value[i];
        }
        return ok(ShardKey::uuid(bytes));
    }
    // Text: the binary form of text and varchar is the bytes themselves.
    if (type_oid != oid::kText && type_oid != oid::kVarchar && type_oid != oid::kUnspecified) {
        return fail(KeyError::TypeMismatch);
    }
    return ok(ShardKey::text({reinterpret_cast<const char*>(value.data()), value.size()}));
}

}  // namespace pgrouter::sharding
