// tests/unit/auth/scram_test.cpp — SCRAM-SHA-256 against RFC 7677, a verifier written by
// PostgreSQL 15, and values computed independently with Python's hashlib/hmac. Pure: no sockets.
#include "pgrouter/auth/scram.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/auth/scram_vectors.hpp"

namespace pgrouter::auth {
namespace {

// Runs a whole exchange; returns the server's status for the client-final message.
struct Exchange {
    ScramStatus server_final = ScramStatus::Malformed;
    ScramStatus client_final = ScramStatus::Malformed;
};

Exchange run_exchange(ScramClient& client, ScramServer& server) {
    Exchange result;
    std::string server_first;
    if (server.on_client_first(client.client_first(), server_first) != ScramStatus::Continue) {
        return result;
    }
    std::string client_final;
    if (client.on_server_first(server_first, client_final) != ScramStatus::Continue) {
        return result;
    }
    std::string server_final;
    result.server_final = server.on_client_final(client_final, server_final);
    if (result.server_final == ScramStatus::Success) {
        result.client_final = client.on_server_final(server_final);
    }
    return result;
}

TEST(ScramSecretFromPassword, MatchesRfc7677Keys) {
    const ScramSecret expected = secret_of(kPencilVerifier);
    const ScramSecret derived = scram_secret_from_password("pencil", expected.salt, 4096);
    EXPECT_EQ(scram_verifier_string(derived), kPencilVerifier);
}

TEST(ScramSecretFromPassword, MatchesPostgresVerifier) {
    const ScramSecret pg = secret_of(kPostgresAppVerifier);
    EXPECT_EQ(scram_verifier_string(scram_secret_from_password("app", pg.salt, pg.iterations)),
              kPostgresAppVerifier);
    EXPECT_NE(scram_verifier_string(scram_secret_from_password("App", pg.salt, pg.iterations)),
              kPostgresAppVerifier);
}

TEST(ScramSecretFromPassword, ClampsIterationsBelowOne) {
    const std::vector<std::uint8_t> salt{1, 2, 3};
    const ScramSecret zero = scram_secret_from_password("pw", salt, 0);
    EXPECT_EQ(zero.iterations, 1);
    EXPECT_EQ(zero.stored_key, scram_secret_from_password("pw", salt, 1).stored_key);
}

TEST(ParseScramVerifier, RoundTripsPostgresVerifier) {
    const auto secret = parse_scram_verifier(kPostgresAppVerifier);
    ASSERT_TRUE(secret.has_value());
    EXPECT_EQ(secret->iterations, 4096);
    EXPECT_EQ(secret->salt.size(), 16u);
    EXPECT_EQ(scram_verifier_string(*secret), kPostgresAppVerifier);
    EXPECT_TRUE(is_scram_verifier(kPostgresAppVerifier));
}

TEST(ParseScramVerifier, RoundTripsUnpaddedSaltLengths) {
    for (std::size_t n = 1; n <= 7; ++n) {
        std::vector<std::uint8_t> salt(n, 0xa5);
        const ScramSecret secret = scram_secret_from_password("pw", salt, 2);
        const auto parsed = parse_scram_verifier(scram_verifier_string(secret));
        ASSERT_TRUE(parsed.has_value()) << n;
        EXPECT_EQ(parsed->salt, salt);
        EXPECT_EQ(parsed->iterations, 2);
        EXPECT_EQ(parsed->stored_key, secret.stored_key);
        EXPECT_EQ(parsed->server_key, secret.server_key);
    }
}

TEST(ParseScramVerifier, RejectsMalformedVerifiers) {
    const std::string keys =
        "$cnhbfa6vQSapbsNCWfh80km99cxZw77N/"
        "avjR72MeIE=:QKrQAelP5pUl8klyoTpHUyBFZCmdeYT98ZobRn1gpns=";
    const std::string salt = ":Xy4ovWUNM8P5m8sv4wuKmA==";
    const std::vector<std::string> bad = {
        "",
        "SCRAM-SHA-256$",
        "md5fe63fea7be31b0200b496d08bc6b517d",
        "SCRAM-SHA-1$4096" + salt + keys,
        "scram-sha-256$4096" + salt + keys,
        "SCRAM-SHA-256$0" + salt + keys,
        "SCRAM-SHA-256$-1" + salt + keys,
        "SCRAM-SHA-256$+4096" + salt + keys,
        "SCRAM-SHA-256$ 4096" + salt + keys,
        "SCRAM-SHA-256$4096x" + salt + keys,
        "SCRAM-SHA-256$99999999999" + salt + keys,
        "SCRAM-SHA-256$" + salt + keys,
        "SCRAM-SHA-256$4096:" + keys,
        "SCRAM-SHA-256$4096:Xy4ovWUNM8P5m8sv4wuKmA=" + keys,
        "SCRAM-SHA-256$4096:Xy4ovWUNM8P5m8sv4wuKmA==" + keys.substr(0, 45),
        "SCRAM-SHA-256$4096" + salt + "$cnhbfa6vQSapbsNCWfh80km99cxZw77N/avjR72MeIE=",
        // 31-byte StoredKey.
        "SCRAM-SHA-256$4096" + salt +
            "$cnhbfa6vQSapbsNCWfh80km99cxZw77N/"
            "avjR72MeA==:QKrQAelP5pUl8klyoTpHUyBFZCmdeYT98ZobRn1gpns=",
        "SCRAM-SHA-256$4096" + salt + keys + "$",
        "SCRAM-SHA-256$4096" + salt + keys + " ",
        "SCRAM-SHA-256$4096" + salt + keys + ":AAAA",
        "SCRAM-SHA-256$4096:Xy4ov WUNM8P5m8sv4wuKmA=" + keys,
    };
    for (const std::string& verifier : bad) {
        EXPECT_FALSE(parse_scram_verifier(verifier).has_value()) << verifier;
        EXPECT_FALSE(is_scram_verifier(verifier)) << verifier;
    }
}

TEST(ScramNonce, IsPrintableBase64WithoutCommaAndFresh) {
    const std::string a = scram_nonce();
    const std::string b = scram_nonce();
    EXPECT_EQ(a.size(), 32u);
    EXPECT_NE(a, b);
    for (char c : a) {
        EXPECT_TRUE(c > 0x20 && c < 0x7f && c != ',') << static_cast<int>(c);
    }
}

TEST(ScramServer, AcceptsRfc7677Exchange) {
    ScramServer server = rfc_server();
    std::string reply;
    ASSERT_EQ(server.on_client_first(kRfcClientFirst, reply), ScramStatus::Continue);
    EXPECT_EQ(reply, kRfcServerFirst);
    ASSERT_EQ(server.on_client_final(kRfcClientFinal, reply), ScramStatus::Success);
    EXPECT_EQ(reply, kRfcServerFinal);
    EXPECT_EQ(server.client_key(), kPencilClientKey);
}

TEST(ScramServer, AcceptsGs2HeaderY) {
    // Proof and signature for the RFC exchange with "y,," / "c=eSws", computed with Python.
    ScramServer server = rfc_server();
    std::string reply;
    ASSERT_EQ(server.on_client_first("y,,n=user,r=rOprNGfwEbeRWgbNEkqO", reply),
              ScramStatus::Continue);
    ASSERT_EQ(server.on_client_final("c=eSws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                                     "p=FoqiHTtQEDE8lz1CdaEe3tK4mS+iMDTl77SPyDS53DY=",
                                     reply),
              ScramStatus::Success);
    EXPECT_EQ(reply, "v=dI4KpiQJwBr1+V+K6U1dA6l6I4I9DUNXWND4pcpRU3U=");
}

TEST(ScramServer, AcceptsUnknownExtensionAfterNonce) {
    ScramServer server = rfc_server();
    std::string reply;
    EXPECT_EQ(server.on_client_first("n,,n=,r=abc,x=ext", reply), ScramStatus::Continue);
    EXPECT_EQ(reply.substr(0, 5), "r=abc");
}

TEST(ScramServer, RejectsMalformedClientFirst) {
    const std::vector<std::string> bad = {
        "",
        "n",
        "n,,",
        "n,,n=user",
        "n,,n=user,x=1",
        "n,,r=abc",
        "n,,n=user,r=",
        "n,,n=user,r=a b",
        "n,,n=user,r=abc,",
        "n,,n=user,r=abc,1=x",
        "p=tls-server-end-point,,n=user,r=abc",
        "p,,n=user,r=abc",
        "n,a=admin,n=user,r=abc",
        "n,,m=ext,n=user,r=abc",
        "x,,n=user,r=abc",
        "nn,,n=user,r=abc",
        std::string("n,,n=user,r=ab\0c", 16),
        "n,,n=user,r=ab\xff",
    };
    for (const std::string& message : bad) {
        ScramServer server = rfc_server();
        std::string reply = "stale";
        EXPECT_EQ(server.on_client_first(message, reply), ScramStatus::Malformed) << message;
        EXPECT_TRUE(reply.empty());
    }
}

TEST(ScramServer, RejectsMalformedClientFinal) {
    const std::string nonce = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    const std::string proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const std::vector<std::string> bad = {
        "",
        "c=biws," + nonce,
        "c=biws," + nonce + ",",
        "c=biws," + proof,
        nonce + "," + proof,
        // Wrong nonce: the client's part only, then a changed server part.
        "c=biws,r=rOprNGfwEbeRWgbNEkqO," + proof,
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1," + proof,
        // Channel-binding data not matching the "n,," header.
        "c=eSws," + nonce + "," + proof,
        "c=cD10bHMtc2VydmVyLWVuZC1wb2ludCws," + nonce + "," + proof,
        "c=," + nonce + "," + proof,
        // Bad base64 or wrong proof length.
        "c=biws," + nonce + ",p=not base64!",
        "c=biws," + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ",
        "c=biws," + nonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndQ==",
        "c=biws," + nonce + ",p=",
        // Proof not last, or twice.
        "c=biws," + nonce + "," + proof + ",x=1",
        "c=biws," + nonce + "," + proof + "," + proof,
    };
    for (const std::string& message : bad) {
        ScramServer server = rfc_server();
        std::string reply;
        ASSERT_EQ(server.on_client_first(kRfcClientFirst, reply), ScramStatus::Continue);
        EXPECT_EQ(server.on_client_final(message, reply), ScramStatus::Malformed) << message;
        EXPECT_TRUE(reply.empty());
        EXPECT_EQ(server.client_key(), Key{});
    }
}

TEST(ScramServer, EveryPrefixOfValidClientFinalIsRejected) {
    for (std::size_t n = 0; n < kRfcClientFinal.size(); ++n) {
        ScramServer server = rfc_server();
        std::string reply;
        ASSERT_EQ(server.on_client_first(kRfcClientFirst, reply), ScramStatus::Continue);
        EXPECT_NE(server.on_client_final(kRfcClientFinal.substr(0, n), reply), ScramStatus::Success)
            << n;
    }
}

TEST(ScramServer, WrongPasswordIsBadProof) {
    ScramServer server(secret_of(kPencilVerifier), scram_nonce());
    ScramClient client = ScramClient::with_password("pencil2", scram_nonce());
    std::string server_first;
    ASSERT_EQ(server.on_client_first(client.client_first(), server_first), ScramStatus::Continue);
    std::string client_final;
    ASSERT_EQ(client.on_server_first(server_first, client_final), ScramStatus::Continue);
    std::string reply = "stale";
    EXPECT_EQ(server.on_client_final(client_final, reply), ScramStatus::BadProof);
    EXPECT_TRUE(reply.empty());
    EXPECT_EQ(server.client_key(), Key{});
}

TEST(ScramServer, RejectsCallsOutOfOrder) {
    std::string reply;
    ScramServer early = rfc_server();
    EXPECT_EQ(early.on_client_final(kRfcClientFinal, reply), ScramStatus::Malformed);

    ScramServer twice = rfc_server();
    ASSERT_EQ(twice.on_client_first(kRfcClientFirst, reply), ScramStatus::Continue);
    EXPECT_EQ(twice.on_client_first(kRfcClientFirst, reply), ScramStatus::Malformed);
    EXPECT_EQ(twice.on_client_final(kRfcClientFinal, reply), ScramStatus::Malformed);

    ScramServer after_error = rfc_server();
    EXPECT_EQ(after_error.on_client_first("garbage", reply), ScramStatus::Malformed);
    EXPECT_EQ(after_error.on_client_final(kRfcClientFinal, reply), ScramStatus::Malformed);

    ScramServer replay = rfc_server();
    ASSERT_EQ(replay.on_client_first(kRfcClientFirst, reply), ScramStatus::Continue);
    ASSERT_EQ(replay.on_client_final(kRfcClientFinal, reply), ScramStatus::Success);
    EXPECT_EQ(replay.on_client_final(kRfcClientFinal, reply), ScramStatus::Malformed);
}

TEST(ScramClient, SendsEmptyUserName) {
    ScramClient client = ScramClient::with_password("pencil", std::string(kRfcClientNonce));
    EXPECT_EQ(client.client_first(), "n,,n=,r=rOprNGfwEbeRWgbNEkqO");
}

TEST(ScramClient, ProducesIndependentlyComputedProof) {
    // Same as the RFC exchange but with "n=" empty, so proof and signature were recomputed with
    // Python hashlib/hmac over AuthMessage "n=,r=<cnonce>,<server-first>,c=biws,r=<nonce>".
    ScramClient client = ScramClient::with_password("pencil", std::string(kRfcClientNonce));
    (void)client.client_first();
    std::string client_final;
    ASSERT_EQ(client.on_server_first(kRfcServerFirst, client_final), ScramStatus::Continue);
    EXPECT_EQ(client_final,
              "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
              "p=qvT2SWdEH5Q06albL+hjSYuUhCG7VndFyzIb7CK4n9k=");
    EXPECT_EQ(client.on_server_final("v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg="),
              ScramStatus::Success);
}

ScramClient client_after_rfc_server_first() {
    ScramClient client = ScramClient::with_password("pencil", std::string(kRfcClientNonce));
    (void)client.client_first();
    std::string client_final;
    EXPECT_EQ(client.on_server_first(kRfcServerFirst, client_final), ScramStatus::Continue);
    return client;
}

TEST(ScramClient, RejectsWrongServerFinal) {
    // The RFC signature belongs to the "n=user" AuthMessage, so it is wrong for ours.
    EXPECT_EQ(client_after_rfc_server_first().on_server_final(kRfcServerFinal),
              ScramStatus::BadProof);
    EXPECT_EQ(client_after_rfc_server_first().on_server_final("e=invalid-proof"),
              ScramStatus::BadProof);
    EXPECT_EQ(client_after_rfc_server_first().on_server_final("v=bad base64"),
              ScramStatus::Malformed);
    EXPECT_EQ(client_after_rfc_server_first().on_server_final("v=AAAA"), ScramStatus::Malformed);
    EXPECT_EQ(client_after_rfc_server_first().on_server_final(""), ScramStatus::Malformed);
    EXPECT_EQ(client_after_rfc_server_first().on_server_final(
                  "v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=,x=1"),
              ScramStatus::Malformed);
}

TEST(ScramClient, RejectsMalformedServerFirst) {
    const std::string nonce = "r=rOprNGfwEbeRWgbNEkqOsrv";
    const std::vector<std::string> bad = {
        "",
        // Nonce not extending ours, or not extending it at all.
        "r=xOprNGfwEbeRWgbNEkqOsrv,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "r=rOprNGfwEbeRWg,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        nonce + ",i=4096",
        nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==",
        nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",
        nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1",
        nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=",
        nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4k",
        nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999",
        nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ=,i=4096",
        nonce + ",s=W22ZaJ0SNY7so!sUEjb6gQ==,i=4096",
        nonce + ",s=,i=4096",
        nonce + ",i=4096,s=W22ZaJ0SNY7soEsUEjb6gQ==",
        nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=1",
        "m=ext," + nonce + ",s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
    };
    for (const std::string& message : bad) {
        ScramClient client = ScramClient::with_password("pencil", std::string(kRfcClientNonce));
        (void)client.client_first();
        std::string client_final = "stale";
        EXPECT_EQ(client.on_server_first(message, client_final), ScramStatus::Malformed) << message;
        EXPECT_TRUE(client_final.empty());
        EXPECT_EQ(client.on_server_final(kRfcServerFinal), ScramStatus::Malformed);
    }
}

TEST(ScramClient, RejectsCallsOutOfOrder) {
    ScramClient client = ScramClient::with_password("pencil", std::string(kRfcClientNonce));
    std::string client_final;
    EXPECT_EQ(client.on_server_first(kRfcServerFirst, client_final), ScramStatus::Malformed);
    ScramClient no_first = ScramClient::with_password("pencil", std::string(kRfcClientNonce));
    EXPECT_EQ(no_first.on_server_final("v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg="),
              ScramStatus::Malformed);
}

TEST(ScramRoundTrip, PasswordClientAuthenticatesAgainstPostgresVerifier) {
    ScramServer server(secret_of(kPostgresAppVerifier), scram_nonce());
    ScramClient client = ScramClient::with_password("app", scram_nonce());
    const Exchange result = run_exchange(client, server);
    EXPECT_EQ(result.server_final, ScramStatus::Success);
    EXPECT_EQ(result.client_final, ScramStatus::Success);
    EXPECT_EQ(server.client_key(), kPostgresAppClientKey);
}

TEST(ScramRoundTrip, WrongPasswordIsBadProof) {
    ScramServer server(secret_of(kPostgresAppVerifier), scram_nonce());
    ScramClient client = ScramClient::with_password("ap", scram_nonce());
    EXPECT_EQ(run_exchange(client, server).server_final, ScramStatus::BadProof);
}

TEST(ScramRoundTrip, ClientRejectsServerWithoutTheVerifier) {
    // A server that knows StoredKey but not ServerKey can check us but cannot prove itself.
    ScramSecret impostor = secret_of(kPostgresAppVerifier);
    impostor.server_key[0] ^= 1;
    ScramServer server(impostor, scram_nonce());
    ScramClient client = ScramClient::with_password("app", scram_nonce());
    const Exchange result = run_exchange(client, server);
    EXPECT_EQ(result.server_final, ScramStatus::Success);
    EXPECT_EQ(result.client_final, ScramStatus::BadProof);
}

TEST(ScramPassThrough, RecoveredClientKeyAuthenticatesToServerWithSameVerifier) {
    const ScramSecret secret = secret_of(kPostgresAppVerifier);
    ScramServer front(secret, scram_nonce());
    ScramClient app = ScramClient::with_password("app", scram_nonce());
    ASSERT_EQ(run_exchange(app, front).server_final, ScramStatus::Success);

    ScramServer backend(secret, scram_nonce());
    ScramClient relay =
        ScramClient::with_keys(front.client_key(), secret.server_key, scram_nonce());
    const Exchange result = run_exchange(relay, backend);
    EXPECT_EQ(result.server_final, ScramStatus::Success);
    EXPECT_EQ(result.client_final, ScramStatus::Success);
}

TEST(ScramPassThrough, FailsAgainstVerifierWithDifferentSalt) {
    const ScramSecret secret = secret_of(kPostgresAppVerifier);
    ScramServer front(secret, scram_nonce());
    ScramClient app = ScramClient::with_password("app", scram_nonce());
    ASSERT_EQ(run_exchange(app, front).server_final, ScramStatus::Success);

    std::vector<std::uint8_t> other_salt = secret.salt;
    other_salt[0] ^= 0xff;
    ScramServer backend(scram_secret_from_password("app", other_salt, 4096), scram_nonce());
    ScramClient relay =
        ScramClient::with_keys(front.client_key(), secret.server_key, scram_nonce());
    EXPECT_EQ(run_exchange(relay, backend).server_final, ScramStatus::BadProof);
}

}  // namespace
}  // namespace pgrouter::auth
