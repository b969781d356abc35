// src/probe/probe_conn.cpp — the non-blocking libpq connection of the prober (see header).
#include "probe_conn.hpp"

namespace pgrouter::probe {

namespace {

// libpq messages end in a newline and may span lines ("...failed: Connection refused\n\tIs the
// server running..."): one log line each.
std::string trimmed(const char* message) {
    std::string out;
    bool space = false;
    for (const char* c = message == nullptr ? "" : message; *c != '\0'; ++c) {
        if (*c == '\n' || *c == '\t' || *c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) {
            out += ' ';
            space = false;
        }
        out += *c;
    }
    return out.empty() ? "unknown libpq error" : out;
}

}  // namespace

bool ProbeConn::connect(const Params& params) {
    close();
    error_.clear();
    const char* keys[] = {"host",    "port",       "dbname",           "user", "password",
                          "sslmode", "gssencmode", "application_name", nullptr};
    const char* values[] = {params.host.c_str(), params.port.c_str(),     params.dbname.c_str(),
                            params.user.c_str(), params.password.c_str(), "prefer",
                            "disable",           "pgrouter-probe",        nullptr};
    conn_ = PQconnectStartParams(keys, values, 0);
    if (conn_ == nullptr) {
        error_ = "out of memory";
        return false;
    }
    if (PQstatus(conn_) == CONNECTION_BAD) {
        fail(trimmed(PQerrorMessage(conn_)));
        return false;
    }
    // Notices and a server's FATAL at shutdown would go to stderr; failures reach us as values.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    state_ = State::Connecting;
    events_ = POLLOUT;  // libpq: before the first PQconnectPoll, act as if it said WRITING
    return true;
}

bool ProbeConn::send(const char* sql) {
    if (state_ != State::Idle) {
        error_ = "connection not ready";
        return false;
    }
    rows_.clear();
    query_failed_ = false;
    if (PQsendQuery(conn_, sql) != 1) {
        fail(trimmed(PQerrorMessage(conn_)));
        return false;
    }
    state_ = State::Busy;
    return flush() != Step::Failed;
}

int ProbeConn::fd() const noexcept {
    return conn_ == nullptr ? -1 : PQsocket(conn_);
}

ProbeConn::Step ProbeConn::advance() {
    switch (state_) {
        case State::Connecting:
            return advance_connect();
        case State::Busy:
            return advance_query();
        case State::Idle:
            // Nothing is expected: either a notice or the server going away.
            if (PQconsumeInput(conn_) != 1 || PQstatus(conn_) == CONNECTION_BAD) {
                return fail(trimmed(PQerrorMessage(conn_)));
            }
            while (PGnotify* notify = PQnotifies(conn_)) {
                PQfreemem(notify);
            }
            return Step::Pending;
        case State::Closed:
            return Step::Failed;
    }
    return Step::Failed;
}

ProbeConn::Step ProbeConn::advance_connect() {
    switch (PQconnectPoll(conn_)) {
        case PGRES_POLLING_READING:
            events_ = POLLIN;
            return Step::Pending;
        case PGRES_POLLING_WRITING:
            events_ = POLLOUT;
            return Step::Pending;
        case PGRES_POLLING_OK:
            if (PQsetnonblocking(conn_, 1) != 0) {
                return fail(trimmed(PQerrorMessage(conn_)));
            }
            state_ = State::Idle;
            events_ = POLLIN;
            return Step::Done;
        default:
            return fail(trimmed(PQerrorMessage(conn_)));
    }
}

ProbeConn::Step ProbeConn::flush() {
    int flushed = PQflush(conn_);
    if (flushed < 0) {
        return fail(trimmed(PQerrorMessage(conn_)));
    }
    events_ = flushed == 1 ? POLLIN | POLLOUT : POLLIN;
    return Step::Pending;
}

ProbeConn::Step ProbeConn::advance_query() {
    if ((events_ & POLLOUT) != 0 && flush() == Step::Failed) {
        return Step::Failed;
    }
    if (PQconsumeInput(conn_) != 1) {
        return fail(trimmed(PQerrorMessage(conn_)));
    }
    while (PQisBusy(conn_) == 0) {
        PGresult* result = PQgetResult(conn_);
        if (result == nullptr) {
            state_ = State::Idle;
            events_ = POLLIN;
            if (query_failed_) {
                return Step::Failed;  // error_ holds the server's message; the connection lives
            }
            return Step::Done;
        }
        ExecStatusType status = PQresultStatus(result);
        if (status == PGRES_TUPLES_OK) {
            rows_.clear();
            int columns = PQnfields(result);
            for (int r = 0; r < PQntuples(result); ++r) {
                Row row;
                row.reserve(static_cast<std::size_t>(columns));
                for (int c = 0; c < columns; ++c) {
                    if (PQgetisnull(result, r, c) != 0) {
                        row.emplace_back(std::nullopt);
                    } else {
                        row.emplace_back(
                            std::string(PQgetvalue(result, r, c),
                                        static_cast<std::size_t>(PQgetlength(result, r, c))));
                    }
                }
                rows_.push_back(std::move(row));
            }
        } else if (status != PGRES_COMMAND_OK && !query_failed_) {
            query_failed_ = true;
            error_ = trimmed(PQresultErrorMessage(result));
        }
        PQclear(result);
        if (PQstatus(conn_) == CONNECTION_BAD) {
            return fail(error_.empty() ? trimmed(PQerrorMessage(conn_)) : error_);
        }
    }
    return Step::Pending;
}

ProbeConn::Step ProbeConn::fail(std::string message) {
    error_ = std::move(message);
    close();
    return Step::Failed;
}

void ProbeConn::close() noexcept {
    if (conn_ != nullptr) {
        // Non-blocking (after connect) or not yet sending: PQfinish never waits on the server.
        PQfinish(conn_);
        conn_ = nullptr;
    }
    state_ = State::Closed;
    events_ = 0;
}

}  // namespace pgrouter::probe
