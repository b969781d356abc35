// src/probe/probe_conn.hpp — one libpq connection driven without ever blocking: connect with
// PQconnectStartParams/PQconnectPoll, one query at a time with PQsendQuery, replies with
// PQconsumeInput/PQisBusy. The owner polls fd() for events() and calls advance() when the socket
// is ready; deadlines are the owner's business. Private to src/probe.
#pragma once

#include <poll.h>

#include <optional>
#include <string>
#include <vector>

#include <libpq-fe.h>

namespace pgrouter::probe {

using Row = std::vector<std::optional<std::string>>;  // nullopt = SQL NULL

class ProbeConn {
public:
    enum class State { Closed, Connecting, Idle, Busy };
    enum class Step { Pending, Done, Failed };

    struct Params {
        std::string host;
        std::string port;
        std::string dbname;
        std::string user;
        std::string password;
    };

    ProbeConn() = default;
    ~ProbeConn() { close(); }
    ProbeConn(const ProbeConn&) = delete;
    ProbeConn& operator=(const ProbeConn&) = delete;

    // Starts a connection (Connecting). False (and error()) when libpq refuses at once.
    bool connect(const Params& params);
    // Sends one query on an Idle connection (Busy). False (and error()) when it cannot be sent.
    bool send(const char* sql);
    // Drives the connection after poll() said fd() is ready (or to flush). Connecting: Done once
    // connected (Idle). Busy: Done once every result arrived (Idle; rows() holds the last result
    // with rows), Failed on an error reply or a broken connection. Idle: checks for a server that
    // closed the connection (Failed, then Closed).
    Step advance();
    void close() noexcept;

    State state() const noexcept { return state_; }
    int fd() const noexcept;
    short events() const noexcept { return events_; }
    const std::string& error() const noexcept { return error_; }
    const std::vector<Row>& rows() const noexcept { return rows_; }

private:
    Step fail(std::string message);
    Step advance_connect();
    Step advance_query();
    Step flush();

    PGconn* conn_ = nullptr;
    State state_ = State::Closed;
    short events_ = 0;
    bool query_failed_ = false;
    std::string error_;
    std::vector<Row> rows_;
};

}  // namespace pgrouter::probe
