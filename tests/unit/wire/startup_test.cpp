// tests/unit/wire/startup_test.cpp — length-first packets: SSLRequest, GSSENCRequest,
// CancelRequest, StartupMessage versions, parameter parsing, random bytes.
#include "pgrouter/wire/startup.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "support/bytes.hpp"

namespace pgrouter::wire {
namespace {

using test::be32;
using test::Buf;
using test::cstr;
using test::packet;
using test::startup;

TEST(DecodeStartup, SslRequest) {
    const Buf p = packet(kSslRequestCode, "");
    const StartupDecode r = decode_startup(p, kMaxStartupPacket);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.kind, StartupKind::SslRequest);
    EXPECT_EQ(r.code, kSslRequestCode);
    EXPECT_EQ(r.total, 8u);
    EXPECT_EQ(r.packet.data(), p.data());
    EXPECT_EQ(r.packet.size(), 8u);
}

TEST(DecodeStartup, GssEncRequest) {
    const StartupDecode r = decode_startup(packet(kGssEncRequestCode, ""), kMaxStartupPacket);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.kind, StartupKind::GssEncRequest);
}

TEST(DecodeStartup, CancelRequestCarriesKey) {
    const Buf p = packet(kCancelRequestCode, be32(4242) + be32(0xFFFFFFFEu));
    const StartupDecode r = decode_startup(p, kMaxStartupPacket);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.kind, StartupKind::CancelRequest);
    EXPECT_EQ(r.total, 16u);
    const auto key = parse_cancel_request(r.packet);
    ASSERT_TRUE(key.has_value());
    EXPECT_EQ(key->pid, 4242);
    EXPECT_EQ(key->secret, -2);
}

TEST(DecodeStartup, Protocol30IsStartup) {
    const Buf p = startup({{"user", "app"}});
    const StartupDecode r = decode_startup(p, kMaxStartupPacket);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.kind, StartupKind::Startup);
    EXPECT_EQ(r.code, kProtocolV3);
    EXPECT_EQ(r.total, p.size());
}

TEST(DecodeStartup, Protocol32IsStillStartup) {
    const StartupDecode r = decode_startup(startup({{"user", "app"}}, (3u << 16) | 2u), 10000);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.kind, StartupKind::Startup);
    EXPECT_EQ(r.code, 196610u);
}

TEST(DecodeStartup, Protocol20IsUnsupported) {
    const StartupDecode r = decode_startup(startup({{"user", "app"}}, 2u << 16), 10000);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.kind, StartupKind::Unsupported);
    EXPECT_EQ(r.code, 131072u);
}

TEST(DecodeStartup, Protocol40IsUnsupported) {
    const StartupDecode r = decode_startup(startup({{"user", "app"}}, 4u << 16), 10000);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.kind, StartupKind::Unsupported);
}

TEST(DecodeStartup, FewerThanFourBytesNeedMoreWithoutTotal) {
    const Buf p = startup({{"user", "app"}});
    for (std::size_t n = 0; n < 4; ++n) {
        const StartupDecode r = decode_startup(Bytes(p).first(n), kMaxStartupPacket);
        EXPECT_EQ(r.status, DecodeStatus::NeedMore) << n;
        EXPECT_EQ(r.total, 0u) << n;
    }
}

TEST(DecodeStartup, PartialPacketReportsTotalAndCodeOnceKnown) {
    const Buf p = startup({{"user", "app"}, {"database", "db"}});
    for (std::size_t n = 4; n < p.size(); ++n) {
        const StartupDecode r = decode_startup(Bytes(p).first(n), kMaxStartupPacket);
        EXPECT_EQ(r.status, DecodeStatus::NeedMore) << n;
        EXPECT_EQ(r.total, p.size()) << n;
        if (n >= 8) {
            EXPECT_EQ(r.kind, StartupKind::Startup) << n;
        } else {
            EXPECT_EQ(r.code, 0u) << n;
        }
    }
}

TEST(DecodeStartup, LengthBelowEightIsBadLength) {
    for (std::uint32_t length = 0; length < 8; ++length) {
        const Buf p = test::bytes(be32(length) + be32(kProtocolV3) + "abcdefgh");
        const StartupDecode r = decode_startup(p, kMaxStartupPacket);
        EXPECT_EQ(r.status, DecodeStatus::BadLength) << length;
        EXPECT_EQ(r.total, length);
    }
}

TEST(DecodeStartup, OverMaxIsTooLargeAndExactlyMaxIsComplete) {
    // A StartupMessage of exactly kMaxStartupPacket bytes: header 8 + "user\0" + value + NUL + NUL.
    const std::string value(kMaxStartupPacket - 8 - 5 - 2, 'v');
    const Buf exact = startup({{"user", value}});
    ASSERT_EQ(exact.size(), kMaxStartupPacket);
    EXPECT_EQ(decode_startup(exact, kMaxStartupPacket).status, DecodeStatus::Complete);

    const Buf over = startup({{"user", value + "v"}});
    // Refused from the 4 length bytes alone, before the body is buffered.
    const StartupDecode r = decode_startup(Bytes(over).first(4), kMaxStartupPacket);
    EXPECT_EQ(r.status, DecodeStatus::TooLarge);
    EXPECT_EQ(r.total, kMaxStartupPacket + 1);
}

TEST(DecodeStartup, OnlyFirstPacketIsTaken) {
    const Buf both = test::concat({packet(kSslRequestCode, ""), startup({{"user", "app"}})});
    const StartupDecode first = decode_startup(both, kMaxStartupPacket);
    ASSERT_EQ(first.status, DecodeStatus::Complete);
    EXPECT_EQ(first.kind, StartupKind::SslRequest);
    EXPECT_EQ(first.packet.size(), 8u);
    const StartupDecode second = decode_startup(Bytes(both).subspan(first.total), 10000);
    ASSERT_EQ(second.status, DecodeStatus::Complete);
    EXPECT_EQ(second.kind, StartupKind::Startup);
}

TEST(ParseStartupParams, ReadsPairsInOrder) {
    const Buf p = startup({{"user", "app"}, {"database", "shop"}, {"application_name", ""}});
    std::vector<StartupParam> params;
    ASSERT_TRUE(parse_startup_params(p, params));
    ASSERT_EQ(params.size(), 3u);
    EXPECT_EQ(params[0].name, "user");
    EXPECT_EQ(params[0].value, "app");
    EXPECT_EQ(params[1].name, "database");
    EXPECT_EQ(params[1].value, "shop");
    EXPECT_EQ(params[2].name, "application_name");
    EXPECT_EQ(params[2].value, "");
    // Views point into the packet, no copies.
    EXPECT_GE(params[0].name.data(), reinterpret_cast<const char*>(p.data()));
    EXPECT_LT(params[2].value.data(), reinterpret_cast<const char*>(p.data() + p.size()));
}

TEST(ParseStartupParams, NoParamsIsValid) {
    std::vector<StartupParam> params{{"stale", "entry"}};
    ASSERT_TRUE(parse_startup_params(startup({}), params));
    EXPECT_TRUE(params.empty());
}

TEST(ParseStartupParams, MissingFinalNulIsMalformed) {
    std::vector<StartupParam> params;
    const Buf p = packet(kProtocolV3, cstr("user") + cstr("app"));
    EXPECT_FALSE(parse_startup_params(p, params));
    EXPECT_TRUE(params.empty());
}

TEST(ParseStartupParams, ValueMissingTerminatorIsMalformed) {
    std::vector<StartupParam> params;
    EXPECT_FALSE(parse_startup_params(packet(kProtocolV3, cstr("user") + "app"), params));
}

TEST(ParseStartupParams, NameWithoutValueIsMalformed) {
    std::vector<StartupParam> params;
    EXPECT_FALSE(
        parse_startup_params(packet(kProtocolV3, cstr("user") + cstr("app") + "user"), params));
    EXPECT_FALSE(parse_startup_params(packet(kProtocolV3, cstr("user")), params));
}

TEST(ParseStartupParams, EmptyBodyIsMalformed) {
    std::vector<StartupParam> params;
    EXPECT_FALSE(parse_startup_params(packet(kProtocolV3, ""), params));
}

TEST(ParseStartupParams, EmptyNameBeforeMoreDataIsMalformed) {
    // An empty name is the list terminator, so it must be the packet's last byte.
    std::vector<StartupParam> params;
    std::string body = cstr("") + cstr("user") + cstr("app");
    body.push_back('\0');
    EXPECT_FALSE(parse_startup_params(packet(kProtocolV3, body), params));
}

TEST(ParseStartupParams, BytesAfterTerminatorAreMalformed) {
    std::vector<StartupParam> params;
    std::string body = cstr("user") + cstr("app");
    body.push_back('\0');
    body.push_back('x');
    EXPECT_FALSE(parse_startup_params(packet(kProtocolV3, body), params));
    EXPECT_TRUE(params.empty());
}

TEST(ParseStartupParams, LengthFieldMustMatchPacket) {
    Buf p = startup({{"user", "app"}});
    p.push_back(0);  // packet one byte longer than its length field
    std::vector<StartupParam> params;
    EXPECT_FALSE(parse_startup_params(p, params));
    EXPECT_FALSE(parse_startup_params(Bytes(p).first(7), params));
}

TEST(ParseCancelRequest, RejectsWrongSizeOrCode) {
    EXPECT_FALSE(parse_cancel_request(packet(kCancelRequestCode, be32(1))).has_value());
    EXPECT_FALSE(
        parse_cancel_request(packet(kCancelRequestCode, be32(1) + be32(2) + be32(3))).has_value());
    EXPECT_FALSE(parse_cancel_request(packet(kSslRequestCode, be32(1) + be32(2))).has_value());
    // Right size, but the length field says otherwise.
    const Buf lying = test::bytes(be32(12) + be32(kCancelRequestCode) + be32(1) + be32(2));
    EXPECT_FALSE(parse_cancel_request(lying).has_value());
    EXPECT_FALSE(parse_cancel_request({}).has_value());
}

// Random bytes: ~1/3 NUL so the parameter walker sees many short strings.
Buf random_buffer(std::mt19937& rng, std::size_t size) {
    std::uniform_int_distribution<int> byte_dist(0, 255);
    Buf out(size);
    for (auto& b : out) {
        const int x = byte_dist(rng);
        b = x < 85 ? 0 : static_cast<std::uint8_t>(x);
    }
    return out;
}

TEST(DecodeStartup, RandomBytesNeverCrash) {
    std::mt19937 rng(7340033);
    std::uniform_int_distribution<int> size_dist(0, 48);
    std::uniform_int_distribution<int> code_dist(0, 4);
    const std::uint32_t codes[] = {kProtocolV3, kSslRequestCode, kGssEncRequestCode,
                                   kCancelRequestCode, 0x00030002u};
    std::vector<StartupParam> params;
    for (int iteration = 0; iteration < 20000; ++iteration) {
        Buf input = random_buffer(rng, static_cast<std::size_t>(size_dist(rng)));
        // Half the time give it a plausible header so the body parsers get exercised.
        if (iteration % 2 == 0 && input.size() >= 8) {
            const std::string header =
                be32(static_cast<std::uint32_t>(input.size())) + be32(codes[code_dist(rng)]);
            std::copy(header.begin(), header.end(), input.begin());
        }
        const StartupDecode r = decode_startup(input, 40);
        if (r.status == DecodeStatus::Complete) {
            ASSERT_EQ(r.packet.data(), input.data());
            ASSERT_EQ(r.packet.size(), r.total);
            ASSERT_GE(r.total, 8u);
            ASSERT_LE(r.total, 40u);
        }
        if (parse_startup_params(input, params)) {
            ASSERT_EQ(input.back(), 0);
            for (const StartupParam& param : params) {
                ASSERT_FALSE(param.name.empty());
                ASSERT_GE(param.name.data(), reinterpret_cast<const char*>(input.data()) + 8);
                ASSERT_LE(param.value.data() + param.value.size(),
                          reinterpret_cast<const char*>(input.data() + input.size()));
            }
        } else {
            ASSERT_TRUE(params.empty());
        }
        if (parse_cancel_request(input).has_value()) {
            ASSERT_EQ(input.size(), kCancelRequestSize);
        }
    }
}

}  // namespace
}  // namespace pgrouter::wire
