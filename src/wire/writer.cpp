// src/wire/writer.cpp — MessageWriter: appends the messages pgrouter originates to a caller-owned
// buffer. No I/O, no logging; only the buffer's growth can throw.
#include "pgrouter/wire/writer.hpp"

#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"

namespace pgrouter::wire {

std::size_t MessageWriter::begin(char type) {
    out_.push_back(static_cast<std::uint8_t>(type));
    return begin_packet();
}

std::size_t MessageWriter::begin_packet() {
    const std::size_t at = out_.size();
    put_u32(0);
    return at;
}

void MessageWriter::finish(std::size_t length_at) {
    const auto length = static_cast<std::uint32_t>(out_.size() - length_at);
    out_[length_at] = static_cast<std::uint8_t>(length >> 24);
    out_[length_at + 1] = static_cast<std::uint8_t>(length >> 16);
    out_[length_at + 2] = static_cast<std::uint8_t>(length >> 8);
    out_[length_at + 3] = static_cast<std::uint8_t>(length);
}

void MessageWriter::put_u8(std::uint8_t v) {
    out_.push_back(v);
}

void MessageWriter::put_u32(std::uint32_t v) {
    const std::uint8_t be[4] = {static_cast<std::uint8_t>(v >> 24),
                                static_cast<std::uint8_t>(v >> 16),
                                static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    out_.insert(out_.end(), be, be + 4);
}

void MessageWriter::put_bytes(std::string_view s) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
    out_.insert(out_.end(), p, p + s.size());
}

void MessageWriter::put_cstr(std::string_view s) {
    // An embedded NUL would end the String early and shift every later field: cut it there.
    put_bytes(s.substr(0, s.find('\0')));
    put_u8(0);
}

// The fields ErrorResponse and NoticeResponse share: severity (localised and not), code, message.
void MessageWriter::put_notice_fields(std::string_view severity, std::string_view sqlstate,
                                      std::string_view message) {
    put_u8('S');
    put_cstr(severity);
    put_u8('V');
    put_cstr(severity);
    put_u8('C');
    put_cstr(sqlstate);
    put_u8('M');
    put_cstr(message);
}

void MessageWriter::error_response(std::string_view severity, std::string_view sqlstate,
                                   std::string_view message, std::string_view detail) {
    const std::size_t at = begin(backend::kErrorResponse);
    put_notice_fields(severity, sqlstate, message);
    if (!detail.empty()) {
        put_u8('D');
        put_cstr(detail);
    }
    put_u8(0);
    finish(at);
}

void MessageWriter::notice_response(std::string_view severity, std::string_view sqlstate,
                                    std::string_view message) {
    const std::size_t at = begin(backend::kNoticeResponse);
    put_notice_fields(severity, sqlstate, message);
    put_u8(0);
    finish(at);
}

void MessageWriter::authentication_ok() {
    const std::size_t at = begin(backend::kAuthentication);
    put_i32(kAuthOk);
    finish(at);
}

void MessageWriter::authentication_cleartext() {
    const std::size_t at = begin(backend::kAuthentication);
    put_i32(kAuthCleartext);
    finish(at);
}

void MessageWriter::authentication_md5(std::span<const std::uint8_t, 4> salt) {
    const std::size_t at = begin(backend::kAuthentication);
    put_i32(kAuthMd5);
    out_.insert(out_.end(), salt.begin(), salt.end());
    finish(at);
}

void MessageWriter::authentication_sasl(std::string_view mechanism) {
    const std::size_t at = begin(backend::kAuthentication);
    put_i32(kAuthSasl);
    put_cstr(mechanism);
    put_u8(0);  // the empty name that ends the list
    finish(at);
}

void MessageWriter::authentication_sasl_continue(std::string_view data) {
    const std::size_t at = begin(backend::kAuthentication);
    put_i32(kAuthSaslContinue);
    put_bytes(data);
    finish(at);
}

void MessageWriter::authentication_sasl_final(std::string_view data) {
    const std::size_t at = begin(backend::kAuthentication);
    put_i32(kAuthSaslFinal);
    put_bytes(data);
    finish(at);
}

void MessageWriter::parameter_status(std::string_view name, std::string_view value) {
    const std::size_t at = begin(backend::kParameterStatus);
    put_cstr(name);
    put_cstr(value);
    finish(at);
}

void MessageWriter::backend_key_data(CancelKey key) {
    const std::size_t at = begin(backend::kBackendKeyData);
    put_i32(key.pid);
    put_i32(key.secret);
    finish(at);
}

void MessageWriter::ready_for_query(char status) {
    const std::size_t at = begin(backend::kReadyForQuery);
    put_u8(static_cast<std::uint8_t>(status));
    finish(at);
}

void MessageWriter::negotiate_protocol_version(
    std::uint32_t newest_minor, std::span<const std::string_view> unrecognized_options) {
    const std::size_t at = begin(backend::kNegotiateProtocolVersion);
    put_u32((kProtocolV3 & 0xFFFF0000u) | (newest_minor & 0xFFFFu));
    put_u32(static_cast<std::uint32_t>(unrecognized_options.size()));
    for (const std::string_view option : unrecognized_options) {
        put_cstr(option);
    }
    finish(at);
}

void MessageWriter::startup_message(std::span<const StartupParam> params) {
    const std::size_t at = begin_packet();
    put_u32(kProtocolV3);
    for (const StartupParam& param : params) {
        if (param.name.substr(0, param.name.find('\0')).empty()) {
            continue;  // an empty name would end the list early; PostgreSQL could not parse the
                       // rest
        }
        put_cstr(param.name);
        put_cstr(param.value);
    }
    put_u8(0);
    finish(at);
}

void MessageWriter::password_message(std::string_view password) {
    const std::size_t at = begin(frontend::kPassword);
    put_cstr(password);
    finish(at);
}

void MessageWriter::sasl_initial_response(std::string_view mechanism, std::string_view data) {
    const std::size_t at = begin(frontend::kPassword);
    put_cstr(mechanism);
    put_u32(static_cast<std::uint32_t>(data.size()));
    put_bytes(data);
    finish(at);
}

void MessageWriter::sasl_response(std::string_view data) {
    const std::size_t at = begin(frontend::kPassword);
    put_bytes(data);
    finish(at);
}

void MessageWriter::query(std::string_view sql) {
    const std::size_t at = begin(frontend::kQuery);
    put_cstr(sql);
    finish(at);
}

void MessageWriter::sync() {
    finish(begin(frontend::kSync));
}

void MessageWriter::parse(std::string_view statement, std::string_view query,
                          std::uint16_t param_count, std::span<const std::uint8_t> param_types) {
    const std::size_t at = begin(frontend::kParse);
    put_cstr(statement);
    put_cstr(query);
    put_u8(static_cast<std::uint8_t>(param_count >> 8));
    put_u8(static_cast<std::uint8_t>(param_count & 0xff));
    out_.insert(out_.end(), param_types.begin(), param_types.end());
    finish(at);
}

void MessageWriter::bind_unnamed() {
    const std::size_t at = begin(frontend::kBind);
    put_cstr("");
    put_cstr("");
    put_u32(0);  // Int16 format count 0 + Int16 parameter count 0
    put_u8(0);   // Int16 result format count 0
    put_u8(0);
    finish(at);
}

void MessageWriter::execute(std::string_view portal, std::int32_t max_rows) {
    const std::size_t at = begin(frontend::kExecute);
    put_cstr(portal);
    put_i32(max_rows);
    finish(at);
}

void MessageWriter::describe(char kind, std::string_view name) {
    const std::size_t at = begin(frontend::kDescribe);
    put_u8(static_cast<std::uint8_t>(kind));
    put_cstr(name);
    finish(at);
}

void MessageWriter::close(char kind, std::string_view name) {
    const std::size_t at = begin(frontend::kClose);
    put_u8(static_cast<std::uint8_t>(kind));
    put_cstr(name);
    finish(at);
}

void MessageWriter::bind_renamed(std::string_view portal, std::string_view statement,
                                 std::span<const std::uint8_t> rest) {
    const std::size_t at = begin(frontend::kBind);
    put_cstr(portal);
    put_cstr(statement);
    out_.insert(out_.end(), rest.begin(), rest.end());
    finish(at);
}

void MessageWriter::bind_renamed_head(std::string_view portal, std::string_view statement,
                                      std::size_t rest_size) {
    out_.push_back(static_cast<std::uint8_t>(frontend::kBind));
    put_u32(static_cast<std::uint32_t>(4 + portal.size() + 1 + statement.size() + 1 + rest_size));
    put_cstr(portal);
    put_cstr(statement);
}

void MessageWriter::parse_complete() {
    finish(begin(backend::kParseComplete));
}

void MessageWriter::bind_complete() {
    finish(begin(backend::kBindComplete));
}

void MessageWriter::no_data() {
    finish(begin(backend::kNoData));
}

void MessageWriter::command_complete(std::string_view tag) {
    std::size_t at = begin(backend::kCommandComplete);
    put_cstr(tag);
    finish(at);
}

void MessageWriter::row_description_text(std::string_view column) {
    constexpr std::uint32_t kTextOid = 25;
    std::size_t at = begin(backend::kRowDescription);
    out_.push_back(0);
    out_.push_back(1);  // one field
    put_cstr(column);
    put_u32(0);  // no table
    out_.push_back(0);
    out_.push_back(0);  // no column number
    put_u32(kTextOid);
    out_.push_back(0xff);
    out_.push_back(0xff);  // typlen -1
    put_i32(-1);           // typmod
    out_.push_back(0);
    out_.push_back(0);  // text format
    finish(at);
}

void MessageWriter::data_row_text(std::string_view value) {
    std::size_t at = begin(backend::kDataRow);
    out_.push_back(0);
    out_.push_back(1);
    put_u32(static_cast<std::uint32_t>(value.size()));
    put_bytes(value);
    finish(at);
}

void MessageWriter::close_complete() {
    finish(begin(backend::kCloseComplete));
}

void MessageWriter::empty_query_response() {
    finish(begin(backend::kEmptyQueryResponse));
}

void MessageWriter::copy_done() {
    finish(begin(backend::kCopyDone));
}

void MessageWriter::copy_fail(std::string_view message) {
    const std::size_t at = begin(frontend::kCopyFail);
    put_cstr(message);
    finish(at);
}

void MessageWriter::terminate() {
    finish(begin(frontend::kTerminate));
}

void MessageWriter::cancel_request(CancelKey key) {
    const std::size_t at = begin_packet();
    put_u32(kCancelRequestCode);
    put_i32(key.pid);
    put_i32(key.secret);
    finish(at);
}

void MessageWriter::ssl_response_no() {
    put_u8('N');
}

}  // namespace pgrouter::wire
