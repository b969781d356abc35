// src/wire/messages.cpp — typed views over frames: reads only the fields pgrouter needs, checks
// every length before reading. Pure: no allocation, no logging, never throws.
#include "pgrouter/wire/messages.hpp"

#include "body_reader.hpp"
#include "pgrouter/wire/message_type.hpp"

namespace pgrouter::wire {

namespace {

using detail::BodyReader;

// A body that is exactly one String, as Query, CommandComplete and PasswordMessage are.
std::optional<std::string_view> single_cstr(const Frame& frame, char type) noexcept {
    if (frame.type != type) {
        return std::nullopt;
    }
    BodyReader r(frame.body());
    std::string_view s;
    if (!r.cstr(s) || !r.at_end()) {
        return std::nullopt;
    }
    return s;
}

// Describe and Close share their layout: Byte1 'S'|'P', then the name.
std::optional<TargetView> target(const Frame& frame, char type) noexcept {
    if (frame.type != type) {
        return std::nullopt;
    }
    BodyReader r(frame.body());
    std::uint8_t kind = 0;
    TargetView view;
    if (!r.u8(kind) || (kind != 'S' && kind != 'P') || !r.cstr(view.name) || !r.at_end()) {
        return std::nullopt;
    }
    view.kind = static_cast<char>(kind);
    return view;
}

// A SASL mechanism list: non-empty Strings, then an empty one that must end the data.
bool valid_mechanism_list(Bytes data) noexcept {
    BodyReader r(data);
    std::string_view name;
    do {
        if (!r.cstr(name)) {
            return false;
        }
    } while (!name.empty());
    return r.at_end();
}

}  // namespace

std::optional<char> parse_ready_for_query(const Frame& frame) noexcept {
    if (frame.type != backend::kReadyForQuery) {
        return std::nullopt;
    }
    const Bytes body = frame.body();
    if (body.size() != 1) {
        return std::nullopt;
    }
    const char status = static_cast<char>(body[0]);
    if (status != 'I' && status != 'T' && status != 'E') {
        return std::nullopt;
    }
    return status;
}

std::optional<ErrorFields> parse_error_fields(const Frame& frame) noexcept {
    if (frame.type != backend::kErrorResponse && frame.type != backend::kNoticeResponse) {
        return std::nullopt;
    }
    BodyReader r(frame.body());
    ErrorFields fields;
    for (;;) {
        std::uint8_t code = 0;
        if (!r.u8(code)) {
            return std::nullopt;  // the zero field terminator is missing
        }
        if (code == 0) {
            break;
        }
        std::string_view value;
        if (!r.cstr(value)) {
            return std::nullopt;
        }
        switch (code) {
            case 'S':
                fields.severity = value;
                break;
            case 'V':
                fields.severity_v = value;
                break;
            case 'C':
                fields.sqlstate = value;
                break;
            case 'M':
                fields.message = value;
                break;
            case 'D':
                fields.detail = value;
                break;
            default:
                break;  // hint, position, where, ...: the protocol says unknown fields are ignored
        }
    }
    if (!r.at_end()) {
        return std::nullopt;
    }
    return fields;
}

std::optional<ParameterStatusView> parse_parameter_status(const Frame& frame) noexcept {
    if (frame.type != backend::kParameterStatus) {
        return std::nullopt;
    }
    BodyReader r(frame.body());
    ParameterStatusView view;
    if (!r.cstr(view.name) || !r.cstr(view.value) || !r.at_end()) {
        return std::nullopt;
    }
    return view;
}

std::optional<CancelKey> parse_backend_key_data(const Frame& frame) noexcept {
    if (frame.type != backend::kBackendKeyData) {
        return std::nullopt;
    }
    BodyReader r(frame.body());
    CancelKey key;
    if (!r.i32(key.pid) || !r.i32(key.secret) || !r.at_end()) {
        return std::nullopt;
    }
    return key;
}

std::optional<std::string_view> parse_query(const Frame& frame) noexcept {
    return single_cstr(frame, frontend::kQuery);
}

std::optional<ParseView> parse_parse(const Frame& frame) noexcept {
    if (frame.type != frontend::kParse) {
        return std::nullopt;
    }
    BodyReader r(frame.body());
    ParseView view;
    if (!r.cstr(view.statement) || !r.cstr(view.query) || !r.u16(view.param_count) ||
        !r.bytes(std::size_t{view.param_count} * 4, view.param_types) || !r.at_end()) {
        return std::nullopt;
    }
    return view;
}

std::optional<BindView> parse_bind(const Frame& frame) noexcept {
    if (frame.type != frontend::kBind) {
        return std::nullopt;
    }
    BodyReader r(frame.body());
    BindView view;
    if (!r.cstr(view.portal) || !r.cstr(view.statement)) {
        return std::nullopt;
    }
    return view;
}

std::optional<BindParam> bind_param(const Frame& frame, std::size_t n) noexcept {
    if (frame.type != frontend::kBind) {
        return std::nullopt;
    }
    BodyReader r(frame.body());
    std::string_view portal, statement;
    std::uint16_t format_count = 0;
    if (!r.cstr(portal) || !r.cstr(statement) || !r.u16(format_count)) {
        return std::nullopt;
    }
    Bytes formats;
    std::uint16_t param_count = 0;
    if (!r.bytes(std::size_t{format_count} * 2, formats) || !r.u16(param_count) ||
        n >= param_count || (format_count > 1 && format_count != param_count)) {
        return std::nullopt;
    }
    BindParam param;
    if (format_count == 1) {
        param.format = read_u16(formats.data());
    } else if (format_count > 1) {
        param.format = read_u16(formats.data() + 2 * n);
    }
    for (std::size_t i = 0; i <= n; ++i) {
        std::int32_t length = 0;
        if (!r.i32(length) || length < -1) {
            return std::nullopt;
        }
        param.null = length == -1;
        if (!param.null && !r.bytes(static_cast<std::size_t>(length), param.value)) {
            return std::nullopt;
        }
    }
    return param;
}

std::optional<TargetView> parse_describe(const Frame& frame) noexcept {
    return target(frame, frontend::kDescribe);
}

std::optional<TargetView> parse_close(const Frame& frame) noexcept {
    return target(frame, frontend::kClose);
}

std::optional<std::string_view> parse_command_complete(const Frame& frame) noexcept {
    return single_cstr(frame, backend::kCommandComplete);
}

std::optional<AuthRequest> parse_authentication(const Frame& frame) noexcept {
    if (frame.type != backend::kAuthentication) {
        return std::nullopt;
    }
    BodyReader r(frame.body());
    AuthRequest request;
    if (!r.i32(request.code)) {
        return std::nullopt;
    }
    request.data = r.rest();
    switch (request.code) {
        case kAuthOk:
        case kAuthCleartext:
            if (!request.data.empty()) {
                return std::nullopt;
            }
            break;
        case kAuthMd5:
            if (request.data.size() != 4) {
                return std::nullopt;
            }
            break;
        case kAuthSasl:
            if (!valid_mechanism_list(request.data)) {
                return std::nullopt;
            }
            break;
        default:
            break;  // SASL continue/final carry opaque data; other methods are the caller's call
    }
    return request;
}

std::optional<SaslInitialResponse> parse_sasl_initial_response(const Frame& frame) noexcept {
    if (frame.type != frontend::kPassword) {
        return std::nullopt;
    }
    BodyReader r(frame.body());
    SaslInitialResponse response;
    std::int32_t length = 0;
    if (!r.cstr(response.mechanism) || !r.i32(length) || length < -1) {
        return std::nullopt;
    }
    if (length >= 0 && !r.bytes(static_cast<std::size_t>(length), response.data)) {
        return std::nullopt;
    }
    if (!r.at_end()) {
        return std::nullopt;
    }
    return response;
}

std::optional<std::string_view> parse_password(const Frame& frame) noexcept {
    return single_cstr(frame, frontend::kPassword);
}

bool sasl_mechanisms_contain(Bytes data, std::string_view mechanism) noexcept {
    BodyReader r(data);
    std::string_view name;
    while (r.cstr(name) && !name.empty()) {
        if (name == mechanism) {
            return true;
        }
    }
    return false;
}

}  // namespace pgrouter::wire
