// src/sql/shard_key_tree.hpp — the tree-reading half of find_shard_keys() (shard_key.cpp holds
// the parser boundary). Internal header; no parser calls here.
#pragma once

#include <pg_query/pg_query.pb-c.h>

#include <span>

#include "pgrouter/sql/shard_key.hpp"

namespace pgrouter::sql::tree {

// Appends to out.uses every occurrence of a sharded table in the top-level statement `node`
// (not null), in text order, with the key values the statement pins it to.
void read_shard_keys(const PgQuery__Node* node, std::span<const ShardedTableKey> tables,
                     ShardKeyResult& out);

}  // namespace pgrouter::sql::tree
