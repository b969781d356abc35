// pgrouter/session/fan_out.cpp — one unit of work run on every shard: a read without a shard key
// (replies merged by sharding::merge_results into what one server would send), DDL and writes to
// reference tables (all-or-nothing: each shard runs it in a transaction, committed only once every
// shard has succeeded), keyless writes under cross_shard_writes: all. The shards' replies are read
// whole before the client hears anything, so an error or a refusal never follows partial rows.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "pgrouter/io/frame_io.hpp"
#include "pgrouter/session/client_session.hpp"
#include "pgrouter/sharding/merge.hpp"
#include "pgrouter/sql/classify.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"
#include "shard_call.hpp"

namespace pgrouter::session {
namespace {

using namespace shard_io;

// The client's messages of one unit, as fan_out() needs them.
struct Unit {
    std::optional<std::string_view> query;  // a Query
    std::vector<wire::Frame> messages;      // an extended-protocol unit, up to its Sync
    std::size_t size = 0;
};

Unit read_unit(std::span<const std::uint8_t> bytes, std::size_t max_message) {
    Unit unit;
    while (unit.size < bytes.size()) {
        wire::DecodeResult r = wire::decode_frame(bytes.subspan(unit.size), max_message);
        if (r.status != wire::DecodeStatus::Complete) {
            break;
        }
        unit.size += r.frame.bytes.size();
        if (r.frame.type == wire::frontend::kQuery) {
            unit.query = wire::parse_query(r.frame);
            if (!unit.query) {
                unit.query = std::string_view();
            }
            break;
        }
        unit.messages.push_back(r.frame);
        if (r.frame.type == wire::frontend::kSync || r.frame.type == wire::frontend::kFlush) {
            break;
        }
    }
    return unit;
}

}  // namespace

awaitable<bool> ClientSession::fan_out(const ShardTarget& target,
                                       std::span<const std::uint8_t> unit_bytes,
                                       std::size_t max_message, std::size_t& consumed) {
    const sql::ShardPlan& plan = *target.plan;
    Unit unit = read_unit(unit_bytes, max_message);
    consumed = unit.size;
    // A split INSERT is all-or-nothing too: each shard inserts its rows in a transaction.
    const bool split = !target.row_shards.empty();
    const bool broadcast = plan.scope == sql::ShardScope::Broadcast || split;
    std::vector<std::uint8_t> reply;
    wire::MessageWriter client(reply);
    const char idle_status = held_begin_.empty() ? 'I' : 'T';
    auto refuse_unit = [&](std::string_view sqlstate, const std::string& message) {
        client.error_response("ERROR", sqlstate, message);
        if (!held_begin_.empty()) {
            held_failed_ = true;
        }
        if (unit.query || unit.messages.back().type == wire::frontend::kSync) {
            client.ready_for_query(held_begin_.empty() ? 'I' : 'E');
        } else {
            skip_until_sync_ = true;
            skip_status_ = held_begin_.empty() ? 'I' : 'E';
        }
    };

    // What each shard runs: the client's statement, rewritten for the merge.
    std::string_view text = unit.query ? *unit.query : std::string_view();
    std::span<const std::uint8_t> param_types;
    const wire::Frame* bind = nullptr;
    const wire::Frame* execute = nullptr;
    bool client_parse = false;
    bool describe_statement = false;
    bool describe_portal = false;
    if (!unit.query) {
        text = unnamed_query_;
        param_types = unnamed_types_;
        for (const wire::Frame& frame : unit.messages) {
            switch (frame.type) {
                case wire::frontend::kParse:
                    if (auto parse = wire::parse_parse(frame)) {
                        text = parse->query;
                        param_types = parse->param_types;
                        client_parse = true;
                    }
                    break;
                case wire::frontend::kBind:
                    if (bind != nullptr) {
                        bind = &frame;  // a second statement: refused below
                        execute = &frame;
                        break;
                    }
                    bind = &frame;
                    if (auto view = wire::parse_bind(frame); view && !view->statement.empty()) {
                        if (const PreparedStatement* prepared = statements_.find(view->statement)) {
                            text = prepared->query;
                            param_types = prepared->param_types;
                        }
                    }
                    break;
                case wire::frontend::kDescribe:
                    if (auto d = wire::parse_describe(frame)) {
                        (d->kind == 'S' ? describe_statement : describe_portal) = true;
                    }
                    break;
                case wire::frontend::kExecute:
                    if (execute != nullptr) {
                        bind = nullptr;
                    }
                    execute = &frame;
                    break;
                default:
                    break;
            }
        }
    }
    std::string refusal;
    if (!unit.query && (bind == nullptr || execute == nullptr || execute == bind)) {
        refusal = "a batch with several statements, one of them over every shard,";
    } else if (!unit.query && unit.messages.back().type != wire::frontend::kSync) {
        refusal = "a statement over every shard without its Sync";
    } else if (!unit.query &&
               wire::read_u32(execute->body().data() + execute->body().size() - 4) != 0) {
        refusal = "fetching a result over every shard in parts (Execute with a row limit)";
    } else if (broadcast && !held_begin_.empty()) {
        refusal = "a write on every shard inside a transaction";
    } else if (pinned_ || !transaction_mode_) {
        refusal = "a statement over every shard on a pinned session";
    } else if (plan.scope == sql::ShardScope::Scatter) {
        refusal = user_aggregate_in(text);
    }
    if (!refusal.empty()) {
        refuse_unit(wire::sqlstate::kFeatureNotSupported,
                    "pgrouter: " + refusal + " is not supported across shards");
        co_await send_client(reply);
        co_return !closing_;
    }
    const std::string_view shard_sql = plan.shard_sql.empty() ? text : plan.shard_sql;
    const std::size_t shards = database_topology_->shards.size();
    // A split INSERT: each shard gets the statement with its own rows only.
    std::vector<std::string> split_sql(split ? shards : 0);
    if (split) {
        std::vector<std::vector<std::size_t>> rows(shards);
        for (std::size_t row = 0; row < target.row_shards.size(); ++row) {
            rows[target.row_shards[row]].push_back(row);
        }
        for (std::size_t k = 0; k < shards; ++k) {
            if (!rows[k].empty()) {
                split_sql[k] = sql::insert_with_rows(text, rows[k]);
                if (split_sql[k].empty()) {
                    refuse_unit(wire::sqlstate::kFeatureNotSupported,
                                "pgrouter: this multi-row INSERT is not supported across shards");
                    co_await send_client(reply);
                    co_return !closing_;
                }
            }
        }
    }

    // One connection per shard, leased in shard order (two sessions never wait on each other).
    std::vector<ShardCall> calls;
    calls.reserve(shards);
    for (std::size_t k = 0; k < shards; ++k) {
        if (split && split_sql[k].empty()) {
            continue;  // none of the rows
        }
        pool::BackendLease lease;
        if (auto failure = co_await lease_shard(k, lease)) {
            refuse_unit(failure->first, failure->second);
            co_await send_client(reply);
            co_return !closing_;
        }
        ShardCall& call = calls.emplace_back();
        call.shard = k;
        call.lease = std::move(lease);
    }
    if (closing_) {
        co_return false;
    }

    // The request, per shard: settings to match the client's, BEGIN for a broadcast, then the
    // statement (the extended protocol through the unnamed statement and portal).
    const bool ask_collation = sharding_->bytewise_text->load() < 0;
    for (ShardCall& call : calls) {
        wire::MessageWriter w(call.out);
        if (ask_collation) {
            w.query(kCollationQuery);  // the first hidden query: its row is hidden_rows[0]
            ++call.hidden;
        }
        open_call(call, params_, broadcast);
        if (unit.query) {
            w.query(split ? std::string_view(split_sql[call.shard]) : shard_sql);
        } else {
            w.parse("", shard_sql, static_cast<std::uint16_t>(param_types.size() / 4), param_types);
            if (describe_statement) {
                w.describe('S', "");
            }
            w.bind_renamed("", "", bind_rest(*bind));
            w.describe('P', "");
            w.execute("", 0);
            w.sync();
        }
        call.readies = call.hidden + 1;
    }
    co_await exchange_all(calls);
    for (ShardCall& call : calls) {
        parse(call);
    }
    if (ask_collation && std::none_of(calls.begin(), calls.end(), [](const ShardCall& call) {
            return call.lost || call.hidden_error || call.hidden_rows.empty();
        })) {
        const bool bytewise = std::all_of(calls.begin(), calls.end(), [](const ShardCall& call) {
            return sorts_bytewise(single_value(call.hidden_rows.front()));
        });
        sharding_->bytewise_text->store(bytewise ? 1 : 0);
    }

    // Outcome: a lost shard or an error anywhere decides before any row goes out.
    const ShardCall* lost = nullptr;
    const ShardCall* failed = nullptr;
    const wire::Frame* error = nullptr;
    for (const ShardCall& call : calls) {
        if (call.lost && lost == nullptr) {
            lost = &call;
        }
        if (failed == nullptr) {
            if (call.hidden_error) {
                failed = &call;
                error = &*call.hidden_error;
            } else if (const wire::Frame* e = first_of(call, wire::backend::kErrorResponse)) {
                failed = &call;
                error = e;
            }
        }
    }
    auto finish = [&](bool commit) -> awaitable<bool> {
        // Broadcast: COMMIT everywhere, or ROLLBACK everywhere.
        bool ok = true;
        std::string commit_failures;
        if (broadcast) {
            for (ShardCall& call : calls) {
                if (call.lost) {
                    continue;
                }
                if (!co_await end_transaction(call, commit)) {
                    ok = false;
                    commit_failures +=
                        (commit_failures.empty() ? "" : ", ") + shard_name(call.shard);
                }
            }
        }
        if (!commit) {
            for (ShardCall& call : calls) {
                call.lease.give_back(!call.lost && call.status == 'I'
                                         ? pool::BackendPool::Return::Clean
                                         : pool::BackendPool::Return::Close);
            }
        }
        if (commit && !ok) {
            reply.clear();
            refuse_unit(wire::sqlstate::kInternalError,
                        "pgrouter: COMMIT failed on " + commit_failures +
                            " after the statement succeeded on every shard; the other shards "
                            "committed it");
        }
        co_return ok;
    };
    if (lost != nullptr) {
        co_await finish(false);
        refuse_unit(wire::sqlstate::kConnectionFailure,
                    "pgrouter: " + shard_name(lost->shard) + " was lost: " + lost->failure +
                        (broadcast ? " (the statement was rolled back on every shard)" : ""));
        co_await send_client(reply);
        co_return !closing_;
    }
    if (failed != nullptr) {
        co_await finish(false);  // the failed calls' frames stay valid: ending has its own
        if (!unit.query) {
            // What preceded the error on the failing shard, as the client's messages.
            for (const wire::Frame& frame : failed->frames) {
                if (frame.bytes.data() == error->bytes.data()) {
                    break;
                }
                if ((frame.type == wire::backend::kParseComplete && client_parse) ||
                    frame.type == wire::backend::kBindComplete) {
                    append(reply, frame.bytes);
                }
            }
        }
        if (broadcast) {
            std::string names;
            for (const ShardCall& call : calls) {
                const bool call_failed =
                    call.hidden_error || first_of(call, wire::backend::kErrorResponse) != nullptr;
                if (call_failed) {
                    names += (names.empty() ? "" : ", ") + shard_name(call.shard);
                }
            }
            client.error_response("ERROR", error_code_of(*error),
                                  "pgrouter: failed on " + names + ": " + error_text(*error) +
                                      " (rolled back on every shard)");
        } else {
            append(reply, error->bytes);
        }
        if (!unit.query && unit.messages.back().type != wire::frontend::kSync) {
            skip_until_sync_ = true;
            skip_status_ = idle_status;
        } else {
            client.ready_for_query(idle_status);
        }
        co_await send_client(reply);
        co_return !closing_;
    }

    // Every shard succeeded.
    if (broadcast && !co_await finish(true)) {
        co_await send_client(reply);
        co_return !closing_;
    }
    if (!plan.created_aggregate.empty()) {
        rt_.health().add_user_aggregate(plan.created_aggregate);
    }
    for (ShardCall& call : calls) {
        if (call.lease) {
            call.lease.give_back(call.status == 'I' ? pool::BackendPool::Return::Clean
                                                    : pool::BackendPool::Return::Close);
        }
    }
    // Notices pass through (once, when shards say the same thing).
    std::vector<std::span<const std::uint8_t>> notices;
    for (const ShardCall& call : calls) {
        for (const wire::Frame& frame : call.frames) {
            if (frame.type == wire::backend::kNoticeResponse &&
                std::none_of(notices.begin(), notices.end(), [&](auto seen) {
                    return std::equal(seen.begin(), seen.end(), frame.bytes.begin(),
                                      frame.bytes.end());
                })) {
                notices.push_back(frame.bytes);
                append(reply, frame.bytes);
            }
        }
    }
    // The result of the statement: rows and their completion, merged.
    std::vector<sharding::ShardReply> replies(calls.size());
    std::vector<std::string_view> tags;
    bool copy_out = false;
    bool empty_query = false;
    for (std::size_t k = 0; k < calls.size(); ++k) {
        bool portal_description = unit.query.has_value();  // extended: the Describe P's
        for (const wire::Frame& frame : calls[k].frames) {
            switch (frame.type) {
                case wire::backend::kBindComplete:
                    portal_description = true;
                    break;
                case wire::backend::kRowDescription:
                    if (portal_description) {
                        replies[k].row_description = frame.bytes;
                    }
                    break;
                case wire::backend::kDataRow:
                    replies[k].data_rows.push_back(frame.bytes);
                    break;
                case wire::backend::kCommandComplete:
                    if (auto tag = wire::parse_command_complete(frame)) {
                        replies[k].command_tag = *tag;
                        tags.push_back(*tag);
                    }
                    break;
                case wire::backend::kCopyOutResponse:
                    copy_out = true;
                    break;
                case wire::backend::kEmptyQueryResponse:
                    empty_query = true;
                    break;
                default:
                    break;
            }
        }
    }
    std::vector<std::uint8_t> result;  // RowDescription (if any), rows, completion
    wire::MessageWriter result_writer(result);
    const bool answers_once = broadcast && (plan.ddl || plan.reference);
    if (empty_query) {
        result_writer.empty_query_response();
    } else if (copy_out) {
        // COPY ... TO STDOUT: one CopyOutResponse, every shard's data, one CopyDone, the total.
        append(result, first_of(calls.front(), wire::backend::kCopyOutResponse)->bytes);
        for (const ShardCall& call : calls) {
            for (const wire::Frame& frame : call.frames) {
                if (frame.type == wire::backend::kCopyData) {
                    append(result, frame.bytes);
                }
            }
        }
        result_writer.copy_done();
        result_writer.command_complete(sharding::sum_command_tags(tags));
    } else if (answers_once) {
        // Every shard holds the same rows (DDL, a reference table): the first shard's answer.
        if (!replies.front().row_description.empty()) {
            append(result, replies.front().row_description);
        }
        for (auto row : replies.front().data_rows) {
            append(result, row);
        }
        result_writer.command_complete(replies.front().command_tag);
    } else if (replies.front().row_description.empty()) {
        result_writer.command_complete(sharding::sum_command_tags(tags));
    } else {
        sharding::MergeOptions options;
        options.bytewise_text = sharding_->bytewise_text->load() == 1;
        if (auto failure = sharding::merge_results(plan.merge, replies, options, result)) {
            reply.clear();
            refuse_unit(failure->sqlstate, failure->message);
            co_await send_client(reply);
            co_return !closing_;
        }
    }
    std::span<const std::uint8_t> description;
    std::span<const std::uint8_t> rows(result);
    if (!rows.empty() && rows[0] == wire::backend::kRowDescription) {
        const std::size_t size = 1 + wire::read_u32(rows.data() + 1);
        description = rows.first(size);
        rows = rows.subspan(size);
    }
    if (unit.query) {
        append(reply, description);
        append(reply, rows);
        client.ready_for_query(idle_status);
        co_await send_client(reply);
        co_return !closing_;
    }
    // Extended protocol: an answer to each of the client's messages, in its order.
    for (const wire::Frame& message : unit.messages) {
        switch (message.type) {
            case wire::frontend::kParse:
                if (auto parse = wire::parse_parse(message)) {
                    remember_statement(*parse);
                }
                client.parse_complete();
                break;
            case wire::frontend::kBind:
                client.bind_complete();
                break;
            case wire::frontend::kDescribe: {
                auto d = wire::parse_describe(message);
                if (d && d->kind == 'S') {
                    if (const wire::Frame* t =
                            first_of(calls.front(), wire::backend::kParameterDescription)) {
                        append(reply, t->bytes);
                    }
                }
                if (description.empty()) {
                    client.no_data();
                } else {
                    append(reply, description);
                }
                break;
            }
            case wire::frontend::kExecute:
                append(reply, rows);
                break;
            case wire::frontend::kClose:
                if (auto c = wire::parse_close(message); c && c->kind == 'S') {
                    statements_.remove(c->name);
                }
                client.close_complete();
                break;
            case wire::frontend::kSync:
                client.ready_for_query(idle_status);
                break;
            default:
                break;
        }
    }
    co_await send_client(reply);
    co_return !closing_;
}

awaitable<std::optional<std::pair<std::string, std::string>>> ClientSession::lease_shard(
    std::size_t k, pool::BackendLease& lease) {
    const routing::DatabaseTopology& shard = database_topology_->shards[k];
    std::vector<routing::ServerStatus> status(shard.servers.size());
    const auto now = health::Clock::now();
    for (std::size_t i = 0; i < shard.servers.size(); ++i) {
        if (auto* health = rt_.health().find(shard.servers[i])) {
            status[i] = health->status(now);
        }
    }
    const routing::Decision primary = routing::current_primary(shard, status);
    if (primary.refused()) {
        co_return std::pair<std::string, std::string>(
            wire::sqlstate::kConnectionFailure,
            "pgrouter: " + shard_name(k) + ": " + routing::describe(primary, shard));
    }
    auto pool = rt_.pools().get(shard.servers[primary.server], shard.dbname, user_name_);
    pool::ConnectResult result = co_await pool->acquire(*credentials_);
    if (!result.conn) {
        co_return std::pair<std::string, std::string>(
            result.error.sqlstate.empty() ? std::string(wire::sqlstate::kConnectionFailure)
                                          : result.error.sqlstate,
            "pgrouter: " + shard_name(k) + ": " + result.error.message);
    }
    lease = pool::BackendLease(pool, std::move(result.conn));
    if (!lease->socket.non_blocking()) {
        error_code ignored;
        lease->socket.non_blocking(true, ignored);
    }
    co_return std::nullopt;
}

std::string ClientSession::user_aggregate_in(std::string_view text) {
    // The planner merges count/sum/min/max/avg and refuses the built-in aggregates it cannot
    // merge; a user-defined aggregate looks like any function call to it: the catalogue says.
    // Through the runtime's statement cache: a repeated read over every shard is parsed once.
    const auto classified = rt_.statements().classify(text);
    const sql::Classification& classification = *classified;
    if (classification.functions.empty()) {
        return {};
    }
    auto aggregates = rt_.health().user_aggregates();
    for (const std::string& name : classification.functions) {
        if (aggregates == nullptr) {
            return "a function call over every shard before pgrouter has read the catalogue ("
                   "it cannot tell " +
                   name + " from an aggregate yet)";
        }
        if (aggregates->contains(name)) {
            return "the user-defined aggregate " + name;
        }
    }
    return {};
}

void ClientSession::remember_statement(const wire::ParseView& parse) {
    if (parse.statement.empty()) {
        return;
    }
    Request named;
    named.type = wire::frontend::kParse;
    named.text = parse.query;
    named.name = parse.statement;
    named.param_count = parse.param_count;
    named.param_types = parse.param_types;
    statements_.add(named.name, make_statement(named));  // false (kept) when already known
}

}  // namespace pgrouter::session
