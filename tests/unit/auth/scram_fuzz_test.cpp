// tests/unit/auth/scram_fuzz_test.cpp — random and mutated SCRAM messages into every entry point:
// nothing may crash, and nothing may succeed without the true key. Pure: no sockets, no timing.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "pgrouter/auth/scram.hpp"
#include "unit/auth/scram_vectors.hpp"

namespace pgrouter::auth {
namespace {

// Random input for every entry point, built from SCRAM tokens plus raw bytes. Nothing random may
// crash or succeed.
std::string random_tokens(std::mt19937& rng) {
    static const std::vector<std::string> kTokens = {
        "n",
        "y",
        "p",
        "a=",
        "n=",
        "r=",
        "c=",
        "s=",
        "i=",
        "v=",
        "e=",
        "p=",
        "m=",
        ",",
        ",,",
        "=",
        "biws",
        "eSws",
        "rOprNGfwEbeRWgbNEkqO",
        "4096",
        "0",
        "-1",
        "W22ZaJ0SNY7soEsUEjb6gQ==",
        "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        "==",
        "\xff",
        std::string(1, '\0'),
    };
    std::uniform_int_distribution<int> count(0, 12);
    std::uniform_int_distribution<std::size_t> pick(0, kTokens.size());
    std::uniform_int_distribution<int> byte(0, 255);
    std::string out;
    for (int i = count(rng); i > 0; --i) {
        const std::size_t k = pick(rng);
        if (k == kTokens.size()) {
            out += static_cast<char>(byte(rng));
        } else {
            out += kTokens[k];
        }
    }
    return out;
}

// One to three edits of a valid message (replace, insert or delete a byte, or cut the tail), so
// the parsers get past their first checks.
std::string mutate(std::string_view valid, std::mt19937& rng) {
    static constexpr std::string_view kBytes = ",=nyprcsiv+/0189AZaz \x01\x7f\xff";
    std::string out(valid);
    std::uniform_int_distribution<int> edits(1, 3);
    std::uniform_int_distribution<int> kind(0, 3);
    std::uniform_int_distribution<std::size_t> pick_byte(0, kBytes.size() - 1);
    for (int i = edits(rng); i > 0; --i) {
        std::uniform_int_distribution<std::size_t> at(0, out.size());
        const std::size_t pos = at(rng);
        switch (kind(rng)) {
            case 0:
                if (pos < out.size()) {
                    out[pos] = kBytes[pick_byte(rng)];
                }
                break;
            case 1:
                out.insert(pos, 1, kBytes[pick_byte(rng)]);
                break;
            case 2:
                if (pos < out.size()) {
                    out.erase(pos, 1);
                }
                break;
            default:
                out.resize(pos);
                break;
        }
    }
    return out;
}

TEST(ScramFuzz, RandomTokensNeverCrashOrSucceed) {
    std::mt19937 rng(12345);
    const ScramSecret secret = secret_of(kPencilVerifier);
    const Key key{};
    for (int i = 0; i < 20000; ++i) {
        const std::string message = random_tokens(rng);
        std::string reply;

        ScramServer server(secret, "srv");
        const ScramStatus first = server.on_client_first(message, reply);
        if (first != ScramStatus::Continue) {
            EXPECT_EQ(first, ScramStatus::Malformed);
            EXPECT_TRUE(reply.empty());
        }
        EXPECT_NE(server.on_client_final(random_tokens(rng), reply), ScramStatus::Success);

        ScramServer after_rfc_first = rfc_server();
        ASSERT_EQ(after_rfc_first.on_client_first(kRfcClientFirst, reply), ScramStatus::Continue);
        EXPECT_NE(after_rfc_first.on_client_final(message, reply), ScramStatus::Success);

        // Keys mode: a random "i=" must not cost a PBKDF2 run.
        ScramClient client = ScramClient::with_keys(key, key, std::string(kRfcClientNonce));
        (void)client.client_first();
        std::string client_final;
        (void)client.on_server_first(message, client_final);
        EXPECT_NE(client.on_server_final(random_tokens(rng)), ScramStatus::Success);

        EXPECT_FALSE(is_scram_verifier("SCRAM-SHA-256$" + message));
    }
}

TEST(ScramFuzz, MutatedValidMessagesKeepInvariants) {
    std::mt19937 rng(54321);
    const ScramSecret pencil = secret_of(kPencilVerifier);
    std::map<ScramStatus, int> server_final_seen;
    std::map<ScramStatus, int> client_first_seen;
    int verifiers_parsed = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string reply;
        ScramServer first = rfc_server();
        const ScramStatus first_status = first.on_client_first(mutate(kRfcClientFirst, rng), reply);
        EXPECT_EQ(reply.empty(), first_status != ScramStatus::Continue);

        // Non-canonical base64 tail bits can keep a mutated proof valid; any Success must still
        // be backed by the one true ClientKey.
        ScramServer server = rfc_server();
        ASSERT_EQ(server.on_client_first(kRfcClientFirst, reply), ScramStatus::Continue);
        const ScramStatus final_status =
            server.on_client_final(mutate(kRfcClientFinal, rng), reply);
        ++server_final_seen[final_status];
        if (final_status == ScramStatus::Success) {
            EXPECT_EQ(server.client_key(), kPencilClientKey);
            EXPECT_EQ(reply, kRfcServerFinal);
        } else {
            EXPECT_EQ(server.client_key(), Key{});
            EXPECT_TRUE(reply.empty());
        }

        // Keys mode, so a mutated "i=" costs nothing.
        ScramClient client = ScramClient::with_keys(kPencilClientKey, pencil.server_key,
                                                    std::string(kRfcClientNonce));
        (void)client.client_first();
        std::string client_final;
        const ScramStatus client_status =
            client.on_server_first(mutate(kRfcServerFirst, rng), client_final);
        ++client_first_seen[client_status];
        EXPECT_EQ(client_final.empty(), client_status != ScramStatus::Continue);
        (void)client.on_server_final(mutate("v=3HO6Qt1M4MKJrmlKaoOqLAI0/0TV0HZe7J9H3MBtSOg=", rng));

        // Whatever parses must print back to something that parses to the same secret.
        if (const auto parsed = parse_scram_verifier(mutate(kPostgresAppVerifier, rng))) {
            ++verifiers_parsed;
            const auto again = parse_scram_verifier(scram_verifier_string(*parsed));
            ASSERT_TRUE(again.has_value());
            EXPECT_EQ(scram_verifier_string(*again), scram_verifier_string(*parsed));
        }
    }
    // The mutations must actually reach the proof check and the client's key derivation.
    EXPECT_GT(server_final_seen[ScramStatus::BadProof], 0);
    EXPECT_GT(server_final_seen[ScramStatus::Malformed], 0);
    EXPECT_GT(client_first_seen[ScramStatus::Continue], 0);
    EXPECT_GT(client_first_seen[ScramStatus::Malformed], 0);
    EXPECT_GT(verifiers_parsed, 0);
}

}  // namespace
}  // namespace pgrouter::auth
