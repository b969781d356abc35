// src/sql/shard_plan_edit.cpp — the shard planner's tree tools: the reversible Editor, structural
// equality of subtrees and name helpers. No parser calls; every node we add lives in the Editor,
// never in protobuf-c's allocations.
#include <cstring>

#include "shard_plan_tree.hpp"
#include "statement_tree.hpp"

namespace pgrouter::sql::plan {

const ShardedTableKey* sharded_table(std::string_view name, const ShardingView& view) noexcept {
    for (const ShardedTableKey& table : view.tables) {
        if (table.table == name) {
            return &table;
        }
    }
    return nullptr;
}

bool is_reference(std::string_view name, const ShardingView& view) noexcept {
    for (const std::string& table : view.reference_tables) {
        if (table == name) {
            return true;
        }
    }
    return false;
}

void Editor::set_list(std::size_t& n, PgQuery__Node**& items, std::vector<PgQuery__Node*> value) {
    std::vector<PgQuery__Node*>& list = lists_.emplace_back(std::move(value));
    set(n, list.size());
    set(items, list.empty() ? static_cast<PgQuery__Node**>(nullptr) : list.data());
}

void Editor::undo() noexcept {
    while (!undo_.empty()) {
        undo_.back()();
        undo_.pop_back();
    }
}

const char* Editor::string(std::string_view text) {
    return texts_.emplace_back(text).c_str();
}

PgQuery__Node* Editor::node() {
    return &nodes_.emplace_back(PgQuery__Node PG_QUERY__NODE__INIT);
}

PgQuery__Node* Editor::string_node(std::string_view text) {
    PgQuery__String& s = strings_.emplace_back(PgQuery__String PG_QUERY__STRING__INIT);
    s.sval = const_cast<char*>(string(text));
    PgQuery__Node* n = node();
    n->node_case = PG_QUERY__NODE__NODE_STRING;
    n->string = &s;
    return n;
}

PgQuery__Node* Editor::integer(std::int64_t value) {
    PgQuery__AConst& c = consts_.emplace_back(PgQuery__AConst PG_QUERY__A__CONST__INIT);
    c.location = -1;
    if (value >= INT32_MIN && value <= INT32_MAX) {
        PgQuery__Integer& i = integers_.emplace_back(PgQuery__Integer PG_QUERY__INTEGER__INIT);
        i.ival = static_cast<std::int32_t>(value);
        c.val_case = PG_QUERY__A__CONST__VAL_IVAL;
        c.ival = &i;
    } else {
        // The parser keeps integers beyond int32 as Float (numeric text) too.
        PgQuery__Float& f = floats_.emplace_back(PgQuery__Float PG_QUERY__FLOAT__INIT);
        f.fval = const_cast<char*>(string(std::to_string(value)));
        c.val_case = PG_QUERY__A__CONST__VAL_FVAL;
        c.fval = &f;
    }
    PgQuery__Node* n = node();
    n->node_case = PG_QUERY__NODE__NODE_A_CONST;
    n->a_const = &c;
    return n;
}

PgQuery__Node* Editor::res_target(PgQuery__Node* value, std::string_view name) {
    PgQuery__ResTarget& t = targets_.emplace_back(PgQuery__ResTarget PG_QUERY__RES_TARGET__INIT);
    t.val = value;
    if (!name.empty()) {
        t.name = const_cast<char*>(string(name));
    }
    t.location = -1;
    PgQuery__Node* n = node();
    n->node_case = PG_QUERY__NODE__NODE_RES_TARGET;
    n->res_target = &t;
    return n;
}

PgQuery__Node* Editor::renamed_call(const PgQuery__FuncCall& call, std::string_view name) {
    PgQuery__FuncCall& copy = calls_.emplace_back(call);
    std::vector<PgQuery__Node*>& funcname = lists_.emplace_back();
    funcname.push_back(string_node(name));
    copy.n_funcname = 1;
    copy.funcname = funcname.data();
    PgQuery__Node* n = node();
    n->node_case = PG_QUERY__NODE__NODE_FUNC_CALL;
    n->func_call = &copy;
    return n;
}

namespace {

std::size_t scalar_size(ProtobufCType type) noexcept {
    switch (type) {
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
        case PROTOBUF_C_TYPE_DOUBLE:
            return 8;
        case PROTOBUF_C_TYPE_BOOL:
            return sizeof(protobuf_c_boolean);
        default:
            return 4;  // int32 kinds, enum, float
    }
}

bool same_value(ProtobufCType type, const char* a, const char* b, int depth) noexcept {
    switch (type) {
        case PROTOBUF_C_TYPE_STRING: {
            const char* x = *reinterpret_cast<const char* const*>(a);
            const char* y = *reinterpret_cast<const char* const*>(b);
            return tree::str(x) == tree::str(y);
        }
        case PROTOBUF_C_TYPE_BYTES: {
            const auto* x = reinterpret_cast<const ProtobufCBinaryData*>(a);
            const auto* y = reinterpret_cast<const ProtobufCBinaryData*>(b);
            return x->len == y->len && (x->len == 0 || std::memcmp(x->data, y->data, x->len) == 0);
        }
        case PROTOBUF_C_TYPE_MESSAGE:
            return same_tree(*reinterpret_cast<const ProtobufCMessage* const*>(a),
                             *reinterpret_cast<const ProtobufCMessage* const*>(b), depth + 1);
        default:
            return std::memcmp(a, b, scalar_size(type)) == 0;
    }
}

std::size_t element_size(ProtobufCType type) noexcept {
    switch (type) {
        case PROTOBUF_C_TYPE_STRING:
            return sizeof(char*);
        case PROTOBUF_C_TYPE_BYTES:
            return sizeof(ProtobufCBinaryData);
        case PROTOBUF_C_TYPE_MESSAGE:
            return sizeof(ProtobufCMessage*);
        default:
            return scalar_size(type);
    }
}

}  // namespace

bool same_tree(const ProtobufCMessage* a, const ProtobufCMessage* b, int depth) noexcept {
    if (a == nullptr || b == nullptr) {
        return a == b;
    }
    if (a->descriptor != b->descriptor || depth > kMaxDepth) {
        return false;
    }
    const ProtobufCMessageDescriptor* type = a->descriptor;
    const auto* x = reinterpret_cast<const char*>(a);
    const auto* y = reinterpret_cast<const char*>(b);
    for (unsigned i = 0; i < type->n_fields; ++i) {
        const ProtobufCFieldDescriptor& field = type->fields[i];
        if (std::strcmp(field.name, "location") == 0) {
            continue;
        }
        if (field.label == PROTOBUF_C_LABEL_REPEATED) {
            std::size_t n = *reinterpret_cast<const std::size_t*>(x + field.quantifier_offset);
            if (n != *reinterpret_cast<const std::size_t*>(y + field.quantifier_offset)) {
                return false;
            }
            const char* xs = *reinterpret_cast<const char* const*>(x + field.offset);
            const char* ys = *reinterpret_cast<const char* const*>(y + field.offset);
            const std::size_t size = element_size(field.type);
            for (std::size_t k = 0; k < n; ++k) {
                if (!same_value(field.type, xs + k * size, ys + k * size, depth)) {
                    return false;
                }
            }
            continue;
        }
        if ((field.flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0) {
            const auto cx = *reinterpret_cast<const std::uint32_t*>(x + field.quantifier_offset);
            const auto cy = *reinterpret_cast<const std::uint32_t*>(y + field.quantifier_offset);
            if (cx != cy) {
                return false;
            }
            if (cx != field.id) {
                continue;
            }
        }
        if (!same_value(field.type, x + field.offset, y + field.offset, depth)) {
            return false;
        }
    }
    return true;
}

void walk_expression(const ProtobufCMessage* root,
                     const std::function<void(const ProtobufCMessage*)>& fn) {
    if (root == nullptr) {
        return;
    }
    std::vector<const ProtobufCMessage*> stack{root};
    while (!stack.empty()) {
        const ProtobufCMessage* message = stack.back();
        stack.pop_back();
        const ProtobufCMessageDescriptor* type = message->descriptor;
        if (type == &pg_query__sub_link__descriptor ||
            type == &pg_query__range_subselect__descriptor) {
            continue;
        }
        fn(message);
        tree::push_children(message, stack);
    }
}

bool same_node(const PgQuery__Node* a, const PgQuery__Node* b) noexcept {
    return same_tree(a == nullptr ? nullptr : &a->base, b == nullptr ? nullptr : &b->base);
}

std::string_view string_of(const PgQuery__Node* node) noexcept {
    if (node == nullptr || node->node_case != PG_QUERY__NODE__NODE_STRING ||
        node->string == nullptr) {
        return {};
    }
    return tree::str(node->string->sval);
}

std::string function_name(const PgQuery__FuncCall& call) {
    if (call.n_funcname == 0) {
        return {};
    }
    // Already folded by the parser; a quoted "Sum" is another function.
    return std::string(string_of(call.funcname[call.n_funcname - 1]));
}

}  // namespace pgrouter::sql::plan
