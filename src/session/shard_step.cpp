// pgrouter/session/shard_step.cpp — the session's side of sharding: which shard a unit of work goes
// to (the statement's plan, its key values from literals or Bind parameters, hints and SET
// pgrouter.shard / shard_key), switching the session's current shard between units, and keeping a
// transaction on the shard it started on. What runs on every shard is fan_out.cpp.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "pgrouter/session/client_session.hpp"
#include "pgrouter/sharding/shard_hash.hpp"
#include "pgrouter/sharding/shard_key.hpp"
#include "pgrouter/sql/classify.hpp"
#include "pgrouter/sql/hints.hpp"
#include "pgrouter/wire/message_type.hpp"
#include "pgrouter/wire/messages.hpp"
#include "pgrouter/wire/sqlstate.hpp"
#include "pgrouter/wire/writer.hpp"

namespace pgrouter::session {
namespace {

// Plans kept per session; literal keys make texts vary, so the map is cleared when full.
constexpr std::size_t kMaxShardPlans = 256;
// A sharded database's unit of work is read up to its Sync before its shard is chosen, unless
// the client has sent this much of it already (then the first Bind seen decides).
constexpr std::size_t kUnitLookahead = 1024 * 1024;

using Target = ShardTarget;

Target any() {
    return {};
}

Target one(std::size_t shard) {
    Target target;
    target.kind = Target::Kind::One;
    target.shard = shard;
    return target;
}

Target refusal(std::string message) {
    Target target;
    target.kind = Target::Kind::Refuse;
    target.message = std::move(message);
    return target;
}

std::uint32_t param_type(std::span<const std::uint8_t> types, int param) {
    const std::size_t at = static_cast<std::size_t>(param - 1) * 4;
    return param >= 1 && at + 4 <= types.size() ? wire::read_u32(types.data() + at) : 0;
}

}  // namespace

void ClientSession::init_sharding() {
    database_topology_ = topology_;
    sharding_ = rt_.sharding(database_name_);
    if (sharding_ == nullptr || database_topology_->shards.empty()) {
        sharding_ = nullptr;
        return;
    }
    shard_states_.assign(database_topology_->shards.size(), {});
    shard_ = 0;
    topology_ = &database_topology_->shards.front();
}

std::string ClientSession::shard_name(std::size_t shard) const {
    std::string name = "shard " + std::to_string(shard);
    if (database_topology_ != nullptr && shard < database_topology_->shards.size()) {
        name += " (" + database_topology_->shards[shard].servers.front().to_string() + ")";
    }
    return name;
}

void ClientSession::switch_shard(std::size_t shard) {
    if (shard == shard_ || sharding_ == nullptr || shard >= shard_states_.size()) {
        return;
    }
    // Read-your-writes positions are per shard: a WAL position of one primary means nothing to
    // another shard's replicas.
    ShardState& was = shard_states_[shard_];
    was.pools.swap(pools_);
    was.wrote = wrote_;
    was.wrote_at = wrote_at_;
    was.write_lsn = write_lsn_;
    ShardState& now = shard_states_[shard];
    pools_.swap(now.pools);
    wrote_ = now.wrote;
    wrote_at_ = now.wrote_at;
    write_lsn_ = now.write_lsn;
    shard_ = shard;
    topology_ = &database_topology_->shards[shard];
    init_routing();
    user_key_ = user_name_ + "@" + database_name_ + "#" + std::to_string(shard);
}

std::shared_ptr<const sql::ShardPlan> ClientSession::shard_plan(std::string_view text,
                                                                std::vector<sql::KeyValue>* keys) {
    // Plans are kept by literal shape: `WHERE user_id = 42` and `= 43` share one, their key
    // values taken from each text's own literals (libpg_query parses a shape once per session).
    sql::LiteralShape shape = sql::literal_shape(text);
    if (auto it = shard_plans_.find(shape.key); it != shard_plans_.end()) {
        const ShapePlan& cached = it->second;
        if (keys != nullptr && !cached.literal_of.empty()) {
            keys->clear();
            for (std::size_t i = 0; i < cached.literal_of.size(); ++i) {
                const int literal = cached.literal_of[i];
                if (literal < 0) {
                    keys->push_back(cached.plan->keys[i]);  // $n or NULL: the same in every text
                    continue;
                }
                const sql::LiteralShape::Literal& value =
                    shape.literals[static_cast<std::size_t>(literal)];
                keys->push_back(
                    {value.string ? sql::KeyValue::Kind::String : sql::KeyValue::Kind::Number,
                     sql::literal_value(value), 0});
            }
        }
        return cached.plan;
    }
    if (shard_plans_.size() >= kMaxShardPlans) {
        shard_plans_.clear();
    }
    auto plan =
        std::make_shared<const sql::ShardPlan>(sql::plan_shard_statement(text, sharding_->view()));
    ShapePlan entry{plan, {}};
    bool shareable = shape.literals.empty();  // the shape is the text itself
    if (!shareable &&
        (plan->scope == sql::ShardScope::Keyed || plan->scope == sql::ShardScope::First ||
         plan->scope == sql::ShardScope::AnyOne)) {
        // Each key value must come from exactly one literal of this text.
        shareable = true;
        for (const sql::KeyValue& key : plan->keys) {
            int found = -1;
            if (key.kind == sql::KeyValue::Kind::Number ||
                key.kind == sql::KeyValue::Kind::String) {
                for (std::size_t i = 0; i < shape.literals.size(); ++i) {
                    const auto& literal = shape.literals[i];
                    const bool string = key.kind == sql::KeyValue::Kind::String;
                    if (literal.string == string && sql::literal_value(literal) == key.text) {
                        shareable = shareable && found < 0;
                        found = static_cast<int>(i);
                    }
                }
                shareable = shareable && found >= 0;
            }
            entry.literal_of.push_back(found);
        }
        if (std::none_of(entry.literal_of.begin(), entry.literal_of.end(),
                         [](int literal) { return literal >= 0; })) {
            entry.literal_of.clear();  // no key from a literal: the plan's own keys hold
        }
    }
    if (shareable) {
        shard_plans_.emplace(std::move(shape.key), entry);
    }
    return plan;
}

ShardTarget ClientSession::statement_target(std::string_view text, const wire::Frame* bind,
                                            const PreparedStatement* prepared,
                                            std::span<const std::uint8_t> param_types) {
    const std::size_t shards = shard_states_.size();
    const sql::Hints hints = sql::parse_hints(text);
    if (hints.shard) {
        if (*hints.shard >= shards) {
            return refusal("shard " + std::to_string(*hints.shard) +
                           " does not exist (the database has " + std::to_string(shards) +
                           " shards)");
        }
        return one(*hints.shard);
    }
    if (session_shard_) {
        return one(*session_shard_);
    }
    std::vector<sql::KeyValue> keyed;  // the key values of this text (from its own literals)
    std::shared_ptr<const sql::ShardPlan> plan;
    if (prepared != nullptr && prepared->shard_plan != nullptr) {
        plan = prepared->shard_plan;  // planned once per prepared statement
    } else {
        plan = shard_plan(text, &keyed);
        if (prepared != nullptr && keyed.empty()) {
            prepared->shard_plan = plan;  // its own keys are this statement's
        }
    }
    const config::ShardingConfig& config = sharding_->database->sharding;
    auto shard_of_key = [&](const sharding::KeyParse& parsed) -> std::optional<std::size_t> {
        if (!parsed.ok()) {
            return std::nullopt;
        }
        const std::optional<std::uint32_t> slot = sharding::slot_of(parsed.key, config);
        return slot ? sharding_->slots.shard_for(*slot) : std::nullopt;
    };
    std::string_view explicit_key =
        !hints.shard_key.empty() ? hints.shard_key : std::string_view(session_shard_key_);
    if (!explicit_key.empty()) {
        const config::ShardKeyType type = sharding_->key_type(plan->table);
        if (auto shard = shard_of_key(sharding::key_from_text(explicit_key, type))) {
            return one(*shard);
        }
        return refusal("shard key '" + std::string(explicit_key) +
                       "' is not a value of the key type");
    }
    (void)prepared;
    switch (plan->scope) {
        case sql::ShardScope::First:
            return plan->names_table ? one(0) : any();
        case sql::ShardScope::AnyOne:
            return any();
        case sql::ShardScope::Refused:
            return refusal(plan->refusal + " is not supported across shards");
        case sql::ShardScope::Keyed:
            break;
        case sql::ShardScope::Split:
            if (plan->rows.empty()) {  // COPY FROM STDIN: its rows are split as they stream
                Target target;
                target.kind = Target::Kind::All;
                target.plan = std::move(plan);
                return target;
            }
            break;
        case sql::ShardScope::Scatter:
        case sql::ShardScope::Broadcast: {
            Target target;
            target.kind = Target::Kind::All;
            target.plan = std::move(plan);
            return target;
        }
    }
    const config::ShardKeyType type = sharding_->key_type(plan->table);
    const std::vector<sql::KeyValue>& values = plan->scope == sql::ShardScope::Split ? plan->rows
                                               : keyed.empty()                       ? plan->keys
                                                                                     : keyed;
    std::optional<std::size_t> found;
    bool several = false;
    std::vector<std::size_t> row_shards;
    for (const sql::KeyValue& value : values) {
        sharding::KeyParse parsed;
        switch (value.kind) {
            case sql::KeyValue::Kind::Null:
                if (plan->scope == sql::ShardScope::Split) {
                    return refusal("INSERT of a NULL shard key");
                }
                continue;  // matches no row
            case sql::KeyValue::Kind::Number:
            case sql::KeyValue::Kind::String:
                parsed = sharding::key_from_text(value.text, type);
                break;
            case sql::KeyValue::Kind::Param: {
                if (bind == nullptr) {
                    return any();  // prepared only: the Bind picks the shard
                }
                auto param = wire::bind_param(*bind, static_cast<std::size_t>(value.param - 1));
                if (!param) {
                    return any();  // malformed or too few: the server says what is wrong
                }
                if (param->null) {
                    if (plan->scope == sql::ShardScope::Split) {
                        return refusal("INSERT of a NULL shard key");
                    }
                    continue;
                }
                parsed = sharding::key_from_param(param->value,
                                                  param->format == 1 ? sharding::ParamFormat::Binary
                                                                     : sharding::ParamFormat::Text,
                                                  param_type(param_types, value.param), type);
                break;
            }
        }
        std::optional<std::size_t> shard = shard_of_key(parsed);
        if (!shard) {
            // Not a value of the key's type: the server rejects it as it would directly.
            return plan->scope == sql::ShardScope::Split
                       ? refusal(
                             "INSERT with a shard key that is not a "
                             "value of its type")
                       : one(0);
        }
        if (found && *found != *shard) {
            several = true;
        }
        if (plan->scope == sql::ShardScope::Split) {
            row_shards.push_back(*shard);
        }
        if (!found) {
            found = shard;
        }
    }
    if (several) {
        if (plan->scope == sql::ShardScope::Split) {
            if (bind != nullptr) {
                return refusal(
                    "a multi-row INSERT with parameters whose rows belong to "
                    "different shards");
            }
            Target target;
            target.kind = Target::Kind::All;
            target.plan = std::move(plan);
            target.row_shards = std::move(row_shards);
            return target;
        }
        if (plan->writes) {
            return refusal("a write whose shard key values fall on different shards");
        }
        // Every shard, merged: planned now (a rewrite this statement needs only when its keys
        // fall on several shards).
        sql::ShardingView view = sharding_->view();
        view.keyed_fallback = true;
        plan = std::make_shared<const sql::ShardPlan>(sql::plan_shard_statement(text, view));
        if (plan->shard_sql.empty() && !plan->refusal.empty()) {
            return refusal(plan->refusal + " is not supported across shards");
        }
        Target target;
        target.kind = Target::Kind::All;
        target.plan = std::move(plan);
        return target;
    }
    return found ? one(*found) : any();
}

ShardTarget ClientSession::unit_target(const wire::Frame& first, std::span<const std::uint8_t> rest,
                                       std::size_t max_message, bool& complete) {
    complete = true;
    if (first.type == wire::frontend::kQuery) {
        auto text = wire::parse_query(first);
        return text ? statement_target(*text, nullptr, nullptr, {}) : any();
    }
    Target combined = any();
    std::string_view unnamed_text = unnamed_query_;
    std::span<const std::uint8_t> unnamed_types = unnamed_types_;
    // A batch of keyed writes of one statement over several shards (asyncpg's executemany) can
    // run as one all-or-nothing unit per shard: each Bind's shard, while that stays possible.
    std::vector<std::size_t> pair_shards;
    bool pairs = held_begin_.empty();
    bool conflict = false;
    std::string_view pairs_text;
    auto note_pair = [&](const Target& target, std::string_view text) {
        if (!pairs) {
            return;
        }
        if (target.kind != Target::Kind::One || (!pairs_text.empty() && text != pairs_text)) {
            pairs = false;
            return;
        }
        pairs_text = text;
        pair_shards.push_back(target.shard);
    };
    auto finish = [&]() -> Target {
        if (combined.kind == Target::Kind::Refuse && conflict && pairs && pair_shards.size() > 1) {
            // Only keyed writes can be split this way (planned again only now: rare).
            std::shared_ptr<const sql::ShardPlan> plan = shard_plan(pairs_text);
            if (!plan->writes ||
                (plan->scope != sql::ShardScope::Keyed && plan->scope != sql::ShardScope::Split)) {
                return combined;
            }
            Target target;
            target.kind = Target::Kind::All;
            target.plan = std::move(plan);
            target.pair_shards = std::move(pair_shards);
            return target;
        }
        return combined;
    };
    auto combine = [&](Target next) {
        if (combined.kind == Target::Kind::Refuse || next.kind == Target::Kind::Any) {
            return;
        }
        if (combined.kind == Target::Kind::Any || next.kind == Target::Kind::Refuse) {
            combined = std::move(next);
            return;
        }
        if (combined.kind == Target::Kind::One && next.kind == Target::Kind::One) {
            if (combined.shard != next.shard) {
                conflict = combined.kind == Target::Kind::One;
                combined = refusal("one batch of statements (up to its Sync) on " +
                                   shard_name(combined.shard) + " and " + shard_name(next.shard));
            }
            return;
        }
        combined = refusal(
            "a batch (up to its Sync) with a statement over every shard and another "
            "statement");
    };
    const wire::Frame* frame = &first;
    wire::DecodeResult next{};
    std::size_t offset = 0;
    for (;;) {
        switch (frame->type) {
            case wire::frontend::kParse:
                if (auto parse = wire::parse_parse(*frame); parse && parse->statement.empty()) {
                    unnamed_text = parse->query;
                    unnamed_types = parse->param_types;
                }
                break;  // preparing runs nowhere in particular: the Bind decides
            case wire::frontend::kBind:
                if (auto bind = wire::parse_bind(*frame)) {
                    if (bind->statement.empty()) {
                        Target target =
                            statement_target(unnamed_text, frame, nullptr, unnamed_types);
                        note_pair(target, unnamed_text);
                        combine(std::move(target));
                    } else if (const PreparedStatement* prepared =
                                   statements_.find(bind->statement)) {
                        Target target = statement_target(prepared->query, frame, prepared,
                                                         prepared->param_types);
                        note_pair(target, prepared->query);
                        combine(std::move(target));
                    } else {
                        pairs = false;
                    }
                }
                break;
            case wire::frontend::kSync:
                return finish();
            case wire::frontend::kQuery:
            case wire::frontend::kFlush:  // the client waits for replies before going on
                return combined;
            case wire::frontend::kExecute:
                break;
            default:
                // psycopg's executemany repeats Parse and Describe per row (pipeline mode).
                pairs = pairs && (frame->type == wire::frontend::kParse ||
                                  frame->type == wire::frontend::kDescribe);
                break;
        }
        if (offset >= rest.size()) {
            complete = false;
            return combined;
        }
        next = wire::decode_frame(rest.subspan(offset), max_message);
        if (next.status != wire::DecodeStatus::Complete) {
            complete = next.status != wire::DecodeStatus::NeedMore;
            return combined;
        }
        offset += next.frame.bytes.size();
        frame = &next.frame;
    }
}

void ClientSession::check_shard(const wire::Frame& frame, const Request& request) {
    Target target;
    if (request.type == wire::frontend::kQuery) {
        target = statement_target(request.text, nullptr, nullptr, {});
    } else if (request.prepared != nullptr) {
        target = statement_target(request.prepared->query, &frame, request.prepared,
                                  request.prepared->param_types);
    } else if (request.name.empty()) {
        target = statement_target(unnamed_query_, &frame, nullptr, unnamed_types_);
    }
    switch (target.kind) {
        case Target::Kind::Any:
            return;
        case Target::Kind::One:
            if (target.shard == shard_) {
                return;
            }
            shard_refusal_ = "pgrouter: a transaction on " + shard_name(shard_) +
                             " cannot run a statement on " + shard_name(target.shard) +
                             " (a transaction stays on one shard)";
            return;
        case Target::Kind::All:
            shard_refusal_ = "pgrouter: a statement over every shard inside a transaction on " +
                             shard_name(shard_) + " is not supported";
            return;
        case Target::Kind::Refuse:
            shard_refusal_ = "pgrouter: " + target.message;
            return;
    }
}

bool ClientSession::answer_unit_locally(const Request& first, std::span<const std::uint8_t> unit,
                                        std::size_t max_message, std::size_t& consumed) {
    // A transaction on a sharded database is held until its first statement picks a shard: an
    // extended-protocol BEGIN alone in its unit (psycopg, asyncpg, node-postgres send one) is
    // answered here, as a Query BEGIN is in answer_locally().
    if (sharding_ == nullptr || attached() != nullptr || !transaction_mode_ || pinned_ ||
        first.type != wire::frontend::kParse || !first.name.empty() ||
        first.classification == nullptr || first.classification->statements.size() != 1) {
        return false;
    }
    const bool begin = held_begin_.empty() && !held_failed_ && first.begin;
    const bool ends = !held_begin_.empty() && first.ends_tx;
    const bool aborted = held_failed_ && !first.ends_tx;
    if (!begin && !ends && !aborted) {
        return false;
    }
    std::vector<wire::Frame> messages;
    std::size_t size = 0;
    for (;;) {
        wire::DecodeResult r = wire::decode_frame(unit.subspan(size), max_message);
        if (r.status != wire::DecodeStatus::Complete) {
            return false;
        }
        size += r.frame.bytes.size();
        const char type = r.frame.type;
        if (type == wire::frontend::kBind) {
            auto bind = wire::parse_bind(r.frame);
            if (!bind || !bind->statement.empty() || !bind->portal.empty()) {
                return false;
            }
        } else if (type == wire::frontend::kParse
                       ? !messages.empty()
                       : type != wire::frontend::kDescribe && type != wire::frontend::kExecute &&
                             type != wire::frontend::kSync) {
            return false;
        }
        messages.push_back(r.frame);
        if (type == wire::frontend::kSync) {
            break;
        }
    }
    wire::MessageWriter writer(replies_);
    if (aborted) {
        writer.error_response("ERROR", "25P02",
                              "current transaction is aborted, commands ignored until end of "
                              "transaction block");
        writer.ready_for_query('E');
        consumed = size;
        return true;
    }
    std::string tag = "BEGIN";
    char status = 'T';
    if (ends) {
        const bool commit =
            first.classification->statements.front().kind == sql::StatementKind::Commit;
        tag = commit && !held_failed_ ? "COMMIT" : "ROLLBACK";
        status = 'I';
        held_begin_.clear();
        held_failed_ = false;
    } else {
        held_begin_.assign(first.text);
    }
    unnamed_query_.assign(first.text);
    unnamed_types_.clear();
    for (const wire::Frame& message : messages) {
        switch (message.type) {
            case wire::frontend::kParse:
                writer.parse_complete();
                break;
            case wire::frontend::kBind:
                writer.bind_complete();
                break;
            case wire::frontend::kDescribe:
                if (auto d = wire::parse_describe(message); d && d->kind == 'S') {
                    std::vector<std::uint8_t> none{'t', 0, 0, 0, 6, 0, 0};
                    replies_.insert(replies_.end(), none.begin(), none.end());
                }
                writer.no_data();
                break;
            case wire::frontend::kExecute:
                writer.command_complete(tag);
                break;
            default:
                writer.ready_for_query(status);
                break;
        }
    }
    consumed = size;
    return true;
}

void ClientSession::end_prepare_only_batch(char type) {
    switch (type) {
        case wire::frontend::kBind:
        case wire::frontend::kExecute:
            batch_bound_ = true;
            return;
        case wire::frontend::kSync:
        case wire::frontend::kQuery:
            batch_bound_ = false;
            return;
        case wire::frontend::kFlush:
            break;
        default:
            return;
    }
    link::ServerLink* link = attached();
    if (batch_bound_ || link == nullptr || link->explicit_tx || !link->tx().batch_open()) {
        return;
    }
    const std::size_t mark = link->out().own_mark();
    wire::MessageWriter(link->out().own()).sync();
    link->out().commit_own(mark);
    link->responses().push(backend::ResponseQueue::Kind::Sync, true);
    link->tx().on_client_message(wire::frontend::kSync);
}

ClientSession::ShardStep ClientSession::route_unit(const Request& request, const wire::Frame& frame,
                                                   std::span<const std::uint8_t> data,
                                                   std::size_t at, std::size_t max_message) {
    // Not a coroutine: a frame per unit would cost the keyed path more than the routing itself.
    ShardStep step;
    step.action = ShardStep::Action::Done;
    if (answer_unit_locally(request, data.subspan(at), max_message, step.consumed)) {
        return step;
    }
    bool complete = true;
    step.target = unit_target(frame, data.subspan(at + frame.bytes.size()), max_message, complete);
    const ShardTarget& target = step.target;
    if (!complete && data.size() < kUnitLookahead) {
        unit_incomplete_ = true;  // serve() reads the rest of the unit first
        step.action = ShardStep::Action::Stop;
        return step;
    }
    if (target.kind == ShardTarget::Kind::Refuse) {
        refuse(request, wire::sqlstate::kFeatureNotSupported, "pgrouter: " + target.message);
        step.consumed = frame.bytes.size();
        return step;
    }
    if (target.kind == ShardTarget::Kind::All && target.plan->scope == sql::ShardScope::Split &&
        target.plan->rows.empty()) {
        step.consumed = frame.bytes.size();
        if (request.type != wire::frontend::kQuery) {
            refuse(request, wire::sqlstate::kFeatureNotSupported,
                   "pgrouter: COPY into a sharded table through the extended protocol is not "
                   "supported across shards");
            return step;
        }
        copy_split_query_.assign(request.text);  // copy_in_split() takes over after the batch
        step.action = ShardStep::Action::Stop;
        return step;
    }
    if (target.kind == ShardTarget::Kind::All) {
        step.action = ShardStep::Action::FanOut;  // handle_batch() awaits it
        return step;
    }
    if (target.kind == ShardTarget::Kind::One) {
        switch_shard(target.shard);
    }
    step.action = ShardStep::Action::Attach;
    return step;
}

}  // namespace pgrouter::session
