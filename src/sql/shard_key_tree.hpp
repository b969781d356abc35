// src/sql/shard_key_tree.hpp — the tree-reading half of find_shard_keys() (shard_key.cpp holds
// the parser boundary). Internal header; no parser calls here.
#pragma once

#include <pg_query/pg_query.pb-c.h>

#include <optional>
#include <span>
#include <vector>

#include "pgrouter/sql/shard_key.hpp"

namespace pgrouter::sql::tree {

// Appends to out.uses every occurrence of a sharded table in the top-level statement `node`
// (not null), in text order, with the key values the statement pins it to. `rels`, when given,
// gets the RangeVar of each use appended (parallel to out.uses), so the shard planner can tell
// which use is the INSERT/UPDATE/DELETE target or a top-level FROM item.
void read_shard_keys(const PgQuery__Node* node, std::span<const ShardedTableKey> tables,
                     ShardKeyResult& out, std::vector<const PgQuery__RangeVar*>* rels = nullptr);

// Every RangeVar under `root`, in walk order (iterative, no depth limit).
void all_relations(const ProtobufCMessage* root, std::vector<const PgQuery__RangeVar*>& out);

// `node` as a constant key value: a literal, NULL or $n, under casts and unary signs.
std::optional<KeyValue> key_constant(const PgQuery__Node* node);

}  // namespace pgrouter::sql::tree
