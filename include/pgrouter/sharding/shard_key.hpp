// pgrouter/sharding/shard_key.hpp — a shard key value, normalised from SQL literal text or a Bind
// parameter into the bytes the shard hash reads (README "Shard hash"). Pure: no I/O, no logging,
// never throws, and a key is built without allocating.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "pgrouter/config/config.hpp"

namespace pgrouter::sharding {

enum class KeyError : std::uint8_t {
    None,
    NotAnInteger,     // integer key: not [spaces][sign]digits[spaces] ("4.0", "0x10", "")
    OutOfRange,       // integer key: outside smallint, integer or bigint, as the key type says
    InvalidUuid,      // uuid key: none of PostgreSQL's uuid input forms
    BadBinaryLength,  // binary parameter whose length does not match its type
    TypeMismatch,     // binary parameter of a type that cannot be this key (int4 for a uuid key)
};

// "not an integer", "out of range", "invalid uuid", …
std::string_view to_string(KeyError error) noexcept;

// The error as PostgreSQL words it for the same input, e.g.
// `invalid input syntax for type bigint: "4.0"` or `value "70000" is out of range for type
// smallint`. For logs and the command line (allocates).
std::string describe(KeyError error, config::ShardKeyType type, std::string_view value);

// Bind parameter type OIDs the shard key understands (PostgreSQL's pg_type.dat).
namespace oid {
inline constexpr std::uint32_t kUnspecified = 0;
inline constexpr std::uint32_t kInt2 = 21;
inline constexpr std::uint32_t kInt4 = 23;
inline constexpr std::uint32_t kInt8 = 20;
inline constexpr std::uint32_t kText = 25;
inline constexpr std::uint32_t kVarchar = 1043;
inline constexpr std::uint32_t kUuid = 2950;
}  // namespace oid

// One key value of a known kind. Integers of every width are one kind (an int64), so 42 as
// smallint, integer, bigint, text '42' or any binary width is the same key.
class ShardKey {
public:
    enum class Kind : std::uint8_t { Integer, Text, Uuid };

    ShardKey() noexcept { set_integer(0); }
    static ShardKey integer(std::int64_t value) noexcept;
    // Borrows `bytes`: they must outlive the key (it hashes them in place, no copy).
    static ShardKey text(std::string_view bytes) noexcept;
    static ShardKey uuid(const std::array<std::uint8_t, 16>& bytes) noexcept;

    Kind kind() const noexcept { return kind_; }
    std::int64_t integer_value() const noexcept { return integer_; }  // Kind::Integer only
    std::string_view text_value() const noexcept { return text_; }    // Kind::Text only

    // What the shard hash reads: the 8-byte little-endian two's complement of an integer, the
    // bytes of a text, the 16 bytes of a uuid. Valid as long as this key (and what it borrows).
    std::span<const std::uint8_t> hash_bytes() const noexcept;

private:
    void set_integer(std::int64_t value) noexcept;

    Kind kind_ = Kind::Integer;
    std::uint8_t size_ = 0;  // bytes_ in use (Integer: 8, Uuid: 16)
    std::array<std::uint8_t, 16> bytes_{};
    std::int64_t integer_ = 0;
    std::string_view text_;
};

struct KeyParse {
    ShardKey key;  // meaningful only when ok()
    KeyError error = KeyError::None;

    bool ok() const noexcept { return error == KeyError::None; }
};

// A key from the text of a value: a SQL literal with its quotes already removed, a text-format
// Bind parameter, or the command line. Accepts what PostgreSQL 15's input functions accept:
// integers with surrounding whitespace and an optional sign (not "4.0", "0x10" or "1_000", which
// PostgreSQL 15 refuses), range-checked against the key type; uuids as 32 hex digits of either
// case, optionally in braces, with an optional '-' after any group of four digits; text as is.
[[nodiscard]] KeyParse key_from_text(std::string_view text, config::ShardKeyType type) noexcept;

enum class ParamFormat : std::uint8_t { Text = 0, Binary = 1 };  // Bind's format codes

// A key from a Bind parameter's value (not NULL: the caller handles length -1). Text format is
// key_from_text whatever the type OID. Binary format by OID: int2/int4/int8 as 2/4/8 big-endian
// bytes, text/varchar as the bytes, uuid as 16 bytes; OID 0 (the server infers the type) is
// read as the key type's binary form, integers by length (2, 4 or 8).
[[nodiscard]] KeyParse key_from_param(std::span<const std::uint8_t> value, ParamFormat format,
                                      std::uint32_t type_oid, config::ShardKeyType type) noexcept;

}  // namespace pgrouter::sharding
