// pgrouter/sql/copy_from.cpp — read_copy_from(): the options of a COPY FROM STDIN, from
// libpg_query's tree (parse_tree.hpp is the parser boundary).
#include "pgrouter/sql/copy_from.hpp"

#include "parse_tree.hpp"
#include "statement_tree.hpp"

namespace pgrouter::sql {
namespace {

struct Call {
    std::optional<CopyFrom> out;
};

// A one-byte option value, or nullopt (PostgreSQL itself insists on one byte).
std::optional<char> single_byte(const PgQuery__Node* arg) {
    if (arg == nullptr || arg->node_case != PG_QUERY__NODE__NODE_STRING || arg->string == nullptr) {
        return std::nullopt;
    }
    std::string_view value = tree::str(arg->string->sval);
    if (value.size() != 1) {
        return std::nullopt;
    }
    return value.front();
}

// HEADER [true|false|match]: given with no value, or any true spelling.
bool header_on(const PgQuery__Node* arg) {
    if (arg == nullptr) {
        return true;
    }
    if (arg->node_case == PG_QUERY__NODE__NODE_BOOLEAN && arg->boolean != nullptr) {
        return arg->boolean->boolval;
    }
    if (arg->node_case == PG_QUERY__NODE__NODE_INTEGER && arg->integer != nullptr) {
        return arg->integer->ival != 0;
    }
    if (arg->node_case == PG_QUERY__NODE__NODE_STRING && arg->string != nullptr) {
        std::string_view v = tree::str(arg->string->sval);
        return v != "false" && v != "off" && v != "0";
    }
    return true;
}

void read(PgQuery__ParseResult& parsed, void* arg) {
    auto* call = static_cast<Call*>(arg);
    if (parsed.n_stmts != 1 || parsed.stmts[0] == nullptr || parsed.stmts[0]->stmt == nullptr) {
        return;
    }
    const PgQuery__Node* node = parsed.stmts[0]->stmt;
    if (node->node_case != PG_QUERY__NODE__NODE_COPY_STMT || node->copy_stmt == nullptr) {
        return;
    }
    const PgQuery__CopyStmt* copy = node->copy_stmt;
    if (!copy->is_from || copy->relation == nullptr || copy->is_program ||
        !tree::str(copy->filename).empty() || copy->where_clause != nullptr) {
        return;
    }
    CopyFrom out;
    out.schema = tree::str(copy->relation->schemaname);
    out.table = tree::str(copy->relation->relname);
    for (std::size_t i = 0; i < copy->n_attlist; ++i) {
        const PgQuery__Node* column = copy->attlist[i];
        if (column == nullptr || column->node_case != PG_QUERY__NODE__NODE_STRING ||
            column->string == nullptr) {
            return;
        }
        out.columns.emplace_back(tree::str(column->string->sval));
    }
    bool delimiter_set = false, escape_set = false, null_set = false;
    for (std::size_t i = 0; i < copy->n_options; ++i) {
        const PgQuery__Node* option = copy->options[i];
        if (option == nullptr || option->node_case != PG_QUERY__NODE__NODE_DEF_ELEM ||
            option->def_elem == nullptr) {
            return;
        }
        const std::string_view name = tree::str(option->def_elem->defname);
        const PgQuery__Node* value = option->def_elem->arg;
        if (name == "format") {
            if (value == nullptr || value->node_case != PG_QUERY__NODE__NODE_STRING ||
                value->string == nullptr) {
                return;
            }
            std::string_view format = tree::str(value->string->sval);
            if (format == "csv") {
                out.csv = true;
            } else if (format != "text") {
                return;  // binary
            }
        } else if (name == "delimiter" || name == "quote" || name == "escape") {
            std::optional<char> c = single_byte(value);
            if (!c) {
                return;
            }
            if (name == "delimiter") {
                out.delimiter = *c;
                delimiter_set = true;
            } else if (name == "quote") {
                out.quote = *c;
            } else {
                out.escape = *c;
                escape_set = true;
            }
        } else if (name == "header") {
            out.header = header_on(value);
        } else if (name == "null") {
            if (value == nullptr || value->node_case != PG_QUERY__NODE__NODE_STRING ||
                value->string == nullptr) {
                return;
            }
            out.null_marker = tree::str(value->string->sval);
            null_set = true;
        }
        // freeze, encoding, force_quote, force_not_null, force_null: they change neither where a
        // row ends nor which bytes its key has (force_null can make a quoted key NULL; the shard
        // then rejects the row, as PostgreSQL would for a NOT NULL key).
    }
    if (out.csv) {
        if (!delimiter_set) {
            out.delimiter = ',';
        }
        if (!escape_set) {
            out.escape = out.quote;
        }
        if (!null_set) {
            out.null_marker.clear();
        }
    }
    call->out = std::move(out);
}

}  // namespace

std::optional<CopyFrom> read_copy_from(std::string_view sql) {
    Call call;
    if (parse::parse_with_budget(sql, budget::kStackBytesPerUnit, read, &call) !=
        parse::Status::Ok) {
        return std::nullopt;
    }
    return std::move(call.out);
}

}  // namespace pgrouter::sql
