// pgrouter/sql/shard_key.cpp — find_shard_keys(): the libpg_query boundary for shard keys (parse,
// protobuf unpack, the stack budget); shard_key_tree.cpp reads the tree. A second includer of
// pg_query.h besides classify.cpp because it needs the tree classify() drops; same RAII owners
// and the same budget. Never throws on bad SQL.
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "parse_budget.hpp"
#include "pgrouter/sql/shard_key.hpp"
#include "shard_key_tree.hpp"

namespace pgrouter::sql {
namespace {

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

ShardKeyResult find_in_text(const std::string& text, std::span<const ShardedTableKey> tables) {
    ShardKeyResult out;
    ProtobufParse parse(text.c_str());
    if (parse.failed()) {
        out.parse_error = true;
        return out;
    }
    ParseTree tree(pg_query__parse_result__unpack(
        nullptr, parse.tree().len, reinterpret_cast<const std::uint8_t*>(parse.tree().data)));
    if (tree == nullptr) {
        out.parse_error = true;
        return out;
    }
    out.multi_statement = tree->n_stmts > 1;
    for (std::size_t i = 0; i < tree->n_stmts; ++i) {
        if (tree->stmts[i] != nullptr && tree->stmts[i]->stmt != nullptr) {
            tree::read_shard_keys(tree->stmts[i]->stmt, tables, out);
        }
    }
    return out;
}

struct HelperCall {
    const std::string* text;
    std::span<const ShardedTableKey> tables;
    ShardKeyResult* out;
    bool done = false;
};

void find_on_helper(void* arg) {
    auto* call = static_cast<HelperCall*>(arg);
    try {
        *call->out = find_in_text(*call->text, call->tables);
        call->done = true;
    } catch (...) {
        // Out of memory on the helper thread: report it as not parsed rather than terminate.
    }
}

ShardKeyResult over_limit() {
    ShardKeyResult out;
    out.parse_error = true;
    out.over_limit = true;
    return out;
}

}  // namespace

ShardKeyResult find_shard_keys(std::string_view sql, std::span<const ShardedTableKey> tables) {
    if (std::size_t nul = sql.find('\0'); nul != std::string_view::npos) {
        sql = sql.substr(0, nul);
    }
    const std::string text(sql);
    const std::size_t units = budget::depth_units(text);
    const std::size_t needed = units > budget::kMaxHelperStack / budget::kStackBytesPerUnit
                                   ? budget::kMaxHelperStack + 1
                                   : units * budget::kStackBytesPerUnit + budget::kStackReserve;
    if (needed <= budget::stack_remaining()) {
        return find_in_text(text, tables);
    }
    if (needed > budget::kMaxHelperStack) {
        return over_limit();
    }
    ShardKeyResult out;
    HelperCall call{&text, tables, &out};
    if (!budget::run_on_helper_thread(needed + budget::kStackReserve, find_on_helper, &call) ||
        !call.done) {
        return over_limit();
    }
    return out;
}

}  // namespace pgrouter::sql
