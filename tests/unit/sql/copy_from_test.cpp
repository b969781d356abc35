// read_copy_from(): what a COPY ... FROM STDIN says about its data (sql/copy_from.hpp).
#include "pgrouter/sql/copy_from.hpp"

#include <gtest/gtest.h>

namespace pgrouter::sql {
namespace {

TEST(CopyFrom, TextDefaults) {
    auto c = read_copy_from("COPY accounts FROM STDIN");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->table, "accounts");
    EXPECT_TRUE(c->columns.empty());
    EXPECT_FALSE(c->csv);
    EXPECT_EQ(c->delimiter, '\t');
    EXPECT_EQ(c->null_marker, "\\N");
}

TEST(CopyFrom, CsvOptionsNewAndLegacySyntax) {
    auto c = read_copy_from(
        "COPY public.Accounts (user_id, \"Name\") FROM STDIN WITH (FORMAT csv, HEADER, DELIMITER "
        "';', QUOTE '''', NULL 'nil')");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->schema, "public");
    EXPECT_EQ(c->table, "accounts");
    EXPECT_EQ(c->columns, (std::vector<std::string>{"user_id", "Name"}));
    EXPECT_TRUE(c->csv);
    EXPECT_TRUE(c->header);
    EXPECT_EQ(c->delimiter, ';');
    EXPECT_EQ(c->quote, '\'');
    EXPECT_EQ(c->escape, '\'');  // defaults to the quote
    EXPECT_EQ(c->null_marker, "nil");
    auto legacy = read_copy_from("COPY accounts FROM STDIN CSV HEADER");
    ASSERT_TRUE(legacy);
    EXPECT_TRUE(legacy->csv);
    EXPECT_TRUE(legacy->header);
    EXPECT_EQ(legacy->delimiter, ',');
    EXPECT_EQ(legacy->null_marker, "");
}

TEST(CopyFrom, WhatCannotBeSplitIsNotRead) {
    EXPECT_FALSE(read_copy_from("COPY accounts FROM STDIN (FORMAT binary)"));
    EXPECT_FALSE(read_copy_from("COPY accounts FROM '/tmp/x'"));
    EXPECT_FALSE(read_copy_from("COPY accounts TO STDOUT"));
    EXPECT_FALSE(read_copy_from("COPY accounts FROM STDIN WHERE user_id > 1"));
    EXPECT_FALSE(read_copy_from("COPY accounts FROM STDIN (DELIMITER 'ab')"));
    EXPECT_FALSE(read_copy_from("SELECT 1"));
    EXPECT_FALSE(read_copy_from("COPY oops"));
}

}  // namespace
}  // namespace pgrouter::sql
