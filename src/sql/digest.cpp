// pgrouter/sql/digest.cpp — statement digests (xxHash).
#include "pgrouter/sql/digest.hpp"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

namespace pgrouter::sql {

std::uint64_t statement_digest(std::string_view query,
                               std::span<const std::uint8_t> param_types) noexcept {
    XXH3_state_t state;
    XXH3_64bits_reset(&state);
    XXH3_64bits_update(&state, query.data(), query.size());
    const char nul = 0;
    XXH3_64bits_update(&state, &nul, 1);
    XXH3_64bits_update(&state, param_types.data(), param_types.size());
    return XXH3_64bits_digest(&state);
}

std::string server_statement_name(std::uint64_t digest) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string name = "pgr_";
    name.resize(4 + 16);
    for (int i = 0; i < 16; ++i) {
        name[4 + i] = kHex[(digest >> (60 - 4 * i)) & 0xf];
    }
    return name;
}

}  // namespace pgrouter::sql
