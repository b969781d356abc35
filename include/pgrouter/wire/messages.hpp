// pgrouter/wire/messages.hpp — lazy typed views over a Frame: the fields pgrouter looks at, no
// copies. Pure: no I/O, no allocation, no logging, never throws. Views live as long as the frame.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "pgrouter/wire/frame.hpp"
#include "pgrouter/wire/startup.hpp"

namespace pgrouter::wire {

// Each parse_* returns nullopt if frame.type is not its letter or the body is truncated or
// malformed. Bodies must be consumed exactly (PostgreSQL's pq_getmsgend rule), except Bind where
// only the two names are read. Letters are shared between directions ('C', 'D', 'S', 'E'): the
// caller knows which way the frame travels and picks the parser.

// ReadyForQuery 'Z' -> transaction status 'I' (idle), 'T' (in transaction) or 'E' (failed).
[[nodiscard]] std::optional<char> parse_ready_for_query(const Frame& frame) noexcept;

// ErrorResponse 'E' / NoticeResponse 'N'. Fields not present are empty; unknown fields skipped.
struct ErrorFields {
    std::string_view severity, severity_v, sqlstate, message, detail;
};
[[nodiscard]] std::optional<ErrorFields> parse_error_fields(const Frame& frame) noexcept;

// ParameterStatus 'S' (backend).
struct ParameterStatusView {
    std::string_view name, value;
};
[[nodiscard]] std::optional<ParameterStatusView> parse_parameter_status(
    const Frame& frame) noexcept;

// BackendKeyData 'K': protocol 3.0 layout only (int32 pid, int32 secret).
[[nodiscard]] std::optional<CancelKey> parse_backend_key_data(const Frame& frame) noexcept;

// Query 'Q' -> SQL text (without the NUL).
[[nodiscard]] std::optional<std::string_view> parse_query(const Frame& frame) noexcept;

// Parse 'P'. param_types holds param_count big-endian int32 OIDs (use read_u32).
struct ParseView {
    std::string_view statement, query;
    std::uint16_t param_count = 0;
    Bytes param_types;
};
[[nodiscard]] std::optional<ParseView> parse_parse(const Frame& frame) noexcept;

// Bind 'B': only the portal and statement names; parameters and formats are not validated.
struct BindView {
    std::string_view portal, statement;
};
[[nodiscard]] std::optional<BindView> parse_bind(const Frame& frame) noexcept;

// One parameter of a Bind: its format code (0 text, 1 binary) and value.
struct BindParam {
    std::uint16_t format = 0;
    bool null = false;
    Bytes value;
};
// Parameter `n` (0-based) of a Bind, its format read as PostgreSQL reads them (no codes: all
// text; one code: for every parameter; else one per parameter). nullopt when the message is
// malformed or has no parameter `n`.
[[nodiscard]] std::optional<BindParam> bind_param(const Frame& frame, std::size_t n) noexcept;

// Describe 'D' / Close 'C' (frontend). kind is 'S' (statement) or 'P' (portal).
struct TargetView {
    char kind = 0;
    std::string_view name;
};
[[nodiscard]] std::optional<TargetView> parse_describe(const Frame& frame) noexcept;
[[nodiscard]] std::optional<TargetView> parse_close(const Frame& frame) noexcept;

// CommandComplete 'C' (backend) -> command tag, e.g. "SELECT 1".
[[nodiscard]] std::optional<std::string_view> parse_command_complete(const Frame& frame) noexcept;

// Authentication 'R'. code: 0 ok, 3 cleartext, 5 md5 (data = 4-byte salt), 10 SASL (data =
// NUL-terminated mechanism names followed by an empty one), 11 SASLContinue, 12 SASLFinal.
// The layouts of codes 0, 3, 5 and 10 are checked; other codes are returned with data = the rest.
inline constexpr std::int32_t kAuthOk = 0;
inline constexpr std::int32_t kAuthCleartext = 3;
inline constexpr std::int32_t kAuthMd5 = 5;
inline constexpr std::int32_t kAuthSasl = 10;
inline constexpr std::int32_t kAuthSaslContinue = 11;
inline constexpr std::int32_t kAuthSaslFinal = 12;
struct AuthRequest {
    std::int32_t code = 0;
    Bytes data;
};
[[nodiscard]] std::optional<AuthRequest> parse_authentication(const Frame& frame) noexcept;

// SASLInitialResponse 'p': mechanism, then int32 length and data (length -1 -> empty data).
struct SaslInitialResponse {
    std::string_view mechanism;
    Bytes data;
};
[[nodiscard]] std::optional<SaslInitialResponse> parse_sasl_initial_response(
    const Frame& frame) noexcept;

// PasswordMessage 'p': one NUL-terminated string (cleartext or "md5..." hash).
[[nodiscard]] std::optional<std::string_view> parse_password(const Frame& frame) noexcept;

// SASLResponse 'p' has no structure: it is frame.body() as bytes.

// True if the mechanism list of an AuthRequest with code 10 names `mechanism`. Only names
// terminated by NUL count.
[[nodiscard]] bool sasl_mechanisms_contain(Bytes data, std::string_view mechanism) noexcept;

}  // namespace pgrouter::wire
