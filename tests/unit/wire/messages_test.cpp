// tests/unit/wire/messages_test.cpp — typed views over frames: valid bodies, wrong letters,
// truncated and malformed bodies for every parse_* function, and random/mutated bytes.
#include "pgrouter/wire/messages.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "support/bytes.hpp"

namespace pgrouter::wire {
namespace {

using test::be16;
using test::be32;
using test::Buf;
using test::cstr;
using test::error_body;
using test::msg;

// Frames `m`, which must hold exactly one complete message. `m` must outlive the frame.
Frame frame_of(const Buf& m) {
    const DecodeResult r = decode_frame(m, 1 << 20);
    EXPECT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.total, m.size());
    return r.frame;
}

std::string text(Bytes b) {
    return std::string(b.begin(), b.end());
}

// Every strict prefix of `body` (from `from` bytes on) is a truncated message and must be refused.
template <typename Parser>
void expect_prefixes_rejected(char type, const std::string& body, Parser parse,
                              std::size_t from = 0) {
    for (std::size_t n = from; n < body.size(); ++n) {
        const Buf m = msg(type, body.substr(0, n));
        EXPECT_FALSE(parse(frame_of(m)).has_value()) << "prefix of " << n << " bytes";
    }
}

// A complete body followed by one stray byte must be refused (bodies are consumed exactly).
template <typename Parser>
void expect_trailing_rejected(char type, const std::string& body, Parser parse) {
    const Buf m = msg(type, body + "x");
    EXPECT_FALSE(parse(frame_of(m)).has_value());
}

template <typename Parser>
void expect_wrong_type_rejected(char wrong_type, const std::string& body, Parser parse) {
    const Buf m = msg(wrong_type, body);
    EXPECT_FALSE(parse(frame_of(m)).has_value());
}

TEST(ParseReadyForQuery, ReadsEachStatus) {
    for (const char status : {'I', 'T', 'E'}) {
        const Buf m = test::rfq(status);
        const auto r = parse_ready_for_query(frame_of(m));
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(*r, status);
    }
}

TEST(ParseReadyForQuery, RejectsBadBodies) {
    const Buf unknown = test::rfq('X');
    EXPECT_FALSE(parse_ready_for_query(frame_of(unknown)).has_value());
    expect_prefixes_rejected('Z', "I", parse_ready_for_query);
    expect_trailing_rejected('Z', "I", parse_ready_for_query);
    expect_wrong_type_rejected('S', "I", parse_ready_for_query);
}

TEST(ParseErrorFields, ReadsKnownFieldsAndSkipsOthers) {
    const std::string body = error_body({{'S', "FATAL"},
                                         {'V', "FATAL"},
                                         {'C', "28P01"},
                                         {'M', "password authentication failed"},
                                         {'H', "a hint"},
                                         {'D', "more detail"},
                                         {'R', "auth_failed"}});
    const Buf m = msg('E', body);
    const auto f = parse_error_fields(frame_of(m));
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->severity, "FATAL");
    EXPECT_EQ(f->severity_v, "FATAL");
    EXPECT_EQ(f->sqlstate, "28P01");
    EXPECT_EQ(f->message, "password authentication failed");
    EXPECT_EQ(f->detail, "more detail");
}

TEST(ParseErrorFields, NoticeWithMissingFieldsLeavesThemEmpty) {
    const Buf m = msg('N', error_body({{'S', "NOTICE"}, {'M', "hello"}}));
    const auto f = parse_error_fields(frame_of(m));
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->severity, "NOTICE");
    EXPECT_EQ(f->message, "hello");
    EXPECT_TRUE(f->sqlstate.empty());
    EXPECT_TRUE(f->detail.empty());
}

TEST(ParseErrorFields, OnlyTerminatorIsValid) {
    const Buf m = msg('E', std::string(1, '\0'));
    EXPECT_TRUE(parse_error_fields(frame_of(m)).has_value());
}

TEST(ParseErrorFields, RejectsBadBodies) {
    const std::string body = error_body({{'S', "ERROR"}, {'C', "42601"}, {'M', "syntax"}});
    expect_prefixes_rejected('E', body, parse_error_fields);
    expect_trailing_rejected('E', body, parse_error_fields);
    expect_wrong_type_rejected('C', body, parse_error_fields);
}

TEST(ParseParameterStatus, ReadsNameAndValue) {
    const Buf m = msg('S', cstr("server_version") + cstr("15.4"));
    const auto p = parse_parameter_status(frame_of(m));
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->name, "server_version");
    EXPECT_EQ(p->value, "15.4");
}

TEST(ParseParameterStatus, RejectsBadBodies) {
    const std::string body = cstr("TimeZone") + cstr("UTC");
    expect_prefixes_rejected('S', body, parse_parameter_status);
    expect_trailing_rejected('S', body, parse_parameter_status);
    expect_wrong_type_rejected('K', body, parse_parameter_status);
}

TEST(ParseBackendKeyData, ReadsSignedKey) {
    const Buf m = msg('K', be32(31337) + be32(0x80000000u));
    const auto k = parse_backend_key_data(frame_of(m));
    ASSERT_TRUE(k.has_value());
    EXPECT_EQ(k->pid, 31337);
    EXPECT_EQ(k->secret, INT32_MIN);
}

TEST(ParseBackendKeyData, RejectsBadBodies) {
    const std::string body = be32(1) + be32(2);
    expect_prefixes_rejected('K', body, parse_backend_key_data);
    expect_trailing_rejected('K', body, parse_backend_key_data);
    expect_wrong_type_rejected('S', body, parse_backend_key_data);
}

TEST(ParseQuery, ReadsSqlText) {
    const Buf m = msg('Q', cstr("select 1; select 2"));
    const auto q = parse_query(frame_of(m));
    ASSERT_TRUE(q.has_value());
    EXPECT_EQ(*q, "select 1; select 2");
}

TEST(ParseQuery, EmptyQueryIsValid) {
    const Buf m = msg('Q', cstr(""));
    const auto q = parse_query(frame_of(m));
    ASSERT_TRUE(q.has_value());
    EXPECT_TRUE(q->empty());
}

TEST(ParseQuery, RejectsBadBodies) {
    const std::string body = cstr("select 1");
    expect_prefixes_rejected('Q', body, parse_query);
    expect_trailing_rejected('Q', body, parse_query);
    expect_wrong_type_rejected('P', body, parse_query);
}

TEST(ParseParse, ReadsNamesAndParameterTypes) {
    const Buf m = msg('P', cstr("stmt1") + cstr("select $1, $2") + be16(2) + be32(23) + be32(25));
    const auto p = parse_parse(frame_of(m));
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(p->statement, "stmt1");
    EXPECT_EQ(p->query, "select $1, $2");
    EXPECT_EQ(p->param_count, 2);
    ASSERT_EQ(p->param_types.size(), 8u);
    EXPECT_EQ(read_u32(p->param_types.data()), 23u);
    EXPECT_EQ(read_u32(p->param_types.data() + 4), 25u);
}

TEST(ParseParse, UnnamedStatementWithoutTypes) {
    const Buf m = msg('P', cstr("") + cstr("select 1") + be16(0));
    const auto p = parse_parse(frame_of(m));
    ASSERT_TRUE(p.has_value());
    EXPECT_TRUE(p->statement.empty());
    EXPECT_EQ(p->param_count, 0);
    EXPECT_TRUE(p->param_types.empty());
}

TEST(ParseParse, RejectsBadBodies) {
    const std::string body = cstr("s") + cstr("select $1") + be16(1) + be32(23);
    expect_prefixes_rejected('P', body, parse_parse);
    expect_trailing_rejected('P', body, parse_parse);
    expect_wrong_type_rejected('B', body, parse_parse);
    // A count far beyond the data must not make the parser read past the frame.
    const Buf huge = msg('P', cstr("s") + cstr("q") + be16(0xFFFF) + be32(23));
    EXPECT_FALSE(parse_parse(frame_of(huge)).has_value());
}

TEST(ParseBind, ReadsPortalAndStatement) {
    // Parameters after the names are not validated: only the names are read.
    const Buf m = msg('B', cstr("portal") + cstr("stmt") + be16(0) + be16(1) + be32(3) + "abc");
    const auto b = parse_bind(frame_of(m));
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->portal, "portal");
    EXPECT_EQ(b->statement, "stmt");
}

TEST(ParseBind, RejectsTruncatedNames) {
    const std::string names = cstr("p1") + cstr("s1");
    expect_prefixes_rejected('B', names, parse_bind);
    expect_wrong_type_rejected('P', names, parse_bind);
}

TEST(ParseDescribe, ReadsStatementAndPortal) {
    const Buf s = msg('D', std::string("S") + cstr("stmt"));
    const auto d = parse_describe(frame_of(s));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->kind, 'S');
    EXPECT_EQ(d->name, "stmt");
    const Buf p = msg('D', std::string("P") + cstr(""));
    const auto dp = parse_describe(frame_of(p));
    ASSERT_TRUE(dp.has_value());
    EXPECT_EQ(dp->kind, 'P');
    EXPECT_TRUE(dp->name.empty());
}

TEST(ParseDescribe, RejectsBadBodies) {
    const std::string body = std::string("S") + cstr("stmt");
    expect_prefixes_rejected('D', body, parse_describe);
    expect_trailing_rejected('D', body, parse_describe);
    expect_wrong_type_rejected('C', body, parse_describe);
    const Buf bad_kind = msg('D', std::string("X") + cstr("stmt"));
    EXPECT_FALSE(parse_describe(frame_of(bad_kind)).has_value());
}

TEST(ParseClose, ReadsTarget) {
    const Buf m = msg('C', std::string("S") + cstr("stmt"));
    const auto c = parse_close(frame_of(m));
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->kind, 'S');
    EXPECT_EQ(c->name, "stmt");
}

TEST(ParseClose, RejectsBadBodies) {
    const std::string body = std::string("P") + cstr("portal");
    expect_prefixes_rejected('C', body, parse_close);
    expect_trailing_rejected('C', body, parse_close);
    expect_wrong_type_rejected('D', body, parse_close);
    const Buf bad_kind = msg('C', std::string("s") + cstr("portal"));
    EXPECT_FALSE(parse_close(frame_of(bad_kind)).has_value());
}

TEST(ParseCommandComplete, ReadsTag) {
    const Buf m = msg('C', cstr("INSERT 0 3"));
    const auto tag = parse_command_complete(frame_of(m));
    ASSERT_TRUE(tag.has_value());
    EXPECT_EQ(*tag, "INSERT 0 3");
}

TEST(ParseCommandComplete, RejectsBadBodies) {
    const std::string body = cstr("SELECT 1");
    expect_prefixes_rejected('C', body, parse_command_complete);
    expect_trailing_rejected('C', body, parse_command_complete);
    expect_wrong_type_rejected('Q', body, parse_command_complete);
}

TEST(ParseAuthentication, ReadsOkCleartextAndMd5) {
    const Buf ok = msg('R', be32(0));
    const auto a = parse_authentication(frame_of(ok));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->code, kAuthOk);
    EXPECT_TRUE(a->data.empty());

    const Buf clear = msg('R', be32(3));
    ASSERT_TRUE(parse_authentication(frame_of(clear)).has_value());
    EXPECT_EQ(parse_authentication(frame_of(clear))->code, kAuthCleartext);

    const Buf md5 = msg('R', be32(5) + "\x01\x02\x03\x04");
    const auto m = parse_authentication(frame_of(md5));
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->code, kAuthMd5);
    EXPECT_EQ(text(m->data), "\x01\x02\x03\x04");
}

TEST(ParseAuthentication, ReadsSaslMechanismList) {
    const Buf m =
        msg('R', be32(10) + cstr("SCRAM-SHA-256-PLUS") + cstr("SCRAM-SHA-256") + cstr(""));
    const auto a = parse_authentication(frame_of(m));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->code, kAuthSasl);
    EXPECT_TRUE(sasl_mechanisms_contain(a->data, "SCRAM-SHA-256"));
    EXPECT_TRUE(sasl_mechanisms_contain(a->data, "SCRAM-SHA-256-PLUS"));
    EXPECT_FALSE(sasl_mechanisms_contain(a->data, "SCRAM-SHA"));
    EXPECT_FALSE(sasl_mechanisms_contain(a->data, ""));
}

TEST(ParseAuthentication, SaslContinueAndFinalCarryOpaqueData) {
    const Buf cont = msg('R', be32(11) + "r=abc,s=c2FsdA==,i=4096");
    const auto c = parse_authentication(frame_of(cont));
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->code, kAuthSaslContinue);
    EXPECT_EQ(text(c->data), "r=abc,s=c2FsdA==,i=4096");
    const Buf fin = msg('R', be32(12) + "v=xyz");
    const auto f = parse_authentication(frame_of(fin));
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->code, kAuthSaslFinal);
    EXPECT_EQ(text(f->data), "v=xyz");
}

TEST(ParseAuthentication, OtherCodesAreReturnedForTheCallerToRefuse) {
    const Buf gss = msg('R', be32(7));
    const auto a = parse_authentication(frame_of(gss));
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->code, 7);
}

TEST(ParseAuthentication, RejectsBadBodies) {
    expect_prefixes_rejected('R', be32(0), parse_authentication);
    expect_trailing_rejected('R', be32(0), parse_authentication);
    expect_trailing_rejected('R', be32(3), parse_authentication);
    const std::string md5 = be32(5) + "salt";
    expect_prefixes_rejected('R', md5, parse_authentication);
    expect_trailing_rejected('R', md5, parse_authentication);
    const std::string sasl = be32(10) + cstr("SCRAM-SHA-256") + cstr("");
    expect_prefixes_rejected('R', sasl, parse_authentication);
    expect_trailing_rejected('R', sasl, parse_authentication);
    expect_wrong_type_rejected('p', be32(0), parse_authentication);
}

TEST(ParseSaslInitialResponse, ReadsMechanismAndData) {
    const std::string first = "n,,n=,r=rOprNGfwEbeRWgbNEkqO";
    const Buf m =
        msg('p', cstr("SCRAM-SHA-256") + be32(static_cast<std::uint32_t>(first.size())) + first);
    const auto r = parse_sasl_initial_response(frame_of(m));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->mechanism, "SCRAM-SHA-256");
    EXPECT_EQ(text(r->data), first);
}

TEST(ParseSaslInitialResponse, MinusOneLengthMeansNoData) {
    const Buf m = msg('p', cstr("SCRAM-SHA-256") + be32(0xFFFFFFFFu));
    const auto r = parse_sasl_initial_response(frame_of(m));
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->data.empty());
}

TEST(ParseSaslInitialResponse, RejectsBadBodies) {
    const std::string body = cstr("SCRAM-SHA-256") + be32(3) + "abc";
    expect_prefixes_rejected('p', body, parse_sasl_initial_response);
    expect_trailing_rejected('p', body, parse_sasl_initial_response);
    expect_wrong_type_rejected('Q', body, parse_sasl_initial_response);
    const Buf minus_two = msg('p', cstr("SCRAM-SHA-256") + be32(0xFFFFFFFEu));
    EXPECT_FALSE(parse_sasl_initial_response(frame_of(minus_two)).has_value());
    const Buf too_long = msg('p', cstr("SCRAM-SHA-256") + be32(0x7FFFFFFFu) + "abc");
    EXPECT_FALSE(parse_sasl_initial_response(frame_of(too_long)).has_value());
}

TEST(ParsePassword, ReadsPassword) {
    const Buf m = msg('p', cstr("md5a3556571e93b0d20722ba62be61e8c2d"));
    const auto p = parse_password(frame_of(m));
    ASSERT_TRUE(p.has_value());
    EXPECT_EQ(*p, "md5a3556571e93b0d20722ba62be61e8c2d");
}

TEST(ParsePassword, RejectsBadBodies) {
    const std::string body = cstr("secret");
    expect_prefixes_rejected('p', body, parse_password);
    expect_trailing_rejected('p', body, parse_password);
    expect_wrong_type_rejected('Q', body, parse_password);
}

TEST(SaslMechanismsContain, IgnoresUnterminatedNames) {
    const Buf data = test::bytes(cstr("PLAIN") + "SCRAM-SHA-256");
    EXPECT_TRUE(sasl_mechanisms_contain(data, "PLAIN"));
    EXPECT_FALSE(sasl_mechanisms_contain(data, "SCRAM-SHA-256"));
    EXPECT_FALSE(sasl_mechanisms_contain({}, "SCRAM-SHA-256"));
}

TEST(SaslMechanismsContain, StopsAtEmptyName) {
    const Buf data = test::bytes(cstr("A") + cstr("") + cstr("SCRAM-SHA-256"));
    EXPECT_TRUE(sasl_mechanisms_contain(data, "A"));
    EXPECT_FALSE(sasl_mechanisms_contain(data, "SCRAM-SHA-256"));
}

TEST(TypedViews, ShortHandBuiltFrameIsRejected) {
    const std::uint8_t two[] = {'Q', 0};
    Frame frame;
    frame.type = 'Q';
    frame.bytes = Bytes(two);
    EXPECT_FALSE(parse_query(frame).has_value());
    frame.type = 'Z';
    EXPECT_FALSE(parse_ready_for_query(frame).has_value());
}

// Calls every parser on `frame` and checks that every view it returns lies inside the frame body.
void run_all_parsers(const Frame& frame) {
    const auto* begin = reinterpret_cast<const char*>(frame.body().data());
    const auto* end = begin + frame.body().size();
    auto inside = [&](std::string_view s) {
        if (s.empty()) {
            return;
        }
        ASSERT_GE(s.data(), begin);
        ASSERT_LE(s.data() + s.size(), end);
    };
    auto inside_bytes = [&](Bytes b) {
        inside(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    };
    (void)parse_ready_for_query(frame);
    if (auto f = parse_error_fields(frame)) {
        inside(f->severity);
        inside(f->severity_v);
        inside(f->sqlstate);
        inside(f->message);
        inside(f->detail);
    }
    if (auto p = parse_parameter_status(frame)) {
        inside(p->name);
        inside(p->value);
    }
    (void)parse_backend_key_data(frame);
    if (auto q = parse_query(frame)) {
        inside(*q);
    }
    if (auto p = parse_parse(frame)) {
        inside(p->statement);
        inside(p->query);
        inside_bytes(p->param_types);
        ASSERT_EQ(p->param_types.size(), std::size_t{p->param_count} * 4);
    }
    if (auto b = parse_bind(frame)) {
        inside(b->portal);
        inside(b->statement);
    }
    if (auto d = parse_describe(frame)) {
        inside(d->name);
    }
    if (auto c = parse_close(frame)) {
        inside(c->name);
    }
    if (auto c = parse_command_complete(frame)) {
        inside(*c);
    }
    if (auto a = parse_authentication(frame)) {
        inside_bytes(a->data);
        (void)sasl_mechanisms_contain(a->data, "SCRAM-SHA-256");
    }
    if (auto s = parse_sasl_initial_response(frame)) {
        inside(s->mechanism);
        inside_bytes(s->data);
    }
    if (auto p = parse_password(frame)) {
        inside(*p);
    }
    (void)sasl_mechanisms_contain(frame.body(), "SCRAM-SHA-256");
}

constexpr std::string_view kLetters = "ZENSKQPBDCRp";

// Bytes biased towards NUL, field letters and small numbers, which random data rarely hits.
std::uint8_t biased_byte(std::mt19937& rng) {
    std::uniform_int_distribution<int> pick(0, 9);
    std::uniform_int_distribution<int> any(0, 255);
    switch (pick(rng)) {
        case 0:
        case 1:
        case 2:
            return 0;
        case 3:
            return static_cast<std::uint8_t>(kLetters[any(rng) % kLetters.size()]);
        case 4:
            return 0xFF;
        default:
            return static_cast<std::uint8_t>(any(rng));
    }
}

TEST(TypedViews, RandomBodiesNeverCrash) {
    std::mt19937 rng(1234567);
    std::uniform_int_distribution<int> size_dist(0, 40);
    for (int iteration = 0; iteration < 5000; ++iteration) {
        std::string body(static_cast<std::size_t>(size_dist(rng)), '\0');
        for (auto& c : body) {
            c = static_cast<char>(biased_byte(rng));
        }
        for (const char letter : kLetters) {
            const Buf m = msg(letter, body);  // exact-size heap buffer: ASan sees overreads
            run_all_parsers(frame_of(m));
        }
    }
}

TEST(TypedViews, MutatedValidMessagesNeverCrash) {
    const std::vector<std::pair<char, std::string>> seeds = {
        {'Z', "I"},
        {'E', error_body({{'S', "ERROR"}, {'C', "42601"}, {'M', "syntax"}, {'D', "d"}})},
        {'S', cstr("TimeZone") + cstr("UTC")},
        {'K', be32(1) + be32(2)},
        {'Q', cstr("select 1")},
        {'P', cstr("s") + cstr("select $1") + be16(2) + be32(23) + be32(25)},
        {'B', cstr("") + cstr("s") + be16(0) + be16(0) + be16(0)},
        {'D', std::string("S") + cstr("s")},
        {'C', std::string("P") + cstr("p")},
        {'R', be32(10) + cstr("SCRAM-SHA-256") + cstr("")},
        {'R', be32(5) + "salt"},
        {'p', cstr("SCRAM-SHA-256") + be32(3) + "abc"},
    };
    std::mt19937 rng(99991);
    std::uniform_int_distribution<int> op_dist(0, 3);
    for (int iteration = 0; iteration < 20000; ++iteration) {
        const auto& [letter, seed] = seeds[static_cast<std::size_t>(iteration) % seeds.size()];
        std::string body = seed;
        std::uniform_int_distribution<std::size_t> pos_dist(0, body.size());
        const std::size_t pos = pos_dist(rng);
        switch (op_dist(rng)) {
            case 0:
                body.resize(pos);  // truncate
                break;
            case 1:
                if (pos < body.size()) {
                    body[pos] = static_cast<char>(biased_byte(rng));  // overwrite
                }
                break;
            case 2:
                body.insert(pos, 1, static_cast<char>(biased_byte(rng)));  // insert
                break;
            default:
                if (pos < body.size()) {
                    body.erase(pos, 1);  // delete
                }
                break;
        }
        const Buf m = msg(letter, body);
        run_all_parsers(frame_of(m));
    }
}

}  // namespace
}  // namespace pgrouter::wire

namespace pgrouter::wire {
namespace {

std::vector<std::uint8_t> bind_message(const std::vector<std::uint16_t>& formats,
                                       const std::vector<std::optional<std::string>>& values) {
    std::vector<std::uint8_t> body;
    auto u16 = [&](std::uint16_t v) {
        body.push_back(static_cast<std::uint8_t>(v >> 8));
        body.push_back(static_cast<std::uint8_t>(v));
    };
    auto u32 = [&](std::uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            body.push_back(static_cast<std::uint8_t>(v >> shift));
        }
    };
    body.push_back('p');
    body.push_back(0);
    body.push_back('s');
    body.push_back(0);
    u16(static_cast<std::uint16_t>(formats.size()));
    for (auto f : formats) {
        u16(f);
    }
    u16(static_cast<std::uint16_t>(values.size()));
    for (const auto& v : values) {
        if (!v) {
            u32(0xFFFFFFFFu);
            continue;
        }
        u32(static_cast<std::uint32_t>(v->size()));
        body.insert(body.end(), v->begin(), v->end());
    }
    u16(0);
    std::vector<std::uint8_t> message{'B'};
    const std::uint32_t length = static_cast<std::uint32_t>(body.size() + 4);
    for (int shift = 24; shift >= 0; shift -= 8) {
        message.push_back(static_cast<std::uint8_t>(length >> shift));
    }
    message.insert(message.end(), body.begin(), body.end());
    return message;
}

TEST(BindParam, ReadsFormatsAsPostgresDoes) {
    auto none = bind_message({}, {std::string("42"), std::nullopt});
    Frame frame{'B', none};
    auto first = bind_param(frame, 0);
    ASSERT_TRUE(first);
    EXPECT_EQ(first->format, 0);
    EXPECT_EQ(std::string(first->value.begin(), first->value.end()), "42");
    auto second = bind_param(frame, 1);
    ASSERT_TRUE(second);
    EXPECT_TRUE(second->null);
    EXPECT_FALSE(bind_param(frame, 2));

    auto one = bind_message({1}, {std::string("ab"), std::string("cd")});
    EXPECT_EQ(bind_param(Frame{'B', one}, 1)->format, 1);
    auto each = bind_message({0, 1}, {std::string("ab"), std::string("cd")});
    EXPECT_EQ(bind_param(Frame{'B', each}, 0)->format, 0);
    EXPECT_EQ(bind_param(Frame{'B', each}, 1)->format, 1);
    auto wrong = bind_message({0, 1, 0}, {std::string("ab"), std::string("cd")});
    EXPECT_FALSE(bind_param(Frame{'B', wrong}, 0));  // three codes for two parameters
    auto truncated = bind_message({}, {std::string("abcdef")});
    truncated.resize(truncated.size() - 5);
    EXPECT_FALSE(bind_param(Frame{'B', truncated}, 0));
}

}  // namespace
}  // namespace pgrouter::wire
