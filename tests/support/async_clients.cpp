// tests/support/async_clients.cpp — one poll() loop per thread over its share of the clients; each
// client is a small state machine (connecting -> waiting -> sending -> reading -> ...).
#include "support/async_clients.hpp"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

namespace pgrouter::test {
namespace {

using Clock = std::chrono::steady_clock;

enum class State { Pending, Connecting, Waiting, Ready, Sending, Reading, Done, Failed };

struct Slot {
    std::size_t index = 0;
    ScriptedClient* script = nullptr;
    PGconn* conn = nullptr;
    State state = State::Pending;
    PostgresPollingStatusType connect_poll = PGRES_POLLING_WRITING;
    std::size_t step = 0;
    ExecResult reply;
    bool reply_has_error = false;
};

struct Shared {
    std::size_t total = 0;
    std::atomic<std::size_t> connect_settled{0};  // connected or failed to connect
    std::atomic<std::size_t> connected_now{0};
    std::atomic<std::size_t> max_connected{0};
    std::atomic<std::size_t> finished{0};
    std::atomic<std::size_t> failed{0};
    std::mutex mutex;
    std::vector<std::string> failures;
};

std::string trimmed(const char* text) {
    std::string s = text != nullptr ? text : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

class Runner {
public:
    Runner(std::vector<Slot*> slots, Shared& shared, const AsyncRunOptions& options,
           Clock::time_point deadline)
        : slots_(std::move(slots)), shared_(shared), options_(options), deadline_(deadline) {}

    bool run() {
        std::deque<Slot*> pending(slots_.begin(), slots_.end());
        std::vector<pollfd> fds;
        std::vector<Slot*> polled;
        for (;;) {
            int connecting = 0;
            bool active = false;
            for (Slot* s : slots_) {
                connecting += s->state == State::Connecting ? 1 : 0;
                active = active || (s->state != State::Done && s->state != State::Failed);
            }
            if (!active) {
                return true;
            }
            if (Clock::now() >= deadline_) {
                return false;
            }
            while (connecting < options_.max_connecting_per_thread && !pending.empty()) {
                start_connect(pending.front());
                pending.pop_front();
                ++connecting;
            }
            const bool all_settled = shared_.connect_settled.load() == shared_.total;
            for (Slot* s : slots_) {
                if (s->state == State::Waiting && (all_settled || !options_.wait_all_connected)) {
                    s->state = State::Ready;
                }
                if (s->state == State::Ready) {
                    send_next(s);
                }
            }
            fds.clear();
            polled.clear();
            for (Slot* s : slots_) {
                short events = 0;
                if (s->state == State::Connecting) {
                    events = s->connect_poll == PGRES_POLLING_READING ? POLLIN : POLLOUT;
                } else if (s->state == State::Sending) {
                    events = POLLIN | POLLOUT;
                } else if (s->state == State::Reading) {
                    events = POLLIN;
                }
                if (events != 0) {
                    fds.push_back(pollfd{PQsocket(s->conn), events, 0});
                    polled.push_back(s);
                }
            }
            const int n = ::poll(fds.data(), fds.size(), 20);
            if (n <= 0) {
                continue;
            }
            for (std::size_t i = 0; i < fds.size(); ++i) {
                if (fds[i].revents != 0) {
                    on_ready(polled[i]);
                }
            }
        }
    }

private:
    void fail(Slot* s, const std::string& why) {
        const bool was_connecting = s->state == State::Connecting || s->state == State::Pending;
        if (s->state == State::Waiting || s->state == State::Ready || s->state == State::Sending ||
            s->state == State::Reading || s->state == State::Done) {
            shared_.connected_now.fetch_sub(1);
        }
        s->state = State::Failed;
        shared_.failed.fetch_add(1);
        if (was_connecting) {
            shared_.connect_settled.fetch_add(1);
        }
        std::lock_guard lock(shared_.mutex);
        if (shared_.failures.size() < 20) {
            shared_.failures.push_back("client " + std::to_string(s->index) + " step " +
                                       std::to_string(s->step) + ": " + why);
        }
    }

    void start_connect(Slot* s) {
        s->conn = PQconnectStart(s->script->conninfo().c_str());
        s->state = State::Connecting;
        if (s->conn == nullptr || PQstatus(s->conn) == CONNECTION_BAD) {
            fail(s, "connect: " + trimmed(s->conn ? PQerrorMessage(s->conn) : "out of memory"));
            return;
        }
        s->connect_poll = PGRES_POLLING_WRITING;
    }

    void send_next(Slot* s) {
        std::optional<std::string> sql = s->script->statement(s->step);
        if (!sql) {
            s->state = State::Done;
            shared_.finished.fetch_add(1);
            return;
        }
        s->reply = ExecResult{};
        s->reply.ok = true;
        s->reply_has_error = false;
        if (PQsendQuery(s->conn, sql->c_str()) == 0) {
            fail(s, "send: " + trimmed(PQerrorMessage(s->conn)));
            return;
        }
        flush(s);
    }

    void flush(Slot* s) {
        const int r = PQflush(s->conn);
        if (r < 0) {
            fail(s, "flush: " + trimmed(PQerrorMessage(s->conn)));
        } else {
            s->state = r == 0 ? State::Reading : State::Sending;
        }
    }

    void on_ready(Slot* s) {
        switch (s->state) {
            case State::Connecting:
                on_connect_progress(s);
                break;
            case State::Sending:
                if (PQconsumeInput(s->conn) == 0) {
                    collect(s);
                    break;
                }
                flush(s);
                if (s->state == State::Reading) {
                    collect(s);
                }
                break;
            case State::Reading:
                PQconsumeInput(s->conn);  // on failure PQgetResult reports the lost connection
                collect(s);
                break;
            default:
                break;
        }
    }

    void on_connect_progress(Slot* s) {
        s->connect_poll = PQconnectPoll(s->conn);
        if (s->connect_poll == PGRES_POLLING_FAILED) {
            fail(s, "connect: " + trimmed(PQerrorMessage(s->conn)));
        } else if (s->connect_poll == PGRES_POLLING_OK) {
            PQsetnonblocking(s->conn, 1);
            shared_.connect_settled.fetch_add(1);
            const std::size_t now = shared_.connected_now.fetch_add(1) + 1;
            std::size_t seen = shared_.max_connected.load();
            while (now > seen && !shared_.max_connected.compare_exchange_weak(seen, now)) {
            }
            s->state = State::Waiting;
        }
    }

    void collect(Slot* s) {
        while (PQisBusy(s->conn) == 0 || PQstatus(s->conn) == CONNECTION_BAD) {
            PGresult* res = PQgetResult(s->conn);
            if (res == nullptr) {
                finish_reply(s);
                return;
            }
            const ExecStatusType status = PQresultStatus(res);
            if (status == PGRES_TUPLES_OK) {
                s->reply.rows.clear();
                for (int r = 0; r < PQntuples(res); ++r) {
                    Row row;
                    for (int c = 0; c < PQnfields(res); ++c) {
                        if (PQgetisnull(res, r, c)) {
                            row.emplace_back(std::nullopt);
                        } else {
                            row.emplace_back(std::string(PQgetvalue(res, r, c)));
                        }
                    }
                    s->reply.rows.push_back(std::move(row));
                }
            } else if (status != PGRES_COMMAND_OK && status != PGRES_EMPTY_QUERY &&
                       !s->reply_has_error) {
                s->reply_has_error = true;
                s->reply.ok = false;
                const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                s->reply.sqlstate = state != nullptr ? state : "";
                s->reply.message = trimmed(PQresultErrorMessage(res));
            }
            PQclear(res);
        }
    }

    void finish_reply(Slot* s) {
        if (PQstatus(s->conn) == CONNECTION_BAD) {
            fail(s, "connection lost: " + trimmed(PQerrorMessage(s->conn)));
            return;
        }
        const std::string problem = s->script->check(s->step, s->reply);
        if (!problem.empty()) {
            fail(s, problem);
            return;
        }
        ++s->step;
        s->state = State::Ready;
    }

    std::vector<Slot*> slots_;
    Shared& shared_;
    const AsyncRunOptions& options_;
    Clock::time_point deadline_;
};

}  // namespace

AsyncRunReport run_scripted_clients(std::vector<std::unique_ptr<ScriptedClient>>& clients,
                                    const AsyncRunOptions& options) {
    const auto deadline = Clock::now() + options.deadline;
    std::vector<Slot> slots(clients.size());
    Shared shared;
    shared.total = clients.size();
    const int threads = std::max(1, options.threads);
    std::vector<std::vector<Slot*>> shares(static_cast<std::size_t>(threads));
    for (std::size_t i = 0; i < clients.size(); ++i) {
        slots[i].index = i;
        slots[i].script = clients[i].get();
        shares[i % shares.size()].push_back(&slots[i]);
    }
    std::atomic<bool> timed_out{false};
    std::vector<std::thread> workers;
    for (auto& share : shares) {
        workers.emplace_back([&, share] {
            Runner runner(share, shared, options, deadline);
            if (!runner.run()) {
                timed_out = true;
            }
        });
    }
    for (std::thread& t : workers) {
        t.join();
    }
    AsyncRunReport report;
    report.finished = shared.finished.load();
    report.failed = shared.failed.load();
    report.max_connected = shared.max_connected.load();
    report.failures = std::move(shared.failures);
    report.timed_out = timed_out.load();
    if (report.timed_out) {
        std::size_t stuck = 0;
        for (const Slot& s : slots) {
            stuck += (s.state != State::Done && s.state != State::Failed) ? 1 : 0;
        }
        report.failures.push_back("deadline passed with " + std::to_string(stuck) +
                                  " clients still running");
    }
    for (Slot& s : slots) {
        if (s.conn != nullptr) {
            PQfinish(s.conn);
        }
    }
    return report;
}

}  // namespace pgrouter::test
