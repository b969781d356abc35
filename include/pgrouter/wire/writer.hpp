// pgrouter/wire/writer.hpp — builds the messages pgrouter itself sends (errors, auth, startup),
// appended to a caller-owned buffer that keeps its capacity. Never used to re-encode forwarded
// messages: those go out as the bytes that arrived. No I/O, no logging.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "pgrouter/wire/startup.hpp"

namespace pgrouter::wire {

// Each call appends one complete message with a correct length field. Strings written as protocol
// Strings are cut at their first NUL so the result always frames correctly. Only growing the
// buffer can throw (std::bad_alloc).
class MessageWriter {
public:
    explicit MessageWriter(std::vector<std::uint8_t>& out) noexcept : out_(out) {}

    // ErrorResponse 'E'. severity "FATAL"/"ERROR": fields S, V (same text), C, M, and D when
    // detail is non-empty.
    void error_response(std::string_view severity, std::string_view sqlstate,
                        std::string_view message, std::string_view detail = {});
    // NoticeResponse 'N': fields S, V, C, M.
    void notice_response(std::string_view severity, std::string_view sqlstate,
                         std::string_view message);

    void authentication_ok();                                        // 'R' code 0
    void authentication_cleartext();                                 // 'R' code 3
    void authentication_md5(std::span<const std::uint8_t, 4> salt);  // 'R' code 5
    void authentication_sasl(std::string_view mechanism);      // code 10, list with one mechanism
    void authentication_sasl_continue(std::string_view data);  // code 11
    void authentication_sasl_final(std::string_view data);     // code 12

    void parameter_status(std::string_view name, std::string_view value);  // 'S'
    void backend_key_data(CancelKey key);                                  // 'K'
    void ready_for_query(char status);                                     // 'Z'
    // NegotiateProtocolVersion 'v'. On the wire the version field carries the full version
    // (3 << 16 | newest_minor), as PostgreSQL sends PG_PROTOCOL_LATEST and libpq reads it.
    void negotiate_protocol_version(std::uint32_t newest_minor,
                                    std::span<const std::string_view> unrecognized_options);

    // StartupMessage, protocol 3.0, no type byte. Params with an empty name are skipped: one
    // would end the list early.
    void startup_message(std::span<const StartupParam> params);
    void password_message(std::string_view password);                               // 'p' + NUL
    void sasl_initial_response(std::string_view mechanism, std::string_view data);  // 'p'
    void sasl_response(std::string_view data);                                      // 'p'
    void query(std::string_view sql);                                               // 'Q'
    void sync();                                                                    // 'S'
    // Extended-protocol messages pgrouter injects (statement names are pgrouter's own).
    // param_types: a client Parse's parameter OIDs as they arrived (param_count big-endian Int32s).
    void parse(std::string_view statement, std::string_view query, std::uint16_t param_count,
               std::span<const std::uint8_t> param_types);
    void bind_unnamed();  // Bind "" to "", no parameters, default result formats
    void execute(std::string_view portal, std::int32_t max_rows);
    void describe(char kind, std::string_view name);  // kind 'S' or 'P'
    void close(char kind, std::string_view name);
    // A Bind whose statement name is replaced; `rest` is the original body after that name.
    void bind_renamed(std::string_view portal, std::string_view statement,
                      std::span<const std::uint8_t> rest);
    // The start of such a Bind when the rest (`rest_size` bytes in all) is streamed after it as
    // it arrives: header with the final length, portal and new statement name.
    void bind_renamed_head(std::string_view portal, std::string_view statement,
                           std::size_t rest_size);
    void parse_complete();                        // '1'
    void bind_complete();                         // '2'
    void no_data();                               // 'n'
    void command_complete(std::string_view tag);  // 'C'
    // RowDescription 'T' of one text column (what SHOW answers).
    void row_description_text(std::string_view column);
    // DataRow 'D' of one non-null text value.
    void data_row_text(std::string_view value);
    void close_complete();                     // '3'
    void empty_query_response();               // 'I'
    void copy_done();                          // 'c'
    void copy_fail(std::string_view message);  // 'f'
    void terminate();                          // 'X'
    void cancel_request(CancelKey key);        // 16-byte length-first packet
    void ssl_response_no();                    // the single byte 'N'

private:
    // Appends the type byte and a placeholder length; returns where the length field starts.
    std::size_t begin(char type);
    // Same for length-first packets (no type byte).
    std::size_t begin_packet();
    // Fills in the length field at `length_at`: everything from there to the end of the buffer.
    void finish(std::size_t length_at);
    void put_u8(std::uint8_t v);
    void put_u32(std::uint32_t v);
    void put_i32(std::int32_t v) { put_u32(static_cast<std::uint32_t>(v)); }
    void put_bytes(std::string_view s);
    void put_cstr(std::string_view s);
    void put_notice_fields(std::string_view severity, std::string_view sqlstate,
                           std::string_view message);

    std::vector<std::uint8_t>& out_;
};

}  // namespace pgrouter::wire
