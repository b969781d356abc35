// tests/unit/wire/row_messages_test.cpp — RowDescription and DataRow: exact bytes as PostgreSQL
// sends them, round trips through the writer, and malformed bodies refused.
#include "pgrouter/wire/row_messages.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/bytes.hpp"

namespace pgrouter::wire {
namespace {

using test::be16;
using test::be32;
using test::Buf;
using test::cstr;
using test::msg;

std::string text(Bytes b) {
    return std::string(b.begin(), b.end());
}

// What PostgreSQL sends for `SELECT 1 AS a, 'x'::text AS b` (no table columns).
Buf two_columns() {
    return msg('T', be16(2) + cstr("a") + be32(0) + be16(0) + be32(23) + be16(4) +
                        be32(0xFFFFFFFF) + be16(0) + cstr("b") + be32(0) + be16(0) + be32(25) +
                        be16(0xFFFF) + be32(0xFFFFFFFF) + be16(1));
}

TEST(RowMessages, ParsesRowDescription) {
    const Buf m = two_columns();
    const auto frame = frame_of(m);
    ASSERT_TRUE(frame);
    std::vector<FieldDescription> fields;
    ASSERT_TRUE(parse_row_description(*frame, fields));
    ASSERT_EQ(fields.size(), 2u);
    EXPECT_EQ(fields[0].name, "a");
    EXPECT_EQ(fields[0].type_oid, 23u);
    EXPECT_EQ(fields[0].type_size, 4);
    EXPECT_EQ(fields[0].type_modifier, -1);
    EXPECT_EQ(fields[0].format, 0);
    EXPECT_EQ(fields[1].name, "b");
    EXPECT_EQ(fields[1].type_oid, 25u);
    EXPECT_EQ(fields[1].type_size, -1);
    EXPECT_EQ(fields[1].format, 1);
}

TEST(RowMessages, RowDescriptionRoundTripsToTheSameBytes) {
    const Buf m = two_columns();
    std::vector<FieldDescription> fields;
    ASSERT_TRUE(parse_row_description(*frame_of(m), fields));
    Buf out;
    append_row_description(out, fields);
    EXPECT_EQ(out, m);
}

TEST(RowMessages, ParsesDataRowWithNull) {
    const Buf m = msg('D', be16(3) + be32(1) + "7" + be32(0xFFFFFFFF) + be32(0));
    std::vector<Cell> cells;
    const auto n = parse_data_row(*frame_of(m), cells);
    ASSERT_EQ(n, 3u);
    ASSERT_EQ(cells.size(), 3u);
    EXPECT_EQ(text(*cells[0]), "7");
    EXPECT_FALSE(cells[1]);
    ASSERT_TRUE(cells[2]);
    EXPECT_TRUE(cells[2]->empty());
    Buf out;
    append_data_row(out, cells);
    EXPECT_EQ(out, m);
}

TEST(RowMessages, DataRowAppendsAfterExistingCells) {
    std::vector<Cell> cells(1);
    const Buf m = msg('D', be16(1) + be32(2) + "ab");
    ASSERT_EQ(parse_data_row(*frame_of(m), cells), 1u);
    EXPECT_EQ(cells.size(), 2u);
}

TEST(RowMessages, RefusesMalformedBodies) {
    std::vector<Cell> cells;
    std::vector<FieldDescription> fields;
    // Value longer than the body, trailing bytes, length below -1, wrong letter.
    for (const Buf& m : {msg('D', be16(1) + be32(5) + "ab"), msg('D', be16(1) + be32(1) + "ab"),
                         msg('D', be16(1) + be32(0xFFFFFFFE)), msg('C', be16(0))}) {
        EXPECT_FALSE(parse_data_row(*frame_of(m), cells));
        EXPECT_TRUE(cells.empty());
    }
    Buf truncated = two_columns();
    truncated.resize(truncated.size() - 1);
    EXPECT_FALSE(frame_of(truncated));  // the length field now overstates the body
    const Buf short_field = msg('T', be16(1) + cstr("a") + be32(0));
    EXPECT_FALSE(parse_row_description(*frame_of(short_field), fields));
    const Buf huge_count = msg('T', be16(0xFFFF));
    EXPECT_FALSE(parse_row_description(*frame_of(huge_count), fields));
}

TEST(RowMessages, FrameOfNeedsExactlyOneMessage) {
    Buf two = test::concat({msg('D', be16(0)), msg('D', be16(0))});
    EXPECT_FALSE(frame_of(two));
    EXPECT_FALSE(frame_of(Buf{}));
    EXPECT_TRUE(frame_of(msg('D', be16(0))));
}

}  // namespace
}  // namespace pgrouter::wire
