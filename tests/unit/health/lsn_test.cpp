// Unit tests for health::parse_lsn / format_lsn (PostgreSQL's "%X/%X" text form).
#include <gtest/gtest.h>

#include "pgrouter/health/server_health.hpp"

namespace pgrouter::health {
namespace {

TEST(Lsn, ParsesWhatPostgresPrints) {
    EXPECT_EQ(parse_lsn("16/B374D848"), 0x16B374D848u);
    EXPECT_EQ(parse_lsn("0/3000000"), 0x3000000u);
    EXPECT_EQ(parse_lsn("0/0"), 0u);
    EXPECT_EQ(parse_lsn("FFFFFFFF/FFFFFFFF"), 0xFFFFFFFFFFFFFFFFu);
    EXPECT_EQ(parse_lsn("a/b"), 0xA0000000Bu);
}

TEST(Lsn, RejectsAnythingElse) {
    for (const char* bad : {"", "/", "0/", "/0", "16", "16/B374D848 ", " 16/1", "1/2/3",
                            "100000000/0", "g/1", "-1/1", "0x1/1"}) {
        EXPECT_EQ(parse_lsn(bad), std::nullopt) << bad;
    }
}

TEST(Lsn, FormatsLikePostgres) {
    EXPECT_EQ(format_lsn(0x16B374D848u), "16/B374D848");
    EXPECT_EQ(format_lsn(0), "0/0");
    EXPECT_EQ(format_lsn(0x3000000u), "0/3000000");
}

TEST(Lsn, RoundTrips) {
    for (std::uint64_t lsn :
         {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0xFFFFFFFF}, std::uint64_t{0x100000000},
          std::uint64_t{0x16B374D848}, std::uint64_t{0xFFFFFFFFFFFFFFFF},
          std::uint64_t{0xDEADBEEF12345678}}) {
        EXPECT_EQ(parse_lsn(format_lsn(lsn)), lsn) << lsn;
    }
    for (const char* text : {"0/0", "16/B374D848", "1/0", "ABCDEF/12"}) {
        EXPECT_EQ(format_lsn(*parse_lsn(text)), text);
    }
}

}  // namespace
}  // namespace pgrouter::health
