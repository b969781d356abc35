// pgrouter/session/pgrouter_command.hpp — pgrouter's own session variables, set and read with SQL
// the client already speaks (SET/RESET/SHOW pgrouter.<name>) and answered by pgrouter without a
// server. Pure: text in, a parsed command out.
#pragma once

#include <string>
#include <string_view>

namespace pgrouter::session {

struct PgrouterCommand {
    enum class Verb { None, Set, Reset, Show };
    Verb verb = Verb::None;  // None: not a pgrouter command (the text goes to a server)
    std::string name;        // lower case, after "pgrouter."
    std::string value;       // Set: the value, unquoted
};

// Recognises exactly one statement `SET [SESSION|LOCAL] pgrouter.<name> {TO|=} <value>`,
// `RESET pgrouter.<name>` or `SHOW pgrouter.<name>`, any case, with comments, whitespace and a
// trailing ';'. The value is a single-quoted string ('' for a quote), a word or a number.
PgrouterCommand parse_pgrouter_command(std::string_view sql);

}  // namespace pgrouter::session
