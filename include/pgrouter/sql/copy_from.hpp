// pgrouter/sql/copy_from.hpp — what a `COPY table [(columns)] FROM STDIN [options]` says about its
// data, so the rows can be split by shard key as they stream (issue 8). Pure: read with
// libpg_query; no I/O, never throws on bad SQL.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgrouter::sql {

struct CopyFrom {
    std::string schema;                // "" when not qualified
    std::string table;                 // as PostgreSQL folds it
    std::vector<std::string> columns;  // the column list; empty: every column in table order
    bool csv = false;                  // FORMAT csv (else text)
    char delimiter = '\t';             // text: tab, csv: comma
    char quote = '"';                  // csv only
    char escape = '"';                 // csv only (defaults to quote)
    bool header = false;               // csv HEADER: the first line is not a row
    std::string null_marker = "\\N";   // text: \N, csv: "" (an unquoted empty field)
};

// nullopt unless `sql` is exactly one COPY ... FROM STDIN of a table in text or CSV format with
// single-byte options (binary format, FROM a file or program, COPY (query) are not read).
[[nodiscard]] std::optional<CopyFrom> read_copy_from(std::string_view sql);

}  // namespace pgrouter::sql
