// pgrouter/session/fan_out_pairs.cpp — one extended-protocol batch of keyed writes of one statement
// whose Binds fall on several shards (asyncpg's executemany: Bind/Execute pairs up to one Sync).
// PostgreSQL runs such a batch as one implicit transaction; here each shard runs its pairs in a
// transaction, committed only once every shard has succeeded, and the client gets each pair's
// answer in its own order, up to the first error as PostgreSQL would send them.
#include <algorithm>

#include "pgrouter/session/client_session.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"
#include "shard_call.hpp"

namespace pgrouter::session {
namespace {

using namespace shard_io;

// One pair's answer on its shard: BindComplete, rows, the completion (or the error).
struct PairAnswer {
    std::vector<const wire::Frame*> frames;
    const wire::Frame* error = nullptr;
};

// Splits a shard's frames (after its Parse) into its pairs' answers; an error ends the list.
std::vector<PairAnswer> answers_of(const ShardCall& call, const wire::Frame*& parse_error) {
    std::vector<PairAnswer> answers;
    parse_error = nullptr;
    for (const wire::Frame& frame : call.frames) {
        switch (frame.type) {
            case wire::backend::kParseComplete:
            case wire::backend::kReadyForQuery:
                break;
            case wire::backend::kBindComplete:
                answers.emplace_back();
                answers.back().frames.push_back(&frame);
                break;
            case wire::backend::kErrorResponse:
                if (answers.empty()) {
                    parse_error = &frame;
                    return answers;
                }
                answers.back().error = &frame;
                return answers;
            default:
                if (!answers.empty()) {
                    answers.back().frames.push_back(&frame);
                }
                break;
        }
    }
    return answers;
}

}  // namespace

awaitable<bool> ClientSession::fan_out_pairs(const ShardTarget& target,
                                             std::span<const std::uint8_t> unit_bytes,
                                             std::size_t max_message, std::size_t& consumed) {
    // The unit: [Parse] (Bind Execute)+ Sync, as unit_target() checked.
    std::vector<wire::Frame> messages;
    consumed = 0;
    while (consumed < unit_bytes.size()) {
        wire::DecodeResult r = wire::decode_frame(unit_bytes.subspan(consumed), max_message);
        if (r.status != wire::DecodeStatus::Complete) {
            break;
        }
        consumed += r.frame.bytes.size();
        messages.push_back(r.frame);
        if (r.frame.type == wire::frontend::kSync) {
            break;
        }
    }
    std::vector<std::uint8_t> reply;
    wire::MessageWriter client(reply);
    std::string_view text = unnamed_query_;
    std::span<const std::uint8_t> types = unnamed_types_;
    std::vector<wire::ParseView> client_parses;  // every Parse of the batch (one statement text)
    std::vector<const wire::Frame*> binds;
    std::vector<bool> describes;  // per Bind: a Describe of its portal follows
    for (const wire::Frame& message : messages) {
        if (message.type == wire::frontend::kParse) {
            if (auto parse = wire::parse_parse(message)) {
                client_parses.push_back(*parse);
                text = parse->query;
                types = parse->param_types;
            }
        } else if (message.type == wire::frontend::kBind) {
            binds.push_back(&message);
            describes.push_back(false);
            auto view = wire::parse_bind(message);
            const bool parsed_here =
                view && std::any_of(client_parses.begin(), client_parses.end(),
                                    [&](const auto& p) { return p.statement == view->statement; });
            if (view && !view->statement.empty() && !parsed_here) {
                if (const PreparedStatement* prepared = statements_.find(view->statement)) {
                    text = prepared->query;
                    types = prepared->param_types;
                }
            }
        } else if (message.type == wire::frontend::kDescribe && !describes.empty()) {
            describes.back() = true;
        }
    }
    if (binds.size() != target.pair_shards.size()) {
        client.error_response("ERROR", wire::sqlstate::kInternalError,
                              "pgrouter: the batch changed while it was routed");
        client.ready_for_query('I');
        co_await send_client(reply);
        co_return !closing_;
    }
    const std::size_t shards = database_topology_->shards.size();
    std::vector<std::vector<std::size_t>> pairs_of(shards);  // client pair indexes per shard
    for (std::size_t i = 0; i < binds.size(); ++i) {
        pairs_of[target.pair_shards[i]].push_back(i);
    }
    std::vector<ShardCall> calls;
    std::vector<std::size_t> call_of(shards, SIZE_MAX);
    for (std::size_t k = 0; k < shards; ++k) {
        if (pairs_of[k].empty()) {
            continue;
        }
        pool::BackendLease lease;
        if (auto failure = co_await lease_shard(k, lease)) {
            client.error_response("ERROR", failure->first, failure->second);
            client.ready_for_query('I');
            co_await send_client(reply);
            co_return !closing_;
        }
        call_of[k] = calls.size();
        ShardCall& call = calls.emplace_back();
        call.shard = k;
        call.lease = std::move(lease);
        open_call(call, params_, true);
        wire::MessageWriter w(call.out);
        w.parse("", text, static_cast<std::uint16_t>(types.size() / 4), types);
        for (std::size_t i : pairs_of[k]) {
            w.bind_renamed("", "", bind_rest(*binds[i]));
            if (describes[i]) {
                w.describe('P', "");
            }
            w.execute("", 0);
        }
        w.sync();
        call.readies = call.hidden + 1;
    }
    co_await exchange_all(calls);
    for (ShardCall& call : calls) {
        parse(call);
    }

    // The client's answers in its order, up to the first error.
    std::vector<std::vector<PairAnswer>> answers(calls.size());
    std::vector<const wire::Frame*> parse_errors(calls.size(), nullptr);
    const ShardCall* lost = nullptr;
    bool failed = false;
    for (std::size_t c = 0; c < calls.size(); ++c) {
        if (calls[c].lost) {
            lost = lost != nullptr ? lost : &calls[c];
            continue;
        }
        answers[c] = answers_of(calls[c], parse_errors[c]);
        failed = failed || calls[c].hidden_error || parse_errors[c] != nullptr ||
                 (!answers[c].empty() && answers[c].back().error != nullptr);
    }
    if (lost != nullptr) {
        failed = true;
    }
    std::vector<std::uint8_t> kept_error;  // copied before the transactions end
    if (lost == nullptr) {
        const wire::Frame* parse_error = nullptr;
        for (std::size_t c = 0; c < calls.size() && parse_error == nullptr; ++c) {
            parse_error = calls[c].hidden_error ? &*calls[c].hidden_error : parse_errors[c];
        }
        if (parse_error != nullptr) {
            append(reply, parse_error->bytes);
        } else {
            // The client's messages in order: each Parse is answered, each Bind gets its pair's
            // whole answer (BindComplete, description, rows, completion), up to an error.
            std::vector<std::size_t> next(calls.size(), 0);
            std::size_t pair = 0;
            bool stopped = false;
            for (const wire::Frame& message : messages) {
                if (stopped) {
                    break;
                }
                if (message.type == wire::frontend::kParse) {
                    client.parse_complete();
                    continue;
                }
                if (message.type != wire::frontend::kBind) {
                    continue;
                }
                const std::size_t c = call_of[target.pair_shards[pair++]];
                if (next[c] >= answers[c].size()) {
                    break;  // its shard stopped at an earlier pair's error (already sent)
                }
                const PairAnswer& answer = answers[c][next[c]++];
                for (const wire::Frame* frame : answer.frames) {
                    append(reply, frame->bytes);
                }
                if (answer.error != nullptr) {
                    append(reply, answer.error->bytes);
                    stopped = true;
                }
            }
        }
    }
    // All or nothing, as the batch's implicit transaction.
    bool committed = true;
    for (ShardCall& call : calls) {
        if (!call.lost && !co_await end_transaction(call, !failed)) {
            committed = false;
        }
        call.lease.give_back(!call.lost && call.status == 'I' ? pool::BackendPool::Return::Clean
                                                              : pool::BackendPool::Return::Close);
    }
    if (lost != nullptr) {
        reply.clear();
        client.error_response("ERROR", wire::sqlstate::kConnectionFailure,
                              "pgrouter: " + shard_name(lost->shard) + " was lost: " +
                                  lost->failure + " (the batch was rolled back on every shard)");
    } else if (!failed && !committed) {
        reply.clear();
        client.error_response("ERROR", wire::sqlstate::kInternalError,
                              "pgrouter: COMMIT failed on a shard after every shard had run the "
                              "batch; other shards committed theirs");
    } else if (!failed) {
        for (const wire::ParseView& parse : client_parses) {
            remember_statement(parse);
        }
    }
    if (!client_parses.empty()) {
        unnamed_query_.assign(client_parses.back().query);
        unnamed_types_.assign(client_parses.back().param_types.begin(),
                              client_parses.back().param_types.end());
    }
    client.ready_for_query('I');
    co_await send_client(reply);
    co_return !closing_;
}

}  // namespace pgrouter::session
