// src/sql/parse_tree.hpp — the libpg_query boundary shared by find_shard_keys() and the shard
// planner: parse to a protobuf tree under the stack budget (on a helper thread with a bigger stack
// when the text is deeply nested), and deparse a (rewritten) tree back to SQL. Internal header;
// never throws on bad SQL.
#pragma once

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "parse_budget.hpp"

namespace pgrouter::sql::parse {

// RAII owners of libpg_query's parse result and of its unpacked protobuf-c tree.
class ProtobufParse {
public:
    explicit ProtobufParse(const char* text) : result_(pg_query_parse_protobuf(text)) {}
    ~ProtobufParse() { pg_query_free_protobuf_parse_result(result_); }
    ProtobufParse(const ProtobufParse&) = delete;
    ProtobufParse& operator=(const ProtobufParse&) = delete;

    bool failed() const noexcept { return result_.error != nullptr; }
    const PgQueryProtobuf& tree() const noexcept { return result_.parse_tree; }

private:
    PgQueryProtobufParseResult result_;
};

struct FreeParseTree {
    void operator()(PgQuery__ParseResult* tree) const noexcept {
        pg_query__parse_result__free_unpacked(tree, nullptr);
    }
};
using ParseTree = std::unique_ptr<PgQuery__ParseResult, FreeParseTree>;

enum class Status {
    Ok,
    ParseError,  // libpg_query rejected the text (or the tree did not unpack)
    OverLimit,   // too deeply nested to parse safely; nothing was parsed
};

// The visitor called with the unpacked tree; it may edit the tree if it restores every edit
// before it returns (protobuf-c frees the tree afterwards). Must not throw when it can be run on a
// helper thread: parse_with_budget() catches and reports OverLimit then.
using Visit = void (*)(PgQuery__ParseResult& tree, void* arg);

// Parses `sql` (cut at a NUL byte) and calls visit(tree, arg) with enough stack for
// `bytes_per_unit` per depth unit of the text (budget::kStackBytesPerUnit covers parse, unpack and
// free; more when the visitor packs and deparses too).
Status parse_with_budget(std::string_view sql, std::size_t bytes_per_unit, Visit visit, void* arg);

// The SQL text of `tree` (pack + pg_query_deparse_protobuf); nullopt when libpg_query cannot
// deparse it. Recurses like the parser: call it inside a parse_with_budget() visitor.
std::optional<std::string> deparse(const PgQuery__ParseResult& tree);

}  // namespace pgrouter::sql::parse
