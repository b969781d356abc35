// tests/support/extended_query.hpp — helpers for the extended query protocol in integration tests:
// libpq prepare/execute/describe sent asynchronously and read with a deadline, and exact
// Parse/Bind/Execute/Sync bytes for RawClient. Header-only; knows nothing about pgrouter.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include <libpq-fe.h>

#include "support/bytes.hpp"
#include "support/libpq_client.hpp"
#include "support/raw_client.hpp"
#include "support/test_util.hpp"

namespace pgrouter::test {

inline constexpr std::chrono::milliseconds kProtocolTimeout{30000};
inline constexpr Oid kInt4Oid = 23;

// ---- libpq ----

inline Rows result_rows(const PGresult* res) {
    Rows rows;
    for (int r = 0; r < PQntuples(res); ++r) {
        Row row;
        for (int c = 0; c < PQnfields(res); ++c) {
            if (PQgetisnull(res, r, c)) {
                row.emplace_back(std::nullopt);
            } else {
                row.emplace_back(std::string(PQgetvalue(res, r, c)));
            }
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

// Reads every result of the command just sent (`sent` = what PQsend* returned, true for 1), up
// to the NULL that ends it. The first error wins; rows are those of the last row result.
inline ExecResult collect(PGconn* c, bool sent,
                          std::chrono::milliseconds timeout = kProtocolTimeout) {
    ExecResult out;
    if (!sent) {
        out.message = PQerrorMessage(c);
        return out;
    }
    out.ok = true;
    for (;;) {
        bool timed_out = false;
        PgResult res = next_result(c, timeout, &timed_out);
        if (timed_out) {
            out.ok = false;
            out.sqlstate = "TIMEOUT";
            out.message = "no complete reply";
            return out;
        }
        if (!res) {
            return out;
        }
        const ExecStatusType status = PQresultStatus(res.get());
        if (status == PGRES_TUPLES_OK) {
            out.rows = result_rows(res.get());
        } else if (status != PGRES_COMMAND_OK && status != PGRES_EMPTY_QUERY && out.ok) {
            out.ok = false;
            const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
            const char* primary = PQresultErrorField(res.get(), PG_DIAG_MESSAGE_PRIMARY);
            out.sqlstate = state != nullptr ? state : "";
            out.message = primary != nullptr ? primary : PQresultErrorMessage(res.get());
        }
    }
}

inline ExecResult prepare(PGconn* c, const std::string& name, const std::string& sql,
                          int n_params = 0, const Oid* types = nullptr) {
    return collect(c, PQsendPrepare(c, name.c_str(), sql.c_str(), n_params, types) == 1);
}

inline ExecResult exec_prepared(PGconn* c, const std::string& name,
                                const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const std::string& p : params) {
        values.push_back(p.c_str());
    }
    return collect(c, PQsendQueryPrepared(c, name.c_str(), static_cast<int>(values.size()),
                                          values.data(), nullptr, nullptr, 0) == 1);
}

// Extended protocol with an unnamed statement (Parse/Bind/Describe/Execute/Sync).
inline ExecResult exec_params(PGconn* c, const std::string& sql,
                              const std::vector<std::string>& params = {}) {
    std::vector<const char*> values;
    for (const std::string& p : params) {
        values.push_back(p.c_str());
    }
    return collect(c, PQsendQueryParams(c, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                        values.data(), nullptr, nullptr, 0) == 1);
}

struct Described {
    ExecResult result;
    int n_params = -1;
    int n_fields = -1;
};

inline Described describe_prepared(PGconn* c, const std::string& name) {
    Described out;
    if (PQsendDescribePrepared(c, name.c_str()) != 1) {
        out.result.message = PQerrorMessage(c);
        return out;
    }
    bool timed_out = false;
    PgResult res = next_result(c, kProtocolTimeout, &timed_out);
    if (!res) {
        out.result.sqlstate = timed_out ? "TIMEOUT" : "";
        out.result.message = "no result to Describe";
        return out;
    }
    out.result.ok = PQresultStatus(res.get()) == PGRES_COMMAND_OK;
    if (out.result.ok) {
        out.n_params = PQnparams(res.get());
        out.n_fields = PQnfields(res.get());
    } else {
        const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
        out.result.sqlstate = state != nullptr ? state : "";
        out.result.message = PQresultErrorMessage(res.get());
    }
    if (next_result(c, kProtocolTimeout)) {
        out.result.ok = false;
        out.result.message = "more than one result to Describe";
    }
    return out;
}

// "ok 1|2" / "error 42P05": one comparable line per result.
inline std::string outcome(const ExecResult& r) {
    if (!r.ok) {
        return "error " + (r.sqlstate.empty() ? "(none): " + r.message : r.sqlstate);
    }
    std::string rows = format_rows(r.rows);
    if (!rows.empty() && rows.back() == '\n') {
        rows.pop_back();
    }
    return "ok " + rows;
}

// One value of the result, or "<outcome>" when there is none (so a comparison fails readably).
inline std::string cell(const ExecResult& r, std::size_t row = 0, std::size_t col = 0) {
    if (!r.ok || r.rows.size() <= row || r.rows[row].size() <= col || !r.rows[row][col]) {
        std::string text = "<";  // appended: GCC 12's -Wrestrict misreads "<" + std::string
        text.append(outcome(r)).append(">");
        return text;
    }
    return *r.rows[row][col];
}

// PQtransactionStatus as the ReadyForQuery letter: 'I', 'T', 'E' ('?' otherwise).
inline char tx_status(PGconn* c) {
    switch (PQtransactionStatus(c)) {
        case PQTRANS_IDLE:
            return 'I';
        case PQTRANS_INTRANS:
            return 'T';
        case PQTRANS_INERROR:
            return 'E';
        default:
            return '?';
    }
}

// ---- raw messages ----

inline std::string parse_msg(std::string_view name, std::string_view sql) {
    return text(msg('P', cstr(name) + cstr(sql) + be16(0)));
}

// Text parameters, text results.
inline std::string bind_msg(std::string_view portal, std::string_view statement,
                            const std::vector<std::string>& params = {}) {
    std::string body = cstr(portal) + cstr(statement) + be16(0);
    body += be16(static_cast<std::uint16_t>(params.size()));
    for (const std::string& p : params) {
        body += be32(static_cast<std::uint32_t>(p.size())) + p;
    }
    body += be16(0);
    return text(msg('B', body));
}

inline std::string execute_msg(std::string_view portal, std::uint32_t max_rows = 0) {
    return text(msg('E', cstr(portal) + be32(max_rows)));
}

inline std::string describe_msg(char kind, std::string_view name) {
    return text(msg('D', std::string(1, kind) + cstr(name)));
}

inline std::string close_msg(char kind, std::string_view name) {
    return text(msg('C', std::string(1, kind) + cstr(name)));
}

inline std::string sync_msg() {
    return text(msg('S', ""));
}

inline std::string query_msg(std::string_view sql) {
    return text(msg('Q', cstr(sql)));
}

// Sends `bytes` and reads until `readies` ReadyForQuery messages have arrived (or the deadline).
inline std::vector<RawMessage> round_trip(RawClient& raw, const std::string& bytes,
                                          int readies = 1) {
    std::vector<RawMessage> out;
    if (!raw.send(bytes)) {
        return out;
    }
    const auto deadline = std::chrono::steady_clock::now() + kProtocolTimeout;
    int seen = 0;
    while (seen < readies && !raw.closed() && std::chrono::steady_clock::now() < deadline) {
        for (RawMessage& m : raw.read_messages(std::chrono::milliseconds(1000), 'Z')) {
            seen += m.type == 'Z' ? 1 : 0;
            out.push_back(std::move(m));
        }
    }
    return out;
}

// The message type letters in order, e.g. "12DCZ".
inline std::string types_of(const std::vector<RawMessage>& messages) {
    std::string out;
    for (const RawMessage& m : messages) {
        out.push_back(m.type);
    }
    return out;
}

// First column of every DataRow, as text ("NULL" for SQL NULL).
inline std::vector<std::string> first_column(const std::vector<RawMessage>& messages) {
    std::vector<std::string> out;
    for (const RawMessage& m : messages) {
        if (m.type != 'D' || m.body.size() < 6) {
            continue;
        }
        const auto* b = reinterpret_cast<const unsigned char*>(m.body.data());
        const std::uint32_t len = (std::uint32_t{b[2]} << 24) | (std::uint32_t{b[3]} << 16) |
                                  (std::uint32_t{b[4]} << 8) | std::uint32_t{b[5]};
        out.push_back(len == 0xffffffffu ? "NULL" : m.body.substr(6, len));
    }
    return out;
}

inline std::string first_sqlstate(const std::vector<RawMessage>& messages) {
    for (const RawMessage& m : messages) {
        if (m.type == 'E') {
            return error_field(m, 'C');
        }
    }
    return "";
}

// Transaction status of the last message when it is a ReadyForQuery, else '?'.
inline char ready_status(const std::vector<RawMessage>& messages) {
    return messages.empty() || messages.back().type != 'Z' || messages.back().body.empty()
               ? '?'
               : messages.back().body[0];
}

}  // namespace pgrouter::test
