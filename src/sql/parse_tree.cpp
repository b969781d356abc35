// src/sql/parse_tree.cpp — parse_with_budget() and deparse(): the libpg_query calls of
// find_shard_keys() and the shard planner (the parse result owners are shared with classify.cpp
// in parse_tree.hpp). Never throws on bad SQL.
#include "parse_tree.hpp"

#include <pg_query.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace pgrouter::sql::parse {
namespace {

class Deparse {
public:
    explicit Deparse(PgQueryProtobuf tree) : result_(pg_query_deparse_protobuf(tree)) {}
    ~Deparse() { pg_query_free_deparse_result(result_); }
    Deparse(const Deparse&) = delete;
    Deparse& operator=(const Deparse&) = delete;

    bool failed() const noexcept { return result_.error != nullptr || result_.query == nullptr; }
    const char* query() const noexcept { return result_.query; }

private:
    PgQueryDeparseResult result_;
};

Status parse_here(const std::string& text, Visit visit, void* arg) {
    ProtobufParse parse(text.c_str());
    if (parse.failed()) {
        return Status::ParseError;
    }
    ParseTree tree(pg_query__parse_result__unpack(
        nullptr, parse.tree().len, reinterpret_cast<const std::uint8_t*>(parse.tree().data)));
    if (tree == nullptr) {
        return Status::ParseError;
    }
    visit(*tree, arg);
    return Status::Ok;
}

struct HelperCall {
    const std::string* text;
    Visit visit;
    void* arg;
    Status status = Status::OverLimit;
};

void parse_on_helper(void* arg) {
    auto* call = static_cast<HelperCall*>(arg);
    try {
        call->status = parse_here(*call->text, call->visit, call->arg);
    } catch (...) {
        // Out of memory on the helper thread: report it as not parsed rather than terminate.
        call->status = Status::OverLimit;
    }
}

}  // namespace

Status parse_with_budget(std::string_view sql, std::size_t bytes_per_unit, Visit visit, void* arg) {
    if (std::size_t nul = sql.find('\0'); nul != std::string_view::npos) {
        sql = sql.substr(0, nul);
    }
    const std::string text(sql);
    const std::size_t units = budget::depth_units(text);
    const std::size_t needed = units > budget::kMaxHelperStack / bytes_per_unit
                                   ? budget::kMaxHelperStack + 1
                                   : units * bytes_per_unit + budget::kStackReserve;
    if (needed <= budget::stack_remaining()) {
        return parse_here(text, visit, arg);
    }
    if (needed > budget::kMaxHelperStack) {
        return Status::OverLimit;
    }
    HelperCall call{&text, visit, arg};
    if (!budget::run_on_helper_thread(needed + budget::kStackReserve, parse_on_helper, &call)) {
        return Status::OverLimit;
    }
    return call.status;
}

std::optional<std::string> deparse(const PgQuery__ParseResult& tree) {
    std::vector<std::uint8_t> packed(pg_query__parse_result__get_packed_size(&tree));
    pg_query__parse_result__pack(&tree, packed.data());
    PgQueryProtobuf protobuf;
    protobuf.len = packed.size();
    protobuf.data = reinterpret_cast<char*>(packed.data());
    Deparse result(protobuf);
    if (result.failed()) {
        return std::nullopt;
    }
    return std::string(result.query());
}

}  // namespace pgrouter::sql::parse
