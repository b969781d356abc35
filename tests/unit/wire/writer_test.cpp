// tests/unit/wire/writer_test.cpp — MessageWriter: exact bytes for fixed messages and round trips
// writer -> decode_frame/decode_startup -> parse_* for every method.
#include "pgrouter/wire/writer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "support/bytes.hpp"

namespace pgrouter::wire {
namespace {

using test::be32;
using test::Buf;
using test::cstr;

std::string text(Bytes b) {
    return std::string(b.begin(), b.end());
}

// Frames the single message in `out`; the test fails unless it fills the buffer exactly.
Frame only_frame(const Buf& out) {
    const DecodeResult r = decode_frame(out, 1 << 20);
    EXPECT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.total, out.size());
    return r.frame;
}

TEST(MessageWriter, SyncAndTerminateAreHeaderOnly) {
    Buf out;
    MessageWriter w(out);
    w.sync();
    w.terminate();
    EXPECT_EQ(out, test::bytes(std::string("S\0\0\0\x04X\0\0\0\x04", 10)));
}

TEST(MessageWriter, AuthenticationOkMatchesPostgresBytes) {
    Buf out;
    MessageWriter(out).authentication_ok();
    EXPECT_EQ(out, test::bytes(std::string("R\0\0\0\x08\0\0\0\0", 9)));
}

TEST(MessageWriter, SslResponseNoIsOneByte) {
    Buf out;
    MessageWriter(out).ssl_response_no();
    EXPECT_EQ(out, Buf{'N'});
}

TEST(MessageWriter, AppendsToExistingContentAndKeepsCapacity) {
    Buf out;
    out.reserve(256);
    const auto* storage = out.data();
    MessageWriter w(out);
    w.ready_for_query('I');
    w.query("select 1");
    ASSERT_EQ(out.data(), storage);  // no reallocation: the buffer is the caller's and reused

    const DecodeResult first = decode_frame(out, 1024);
    ASSERT_EQ(first.status, DecodeStatus::Complete);
    EXPECT_EQ(parse_ready_for_query(first.frame), 'I');
    const DecodeResult second = decode_frame(Bytes(out).subspan(first.total), 1024);
    ASSERT_EQ(second.status, DecodeStatus::Complete);
    EXPECT_EQ(parse_query(second.frame), "select 1");
    EXPECT_EQ(first.total + second.total, out.size());

    out.clear();
    w.sync();
    EXPECT_EQ(out.size(), kHeaderSize);
    EXPECT_EQ(out.data(), storage);
}

TEST(MessageWriter, ErrorResponseRoundTripsWithDetail) {
    Buf out;
    MessageWriter(out).error_response("FATAL", kTooManyConnections, "no server available",
                                      "waited 5s");
    const Frame f = only_frame(out);
    EXPECT_EQ(f.type, 'E');
    const auto e = parse_error_fields(f);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->severity, "FATAL");
    EXPECT_EQ(e->severity_v, "FATAL");
    EXPECT_EQ(e->sqlstate, "53300");
    EXPECT_EQ(e->message, "no server available");
    EXPECT_EQ(e->detail, "waited 5s");
}

TEST(MessageWriter, ErrorResponseWithoutDetailHasNoDField) {
    Buf out;
    MessageWriter(out).error_response("ERROR", kFeatureNotSupported, "nope");
    const Frame f = only_frame(out);
    EXPECT_EQ(text(f.body()),
              test::error_body({{'S', "ERROR"}, {'V', "ERROR"}, {'C', "0A000"}, {'M', "nope"}}));
}

TEST(MessageWriter, EmbeddedNulIsCutSoTheMessageStillFrames) {
    Buf out;
    MessageWriter(out).error_response("ERROR", kInternalError, std::string_view("bad\0tail", 8));
    const auto e = parse_error_fields(only_frame(out));
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->message, "bad");
}

TEST(MessageWriter, NoticeResponseRoundTrips) {
    Buf out;
    MessageWriter(out).notice_response("NOTICE", "00000", "routed to replica");
    const Frame f = only_frame(out);
    EXPECT_EQ(f.type, 'N');
    const auto e = parse_error_fields(f);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->severity, "NOTICE");
    EXPECT_EQ(e->severity_v, "NOTICE");
    EXPECT_EQ(e->sqlstate, "00000");
    EXPECT_EQ(e->message, "routed to replica");
    EXPECT_TRUE(e->detail.empty());
}

TEST(MessageWriter, AuthenticationRequestsRoundTrip) {
    Buf out;
    MessageWriter(out).authentication_cleartext();
    auto a = parse_authentication(only_frame(out));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->code, kAuthCleartext);

    out.clear();
    const std::array<std::uint8_t, 4> salt = {0xDE, 0xAD, 0x00, 0xEF};
    MessageWriter(out).authentication_md5(salt);
    a = parse_authentication(only_frame(out));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->code, kAuthMd5);
    EXPECT_EQ(Buf(a->data.begin(), a->data.end()), Buf(salt.begin(), salt.end()));

    out.clear();
    MessageWriter(out).authentication_sasl("SCRAM-SHA-256");
    a = parse_authentication(only_frame(out));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->code, kAuthSasl);
    EXPECT_EQ(text(a->data), cstr("SCRAM-SHA-256") + cstr(""));
    EXPECT_TRUE(sasl_mechanisms_contain(a->data, "SCRAM-SHA-256"));

    out.clear();
    MessageWriter(out).authentication_sasl_continue("r=nonce,s=salt,i=4096");
    a = parse_authentication(only_frame(out));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->code, kAuthSaslContinue);
    EXPECT_EQ(text(a->data), "r=nonce,s=salt,i=4096");

    out.clear();
    MessageWriter(out).authentication_sasl_final("v=signature");
    a = parse_authentication(only_frame(out));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->code, kAuthSaslFinal);
    EXPECT_EQ(text(a->data), "v=signature");
}

TEST(MessageWriter, ParameterStatusRoundTrips) {
    Buf out;
    MessageWriter(out).parameter_status("client_encoding", "UTF8");
    const auto p = parse_parameter_status(only_frame(out));
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->name, "client_encoding");
    EXPECT_EQ(p->value, "UTF8");
}

TEST(MessageWriter, BackendKeyDataRoundTrips) {
    Buf out;
    const CancelKey key{-7, 123456789};
    MessageWriter(out).backend_key_data(key);
    EXPECT_EQ(parse_backend_key_data(only_frame(out)), key);
}

TEST(MessageWriter, ReadyForQueryRoundTrips) {
    for (const char status : {'I', 'T', 'E'}) {
        Buf out;
        MessageWriter(out).ready_for_query(status);
        EXPECT_EQ(parse_ready_for_query(only_frame(out)), status);
    }
}

TEST(MessageWriter, NegotiateProtocolVersionCarriesFullVersionAndOptions) {
    Buf out;
    const std::string_view options[] = {"_pq_.compression", "_pq_.other"};
    MessageWriter(out).negotiate_protocol_version(0, options);
    const Frame f = only_frame(out);
    EXPECT_EQ(f.type, 'v');
    EXPECT_EQ(text(f.body()),
              be32(kProtocolV3) + be32(2) + cstr("_pq_.compression") + cstr("_pq_.other"));

    out.clear();
    MessageWriter(out).negotiate_protocol_version(2, {});
    EXPECT_EQ(text(only_frame(out).body()), be32((3u << 16) | 2u) + be32(0));
}

TEST(MessageWriter, StartupMessageRoundTrips) {
    Buf out;
    const StartupParam params[] = {{"user", "app"}, {"database", "shop"}, {"", "skipped"}};
    MessageWriter(out).startup_message(params);
    const StartupDecode r = decode_startup(out, kMaxStartupPacket);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.total, out.size());
    EXPECT_EQ(r.kind, StartupKind::Startup);
    EXPECT_EQ(r.code, kProtocolV3);
    std::vector<StartupParam> parsed;
    ASSERT_TRUE(parse_startup_params(r.packet, parsed));
    ASSERT_EQ(parsed.size(), 2u);
    EXPECT_EQ(parsed[0].name, "user");
    EXPECT_EQ(parsed[0].value, "app");
    EXPECT_EQ(parsed[1].name, "database");
    EXPECT_EQ(parsed[1].value, "shop");
}

TEST(MessageWriter, PasswordMessageRoundTrips) {
    Buf out;
    MessageWriter(out).password_message("hunter2");
    const Frame f = only_frame(out);
    EXPECT_EQ(f.type, 'p');
    EXPECT_EQ(parse_password(f), "hunter2");
}

TEST(MessageWriter, SaslInitialResponseRoundTrips) {
    Buf out;
    MessageWriter(out).sasl_initial_response("SCRAM-SHA-256", "n,,n=,r=abc");
    const auto s = parse_sasl_initial_response(only_frame(out));
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->mechanism, "SCRAM-SHA-256");
    EXPECT_EQ(text(s->data), "n,,n=,r=abc");
}

TEST(MessageWriter, SaslResponseIsTheRawBody) {
    Buf out;
    MessageWriter(out).sasl_response("c=biws,r=abc,p=proof");
    const Frame f = only_frame(out);
    EXPECT_EQ(f.type, 'p');
    EXPECT_EQ(text(f.body()), "c=biws,r=abc,p=proof");
}

TEST(MessageWriter, QueryRoundTrips) {
    Buf out;
    MessageWriter(out).query("SELECT pg_is_in_recovery()");
    EXPECT_EQ(parse_query(only_frame(out)), "SELECT pg_is_in_recovery()");
}

TEST(MessageWriter, CancelRequestRoundTrips) {
    Buf out;
    const CancelKey key{4242, -1};
    MessageWriter(out).cancel_request(key);
    ASSERT_EQ(out.size(), kCancelRequestSize);
    const StartupDecode r = decode_startup(out, kMaxStartupPacket);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.kind, StartupKind::CancelRequest);
    EXPECT_EQ(parse_cancel_request(r.packet), key);
    EXPECT_EQ(out, test::bytes(be32(16) + be32(80877102) + be32(4242) + be32(0xFFFFFFFFu)));
}

}  // namespace
}  // namespace pgrouter::wire

namespace pgrouter::wire {
namespace {

TEST(MessageWriterInjected, ParseRoundTripsThroughParseParse) {
    std::vector<std::uint8_t> out;
    const std::uint8_t oids[] = {0, 0, 0, 23, 0, 0, 0, 25};
    MessageWriter(out).parse("pgr_1", "select $1, $2", 2, oids);
    auto r = decode_frame(out, 1 << 20);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    auto view = parse_parse(r.frame);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->statement, "pgr_1");
    EXPECT_EQ(view->query, "select $1, $2");
    EXPECT_EQ(view->param_count, 2);
    EXPECT_EQ(read_u32(view->param_types.data() + 4), 25u);
}

TEST(MessageWriterInjected, BindRenamedKeepsTheRestOfTheBody) {
    std::vector<std::uint8_t> out;
    const std::uint8_t rest[] = {0, 0, 0, 0, 0, 0};
    MessageWriter(out).bind_renamed("portal", "pgr_2", rest);
    auto r = decode_frame(out, 1 << 20);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    auto view = parse_bind(r.frame);
    ASSERT_TRUE(view);
    EXPECT_EQ(view->portal, "portal");
    EXPECT_EQ(view->statement, "pgr_2");
    EXPECT_EQ(r.frame.bytes.size(), 5u + 7 + 6 + 6);
}

TEST(MessageWriterInjected, BindRenamedHeadPlusStreamedRestEqualsTheWholeBind) {
    const std::uint8_t rest[] = {0, 0, 0, 1, 0, 0, 0, 3, 'a', 'b', 'c', 0, 0};
    std::vector<std::uint8_t> whole;
    MessageWriter(whole).bind_renamed("", "pgr_9", rest);
    std::vector<std::uint8_t> streamed;
    MessageWriter(streamed).bind_renamed_head("", "pgr_9", sizeof rest);
    streamed.insert(streamed.end(), std::begin(rest), std::end(rest));
    EXPECT_EQ(streamed, whole);
}

TEST(MessageWriterInjected, DescribeCloseAndCompletionsFrame) {
    std::vector<std::uint8_t> out;
    MessageWriter w(out);
    w.describe('S', "pgr_3");
    w.close('S', "pgr_3");
    w.parse_complete();
    w.close_complete();
    w.bind_unnamed();
    w.execute("", 0);
    auto first = decode_frame(out, 1 << 20);
    auto d = parse_describe(first.frame);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->kind, 'S');
    EXPECT_EQ(d->name, "pgr_3");
    std::size_t pos = first.frame.bytes.size();
    auto second = decode_frame(std::span(out).subspan(pos), 1 << 20);
    auto c = parse_close(second.frame);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->name, "pgr_3");
    pos += second.frame.bytes.size();
    std::vector<char> types;
    while (pos < out.size()) {
        auto r = decode_frame(std::span(out).subspan(pos), 1 << 20);
        ASSERT_EQ(r.status, DecodeStatus::Complete);
        types.push_back(r.frame.type);
        pos += r.frame.bytes.size();
    }
    EXPECT_EQ(types, (std::vector<char>{'1', '3', 'B', 'E'}));
}

}  // namespace
}  // namespace pgrouter::wire
