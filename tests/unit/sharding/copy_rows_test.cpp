// Rows and shard keys of a COPY FROM STDIN stream (sharding/copy_rows.hpp): rows cut anywhere by
// CopyData boundaries come out whole, with the key decoded as PostgreSQL's COPY reads it.
#include "pgrouter/sharding/copy_rows.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgrouter::sharding {
namespace {

struct Seen {
    std::string bytes;
    std::optional<std::string> key;
    bool header = false;
    bool end_marker = false;
    bool missing = false;
};

std::span<const std::uint8_t> span_of(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

void take(const std::vector<CopyRows::Row>& rows, std::vector<Seen>& out) {
    for (const auto& row : rows) {
        out.push_back(
            {std::string(reinterpret_cast<const char*>(row.bytes.data()), row.bytes.size()),
             row.key, row.header, row.end_marker, row.missing});
    }
}

// Feeds `data` in pieces of `piece` bytes, then finishes.
std::vector<Seen> read_all(const sql::CopyFrom& format, std::size_t key, const std::string& data,
                           std::size_t piece) {
    CopyRows rows(format, key);
    std::vector<Seen> out;
    for (std::size_t at = 0; at < data.size(); at += piece) {
        const std::string part = data.substr(at, piece);
        take(rows.feed(span_of(part)), out);
    }
    take(rows.finish(), out);
    return out;
}

sql::CopyFrom text_format() {
    return sql::CopyFrom{};
}

sql::CopyFrom csv_format() {
    sql::CopyFrom f;
    f.csv = true;
    f.delimiter = ',';
    f.null_marker.clear();
    return f;
}

TEST(CopyRows, TextRowsCutAnywhereComeOutWhole) {
    const std::string data = "1\talice\n22\tbob\n333\tcarol\n";
    for (std::size_t piece : {1u, 2u, 5u, 100u}) {
        const auto rows = read_all(text_format(), 0, data, piece);
        ASSERT_EQ(rows.size(), 3u) << piece;
        EXPECT_EQ(rows[0].bytes, "1\talice\n");
        EXPECT_EQ(rows[1].key, "22");
        EXPECT_EQ(rows[2].bytes, "333\tcarol\n");
    }
}

TEST(CopyRows, TextKeyInAnyColumnWithEscapesAndNull) {
    const std::string data =
        "x\tone\\ttab\n"
        "y\t\\N\n"
        "z\tback\\\\slash\\x41\\101\n"
        "w\n"
        "v\tlast";
    const auto rows = read_all(text_format(), 1, data, 3);
    ASSERT_EQ(rows.size(), 5u);
    EXPECT_EQ(rows[0].key, "one\ttab");
    EXPECT_FALSE(rows[1].key.has_value());  // \N is NULL
    EXPECT_EQ(rows[2].key, "back\\slashAA");
    EXPECT_TRUE(rows[3].missing);
    EXPECT_EQ(rows[4].key, "last");  // no line end at the very end: still a row
    EXPECT_EQ(rows[4].bytes, "v\tlast");
}

TEST(CopyRows, TextEscapedDelimiterAndNewlineStayInTheField) {
    const auto rows = read_all(text_format(), 1, "a\\\tb\tk\\\nk\tz\n", 2);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].key, "k\nk");
}

TEST(CopyRows, TextEndMarker) {
    const auto rows = read_all(text_format(), 0, "1\n\\.\n", 1);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_TRUE(rows[1].end_marker);
}

TEST(CopyRows, CsvQuotedNewlinesDelimitersAndQuotes) {
    sql::CopyFrom f = csv_format();
    f.header = true;
    const std::string data =
        "id,body\n"
        "7,\"multi\nline, with comma\"\n"
        "\"8\",\"say \"\"hi\"\"\"\n"
        ",empty key is NULL\n"
        "\"\",quoted empty is not NULL\n";
    for (std::size_t piece : {1u, 4u, 1000u}) {
        const auto rows = read_all(f, 0, data, piece);
        ASSERT_EQ(rows.size(), 5u) << piece;
        EXPECT_TRUE(rows[0].header);
        EXPECT_EQ(rows[1].key, "7");
        EXPECT_EQ(rows[1].bytes, "7,\"multi\nline, with comma\"\n");
        EXPECT_EQ(rows[2].key, "8");
        EXPECT_FALSE(rows[3].key.has_value());
        EXPECT_EQ(rows[4].key, "");
    }
}

TEST(CopyRows, CsvKeyAfterQuotedFieldsAndOtherEscape) {
    sql::CopyFrom f = csv_format();
    f.escape = '\\';
    const auto rows = read_all(f, 1, "\"a,\\\"b\",\"k\\\"1\"\n", 3);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].key, "k\"1");
}

}  // namespace
}  // namespace pgrouter::sharding
