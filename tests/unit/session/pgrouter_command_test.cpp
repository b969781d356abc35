// Unit tests for session::parse_pgrouter_command: SET/RESET/SHOW pgrouter.* recognised exactly,
// anything else left for a server.
#include "pgrouter/session/pgrouter_command.hpp"

#include <gtest/gtest.h>

namespace pgrouter::session {
namespace {

using Verb = PgrouterCommand::Verb;

TEST(PgrouterCommand, SetForms) {
    for (const char* text :
         {"SET pgrouter.route = 'replica'", "set pgrouter.route to replica",
          "SET SESSION pgrouter.route = 'replica';", "/* c */ SET  pgrouter.ROUTE\n= 'replica' ;; ",
          "-- hi\nset local pgrouter.route='replica'"}) {
        PgrouterCommand command = parse_pgrouter_command(text);
        EXPECT_EQ(command.verb, Verb::Set) << text;
        EXPECT_EQ(command.name, "route") << text;
        EXPECT_EQ(command.value, "replica") << text;
    }
    PgrouterCommand key = parse_pgrouter_command("SET pgrouter.consistency_key = 'user:1''2'");
    EXPECT_EQ(key.value, "user:1'2");
    EXPECT_EQ(parse_pgrouter_command("SET pgrouter.consistency_key = user:12").value, "user:12");
}

TEST(PgrouterCommand, ShowAndReset) {
    PgrouterCommand show = parse_pgrouter_command("show pgrouter.trace");
    EXPECT_EQ(show.verb, Verb::Show);
    EXPECT_EQ(show.name, "trace");
    PgrouterCommand reset = parse_pgrouter_command("RESET pgrouter.route;");
    EXPECT_EQ(reset.verb, Verb::Reset);
    EXPECT_EQ(reset.name, "route");
}

TEST(PgrouterCommand, AnythingElseGoesToTheServer) {
    for (const char* text :
         {"SET search_path = a", "SET pgrouter = 1", "SET pgrouter.route = 'a'; SELECT 1",
          "SET pgrouter.route = 'unterminated", "SELECT 'SET pgrouter.route = 1'", "SHOW pgrouter.",
          "SET pgrouter.route", "SHOW all", "RESET ALL", "", "pgrouter.route"}) {
        EXPECT_EQ(parse_pgrouter_command(text).verb, Verb::None) << text;
    }
}

}  // namespace
}  // namespace pgrouter::session
