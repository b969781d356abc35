// tests/unit/wire/frame_test.cpp — decode_frame(): typed-message framing from byte vectors
// (partial header/body, several messages per buffer, bad and oversized lengths, random bytes).
#include "pgrouter/wire/frame.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "support/bytes.hpp"

namespace pgrouter::wire {
namespace {

using test::Buf;
using test::cstr;
using test::msg;
using test::msg_with_length;

constexpr std::size_t kMax = 1 << 20;

TEST(ReadBigEndian, ReadsNetworkOrder) {
    const std::uint8_t data[] = {0x12, 0x34, 0x56, 0x78};
    EXPECT_EQ(read_u32(data), 0x12345678u);
    EXPECT_EQ(read_u16(data), 0x1234u);
    const std::uint8_t high[] = {0xFF, 0xFE, 0x00, 0x01};
    EXPECT_EQ(read_u32(high), 0xFFFE0001u);
    EXPECT_EQ(read_u16(high), 0xFFFEu);
}

TEST(DecodeFrame, EmptyInputNeedsMore) {
    const DecodeResult r = decode_frame({}, kMax);
    EXPECT_EQ(r.status, DecodeStatus::NeedMore);
    EXPECT_EQ(r.type, 0);
    EXPECT_EQ(r.total, 0u);
}

TEST(DecodeFrame, PartialHeaderReportsTypeButNoTotal) {
    const Buf m = msg('Q', cstr("select 1"));
    for (std::size_t n = 1; n < kHeaderSize; ++n) {
        const DecodeResult r = decode_frame(Bytes(m).first(n), kMax);
        EXPECT_EQ(r.status, DecodeStatus::NeedMore) << n;
        EXPECT_EQ(r.type, 'Q') << n;
        EXPECT_EQ(r.total, 0u) << n;
    }
}

TEST(DecodeFrame, PartialBodyReportsTotal) {
    const Buf m = msg('Q', cstr("select 1"));
    for (std::size_t n = kHeaderSize; n < m.size(); ++n) {
        const DecodeResult r = decode_frame(Bytes(m).first(n), kMax);
        EXPECT_EQ(r.status, DecodeStatus::NeedMore) << n;
        EXPECT_EQ(r.type, 'Q') << n;
        EXPECT_EQ(r.total, m.size()) << n;
    }
}

TEST(DecodeFrame, CompleteMessageIsViewIntoInput) {
    const Buf m = msg('Q', cstr("select 1"));
    const DecodeResult r = decode_frame(m, kMax);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.type, 'Q');
    EXPECT_EQ(r.total, m.size());
    EXPECT_EQ(r.frame.type, 'Q');
    EXPECT_EQ(r.frame.bytes.data(), m.data());
    EXPECT_EQ(r.frame.bytes.size(), m.size());
    const Bytes body = r.frame.body();
    EXPECT_EQ(std::string(body.begin(), body.end()), cstr("select 1"));
}

TEST(DecodeFrame, TwoMessagesInOneBufferAreFramedSeparately) {
    const Buf a = msg('P', cstr("s1") + cstr("select $1") + test::be16(0));
    const Buf b = msg('S', "");
    const Buf both = test::concat({a, b});

    const DecodeResult first = decode_frame(both, kMax);
    ASSERT_EQ(first.status, DecodeStatus::Complete);
    EXPECT_EQ(first.frame.type, 'P');
    EXPECT_EQ(first.total, a.size());

    const DecodeResult second = decode_frame(Bytes(both).subspan(first.total), kMax);
    ASSERT_EQ(second.status, DecodeStatus::Complete);
    EXPECT_EQ(second.frame.type, 'S');
    EXPECT_EQ(second.total, b.size());
    EXPECT_EQ(second.frame.bytes.data(), both.data() + a.size());

    EXPECT_EQ(decode_frame(Bytes(both).subspan(first.total + second.total), kMax).status,
              DecodeStatus::NeedMore);
}

TEST(DecodeFrame, SecondMessageMayBePartial) {
    const Buf a = msg('Z', "I");
    const Buf b = msg('C', cstr("SELECT 1"));
    Buf buf = test::concat({a, b});
    buf.resize(a.size() + 3);
    const DecodeResult first = decode_frame(buf, kMax);
    ASSERT_EQ(first.status, DecodeStatus::Complete);
    const DecodeResult second = decode_frame(Bytes(buf).subspan(first.total), kMax);
    EXPECT_EQ(second.status, DecodeStatus::NeedMore);
    EXPECT_EQ(second.type, 'C');
}

TEST(DecodeFrame, LengthBelowFourIsBadLength) {
    for (std::uint32_t length = 0; length < 4; ++length) {
        const Buf m = msg_with_length('Q', length, "xxxxxxxx");
        const DecodeResult r = decode_frame(m, kMax);
        EXPECT_EQ(r.status, DecodeStatus::BadLength) << length;
        EXPECT_EQ(r.type, 'Q');
        EXPECT_EQ(r.total, 1u + length);
    }
}

TEST(DecodeFrame, OversizedLengthIsTooLargeBeforeBodyArrives) {
    // Only the header is present: the proxy must be able to refuse without buffering the body.
    const Buf header = msg_with_length('Q', 100, "");
    const DecodeResult r = decode_frame(header, 100);
    EXPECT_EQ(r.status, DecodeStatus::TooLarge);
    EXPECT_EQ(r.total, 101u);
    EXPECT_EQ(r.type, 'Q');
}

TEST(DecodeFrame, NegativeInt32LengthIsTooLarge) {
    const Buf m = msg_with_length('Q', 0x80000000u, "abc");
    EXPECT_EQ(decode_frame(m, kMax).status, DecodeStatus::TooLarge);
    const Buf all_ones = msg_with_length('d', 0xFFFFFFFFu, "abc");
    EXPECT_EQ(decode_frame(all_ones, kMax).status, DecodeStatus::TooLarge);
}

TEST(DecodeFrame, ExactlyMaxLengthIsComplete) {
    const std::string body(95, 'x');
    const Buf m = msg('d', body);
    ASSERT_EQ(m.size(), 100u);
    const DecodeResult r = decode_frame(m, 100);
    EXPECT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.total, 100u);
    EXPECT_EQ(decode_frame(m, 99).status, DecodeStatus::TooLarge);
}

TEST(DecodeFrame, ZeroLengthBodyIsComplete) {
    const Buf m = msg('S', "");
    const DecodeResult r = decode_frame(m, kMax);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.total, kHeaderSize);
    EXPECT_TRUE(r.frame.body().empty());
}

TEST(DecodeFrame, TypeByteIsNotValidated) {
    // Unknown letters are framed; whether a letter is allowed is the session's decision.
    const Buf m = msg('\x7f', "abc");
    const DecodeResult r = decode_frame(m, kMax);
    ASSERT_EQ(r.status, DecodeStatus::Complete);
    EXPECT_EQ(r.frame.type, '\x7f');
}

TEST(DecodeFrame, ByteByByteStreamYieldsEachMessageOnce) {
    const Buf stream = test::concat({msg('Q', cstr("select 1")), msg('S', ""), test::rfq('I'),
                                     msg('d', std::string(300, 'z')), msg('X', "")});
    Buf pending;
    std::string types;
    for (const std::uint8_t byte : stream) {
        pending.push_back(byte);
        const DecodeResult r = decode_frame(pending, kMax);
        ASSERT_NE(r.status, DecodeStatus::BadLength);
        ASSERT_NE(r.status, DecodeStatus::TooLarge);
        if (r.status == DecodeStatus::Complete) {
            types.push_back(r.frame.type);
            pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(r.total));
        }
    }
    EXPECT_EQ(types, "QSZdX");
    EXPECT_TRUE(pending.empty());
}

TEST(Frame, BodyOfShortHandBuiltFrameIsEmpty) {
    const std::uint8_t two[] = {'Q', 0};
    Frame frame;
    frame.type = 'Q';
    frame.bytes = Bytes(two);
    EXPECT_TRUE(frame.body().empty());
    EXPECT_TRUE(Frame{}.body().empty());
}

TEST(DecodeFrame, RandomBytesNeverCrashAndKeepInvariants) {
    std::mt19937 rng(20240611);
    std::uniform_int_distribution<int> size_dist(0, 64);
    std::uniform_int_distribution<int> byte_dist(0, 255);
    std::uniform_int_distribution<int> max_dist(0, 80);
    for (int iteration = 0; iteration < 20000; ++iteration) {
        // Exact-size heap buffer so ASan reports any read past the end.
        Buf input(static_cast<std::size_t>(size_dist(rng)));
        for (auto& b : input) {
            b = static_cast<std::uint8_t>(byte_dist(rng));
        }
        // Small lengths are rare in random data; plant one half of the time.
        if (input.size() >= kHeaderSize && iteration % 2 == 0) {
            input[1] = input[2] = 0;
            input[3] = static_cast<std::uint8_t>(byte_dist(rng) % 2);
        }
        const auto max = static_cast<std::size_t>(max_dist(rng));
        const DecodeResult r = decode_frame(input, max);
        if (!input.empty()) {
            ASSERT_EQ(r.type, static_cast<char>(input[0]));
        }
        switch (r.status) {
            case DecodeStatus::Complete:
                ASSERT_EQ(r.frame.bytes.data(), input.data());
                ASSERT_EQ(r.frame.bytes.size(), r.total);
                ASSERT_GE(r.total, kHeaderSize);
                ASSERT_LE(r.total, input.size());
                ASSERT_LE(r.total, max);
                break;
            case DecodeStatus::NeedMore:
                ASSERT_TRUE(r.total == 0 || r.total > input.size());
                break;
            case DecodeStatus::BadLength:
                ASSERT_LT(r.total, kHeaderSize);
                break;
            case DecodeStatus::TooLarge:
                ASSERT_GT(r.total, max);
                break;
        }
    }
}

}  // namespace
}  // namespace pgrouter::wire
