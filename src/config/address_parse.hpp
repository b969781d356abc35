// pgrouter/config/address_parse.hpp — private to src/config: parse_address that also says why
// the text is not an address, so the loader can put the reason into its error.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "pgrouter/config/config.hpp"

namespace pgrouter::config {

// On failure returns nullopt and sets `reason` ("missing ':port'", "port 99999 is not in
// 1-65535"…); the reason quotes only the parts of `text` it is about.
std::optional<Address> parse_address_with_reason(std::string_view text, std::string& reason);

}  // namespace pgrouter::config
