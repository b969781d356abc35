// pgrouter/config/load_routing.cpp — reads the keys of issue 7 (streaming replicas): a database's
// replicas, the global and per-database routing blocks, and health_check_user. Shapes and
// types only; the value rules (minimums, duplicates) are in validate.cpp.
#include <string>
#include <vector>

#include "address_parse.hpp"
#include "parser.hpp"

namespace pgrouter::config::detail {

void Parser::parse_routing(const Field& field, RoutingConfig& out) {
    const std::optional<Section> routing = section(
        field.value, field.path, field.line,
        {"read_from", "balance", "transactions", "pin_after_write_ms", "consistency",
         "consistency_scope", "consistency_keys", "max_replica_lag_ms", "health_check_interval_ms",
         "circuit_breaker", "write_functions", "catalog_refresh_interval_ms"},
        true);
    if (!routing) {
        return;
    }
    read_enum(
        *routing, "read_from", out.read_from,
        {{"replicas", ReadFrom::Replicas}, {"primary", ReadFrom::Primary}, {"any", ReadFrom::Any}});
    read_enum(*routing, "balance", out.balance,
              {{"round_robin", Balance::RoundRobin}, {"least_busy", Balance::LeastBusy}});
    read_enum(*routing, "transactions", out.transactions,
              {{"primary", TransactionRouting::Primary},
               {"by_first_statement", TransactionRouting::ByFirstStatement}});
    read_duration(*routing, "pin_after_write_ms", out.pin_after_write);
    read_enum(*routing, "consistency", out.consistency,
              {{"window", Consistency::Window}, {"lsn", Consistency::Lsn}});
    read_enum(*routing, "consistency_scope", out.consistency_scope,
              {{"connection", ConsistencyScope::Connection},
               {"user", ConsistencyScope::User},
               {"key", ConsistencyScope::Key}});
    read_uint(*routing, "consistency_keys", out.consistency_keys);
    read_duration(*routing, "max_replica_lag_ms", out.max_replica_lag);
    read_duration(*routing, "health_check_interval_ms", out.health_check_interval);
    if (const Field* breaker = routing->find("circuit_breaker")) {
        parse_circuit_breaker(*breaker, out.circuit_breaker);
    }
    if (const Field* functions = routing->find("write_functions")) {
        parse_write_functions(*functions, out.write_functions);
    }
    read_duration(*routing, "catalog_refresh_interval_ms", out.catalog_refresh_interval);
}

void Parser::parse_circuit_breaker(const Field& field, CircuitBreakerConfig& out) {
    const std::optional<Section> breaker =
        section(field.value, field.path, field.line, {"failures", "open_ms"}, true);
    if (!breaker) {
        return;
    }
    read_uint(*breaker, "failures", out.failures);
    read_duration(*breaker, "open_ms", out.open);
}

void Parser::parse_write_functions(const Field& field, std::vector<std::string>& out) {
    if (field.value.IsNull()) {
        out.clear();  // `write_functions:` with nothing after it: an empty list
        return;
    }
    if (!field.value.IsSequence()) {
        error(field.path, field.line,
              "expected a list of function names, " + describe(field.value));
        return;
    }
    // A database's list replaces the global one rather than adding to it, like every other key.
    std::vector<std::string> names;
    std::size_t index = 0;
    for (const YAML::Node& item : field.value) {
        const std::string path = field.path + "[" + std::to_string(index++) + "]";
        const int line = item_line(item, field.line);
        source_.record(path, line);
        std::string& name = names.emplace_back();
        if (!item.IsScalar()) {
            error(path, line, "expected a function name, " + describe(item));
            continue;
        }
        // PostgreSQL folds unquoted identifiers to lower case, and the classifier matches so.
        name = lower_case(item.Scalar());
    }
    out = std::move(names);
}

void Parser::parse_replicas(const Field& field, std::vector<Address>& out) {
    if (field.value.IsNull()) {
        return;  // `replicas:` with nothing after it: none
    }
    if (!field.value.IsSequence()) {
        error(field.path, field.line,
              "expected a list of \"host:port\" addresses, " + describe(field.value));
        return;
    }
    std::size_t index = 0;
    for (const YAML::Node& item : field.value) {
        const std::string path = field.path + "[" + std::to_string(index++) + "]";
        const int line = item_line(item, field.line);
        source_.record(path, line);
        Address& address = out.emplace_back();
        std::string reason;
        std::optional<Address> parsed;
        if (item.IsScalar()) {
            parsed = parse_address_with_reason(item.Scalar(), reason);
        }
        if (!parsed) {
            error(path, line,
                  "expected \"host:port\", " + describe(item) +
                      (reason.empty() ? "" : " (" + reason + ")"));
            continue;
        }
        address = *parsed;
    }
}

void Parser::parse_health_check_user(const Section& top) {
    if (const Field* field = top.find("health_check_user")) {
        if (read_string(top, "health_check_user", config_.health_check_user) &&
            config_.health_check_user.empty()) {
            error(field->path, field->line,
                  "must name one of the users (leave the key out for the first user with a "
                  "server credential)");
        }
        return;
    }
    config_.health_check_user = default_health_check_user(config_);
}

}  // namespace pgrouter::config::detail
