// tests/integration/auth_test.cpp — authentication through pgrouter against real PostgreSQL 15:
// client-side SCRAM, md5 and trust; server-side SCRAM, md5, cleartext and trust; SCRAM
// pass-through with only a verifier; the error codes of failed logins; and no secret in the log.
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/bytes.hpp"
#include "support/libpq_client.hpp"
#include "support/pgrouter_process.hpp"
#include "support/pgrouter_yaml.hpp"
#include "support/raw_client.hpp"
#include "support/topology.hpp"

namespace pgrouter::test {
namespace {

using std::chrono::milliseconds;

std::uint32_t be32_at(const std::string& body, std::size_t offset) {
    const auto* p = reinterpret_cast<const unsigned char*>(body.data() + offset);
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

// The first Authentication* request pgrouter sends for a raw StartupMessage (0 = Ok, 5 = MD5,
// 10 = SASL), or -1 when none arrived.
int first_auth_request(std::uint16_t port, const std::string& user, RawClient& raw) {
    EXPECT_TRUE(raw.connect(port));
    raw.send(startup({{"user", user}, {"database", "app"}}));
    raw.read_messages(milliseconds(10000), 'R');
    for (const RawMessage& m : raw.received()) {
        if (m.type == 'R' && m.body.size() >= 4) {
            return static_cast<int>(be32_at(m.body, 0));
        }
    }
    return -1;
}

// Primary message of a verbose libpq error, with `user` replaced by "<user>".
std::string normalized_auth_message(const ConnectError& error, const std::string& user) {
    std::string text = error.message;
    const std::size_t start = text.find(error.sqlstate + ": ");
    if (start != std::string::npos) {
        text = text.substr(start + error.sqlstate.size() + 2);
    }
    text = text.substr(0, text.find('\n'));
    for (std::size_t pos = 0; (pos = text.find(user, pos)) != std::string::npos;) {
        text.replace(pos, user.size(), "<user>");
    }
    return text;
}

class Auth : public ::testing::Test {
protected:
    void SetUp() override {
        RouterOptions options;
        options.log_level = "trace";  // the most talkative level still must not leak secrets
        router_ = std::make_unique<PgrouterProcess>(base_yaml(options));
    }

    // Logs in through pgrouter and checks, on the server, who and where we are.
    void expect_login(const std::string& user, const std::string& password) {
        PgConn conn(router_->conninfo(user, password, "app"));
        EXPECT_EQ(conn.scalar("SELECT current_user"), user);
        EXPECT_EQ(conn.scalar("SELECT session_user"), user);
        EXPECT_EQ(conn.server_port(), topology().primary_port);
        EXPECT_EQ(conn.scalar("SELECT 6 * 7"), "42");
    }

    std::unique_ptr<PgrouterProcess> router_;
};

TEST_F(Auth, ClientIsAskedForTheConfiguredMethod) {
    struct Case {
        const char* user;
        int request;
    };
    for (const Case& c : {Case{"app", 10}, Case{"md5user", 5}, Case{"trustuser", 0},
                          Case{"plainuser", 10}, Case{"scramonly", 10}}) {
        RawClient raw;
        EXPECT_EQ(first_auth_request(router_->port(), c.user, raw), c.request) << c.user;
        if (c.request == 10) {
            const RawMessage& sasl = raw.received().back();
            EXPECT_NE(sasl.body.find("SCRAM-SHA-256"), std::string::npos) << c.user;
        }
    }
}

TEST_F(Auth, ClientScramLoginWorks) {
    expect_login("app", "app");
}

TEST_F(Auth, ClientMd5LoginWorks) {
    expect_login("md5user", "md5pw");
}

TEST_F(Auth, ClientTrustLoginWorks) {
    expect_login("trustuser", "");
}

// Server side: each user is pinned by the topology's pg_hba.conf to one method, so a working
// login through pgrouter proves pgrouter answered that method. The preconditions are checked on
// the server itself so a changed topology cannot make this test pass vacuously.
struct ServerSideCase {
    const char* user;
    const char* password;
    const char* hba_method;
};

class AuthServerSide : public Auth, public ::testing::WithParamInterface<ServerSideCase> {};

TEST_P(AuthServerSide, PgrouterLogsIntoPostgresWithTheHbaMethod) {
    const ServerSideCase& c = GetParam();
    PgConn admin(direct_conninfo("postgres", "postgres", "postgres"));
    const std::string user = c.user;
    EXPECT_EQ(admin.scalar("SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host'"
                           " AND 'all' = ANY(database) AND ('" +
                           user +
                           "' = ANY(user_name) OR 'all' = ANY(user_name))"
                           " ORDER BY line_number LIMIT 1"),
              c.hba_method);
    if (user == "md5user") {
        // md5 in pg_hba.conf only means an MD5 challenge when the stored password is md5.
        EXPECT_EQ(admin.scalar("SELECT left(rolpassword, 3) FROM pg_authid WHERE rolname = "
                               "'md5user'"),
                  "md5");
    }
    expect_login(user, c.password);
}

INSTANTIATE_TEST_SUITE_P(Methods, AuthServerSide,
                         ::testing::Values(ServerSideCase{"app", "app", "scram-sha-256"},
                                           ServerSideCase{"md5user", "md5pw", "md5"},
                                           ServerSideCase{"plainuser", "plainpw", "password"},
                                           ServerSideCase{"trustuser", "", "trust"}),
                         [](const ::testing::TestParamInfo<ServerSideCase>& info) {
                             return std::string(info.param.user);
                         });

TEST_F(Auth, ScramPassThroughWithOnlyTheVerifier) {
    // pgrouter holds scramonly's verifier, not its password: it can check the client's proof but
    // cannot compute one for PostgreSQL on its own, so it must reuse the client's exchange.
    expect_login("scramonly", "scramonly-secret");
    const ConnectError wrong =
        connect_error(router_->conninfo("scramonly", "it-wrong-scramonly", "app"));
    EXPECT_FALSE(wrong.connected);
    EXPECT_EQ(wrong.sqlstate, "28P01") << wrong.message;
}

TEST_F(Auth, WrongPasswordGives28P01) {
    for (const auto& [user, wrong] :
         std::vector<std::pair<std::string, std::string>>{{"app", "it-wrong-app"},
                                                          {"md5user", "it-wrong-md5"},
                                                          {"plainuser", "it-wrong-plain"}}) {
        const ConnectError error = connect_error(router_->conninfo(user, wrong, "app"));
        EXPECT_FALSE(error.connected) << user;
        EXPECT_EQ(error.sqlstate, "28P01") << user << ": " << error.message;
    }
}

TEST_F(Auth, WrongMd5PasswordGets28P01ThenTheConnectionCloses) {
    RawClient raw;
    ASSERT_EQ(first_auth_request(router_->port(), "md5user", raw), 5);
    // A well-formed but wrong md5 response.
    raw.send(msg('p', cstr("md5" + std::string(32, '0'))));
    raw.read_messages(milliseconds(10000));
    EXPECT_EQ(raw.first_error_sqlstate(), "28P01");
    EXPECT_TRUE(raw.closed()) << "pgrouter kept the connection open after a failed login";
    for (const RawMessage& m : raw.received()) {
        EXPECT_NE(m.type, 'Z') << "ReadyForQuery after a failed login";
    }
}

TEST_F(Auth, UnknownUserGives28P01LikeAWrongPassword) {
    // PostgreSQL itself answers an unknown role under password authentication with the same
    // "password authentication failed" 28P01 as a wrong password (it runs a mock SCRAM
    // exchange), so that clients cannot probe which roles exist. pgrouter must not leak more.
    const std::string nobody = "it_nobody_" + std::to_string(::getpid());
    const ConnectError unknown =
        connect_error(router_->conninfo(nobody, "it-unknown-secret", "app"));
    EXPECT_FALSE(unknown.connected);
    EXPECT_EQ(unknown.sqlstate, "28P01") << unknown.message;

    const ConnectError wrong = connect_error(router_->conninfo("app", "it-wrong-app", "app"));
    EXPECT_EQ(normalized_auth_message(unknown, nobody), normalized_auth_message(wrong, "app"))
        << "unknown user: " << unknown.message << "\nwrong password: " << wrong.message;
}

TEST_F(Auth, UnknownDatabaseGives3D000) {
    const ConnectError error = connect_error(router_->conninfo("app", "app", "it_no_such_db"));
    EXPECT_FALSE(error.connected);
    EXPECT_EQ(error.sqlstate, "3D000") << error.message;
}

TEST_F(Auth, LogNeverContainsPasswordsOrVerifiers) {
    expect_login("app", "app");
    expect_login("md5user", "md5pw");
    expect_login("plainuser", "plainpw");
    expect_login("trustuser", "");
    expect_login("scramonly", "scramonly-secret");
    for (const auto& [user, wrong] : std::vector<std::pair<std::string, std::string>>{
             {"app", "it-wrong-secret-app"},
             {"md5user", "it-wrong-secret-md5"},
             {"plainuser", "it-wrong-secret-plain"},
             {"scramonly", "it-wrong-secret-scram"},
             {"it_nobody", "it-wrong-secret-nobody"}}) {
        EXPECT_FALSE(connect_error(router_->conninfo(user, wrong, "app")).connected);
    }

    PgConn admin(direct_conninfo("postgres", "postgres", "postgres"));
    const std::string md5_hash =
        admin.scalar("SELECT rolpassword FROM pg_authid WHERE rolname = 'md5user'");
    const std::string& verifier = topology().scramonly_verifier;
    std::vector<std::string> secrets = {"md5pw",           "plainpw", "scramonly-secret",
                                        "it-wrong-secret", md5_hash,  md5_hash.substr(3),
                                        verifier};
    // The verifier's StoredKey and ServerKey on their own are secrets too.
    const std::size_t keys = verifier.rfind('$');
    const std::size_t colon = verifier.find(':', keys);
    ASSERT_NE(keys, std::string::npos);
    ASSERT_NE(colon, std::string::npos);
    secrets.push_back(verifier.substr(keys + 1, colon - keys - 1));
    secrets.push_back(verifier.substr(colon + 1));

    const std::string log = router_->log();
    EXPECT_FALSE(log.empty()) << "log.connections is on, yet pgrouter logged nothing";
    for (const std::string& secret : secrets) {
        EXPECT_EQ(log.find(secret), std::string::npos) << "the log contains a secret: " << secret;
    }
}

}  // namespace
}  // namespace pgrouter::test
