// src/wire/frame.cpp — decode_frame(): finds the boundaries of one typed message. Pure: never
// allocates, logs or throws; reads only inside `input`.
#include "pgrouter/wire/frame.hpp"

namespace pgrouter::wire {

DecodeResult decode_frame(Bytes input, std::size_t max_message) noexcept {
    DecodeResult result;
    if (input.empty()) {
        return result;
    }
    result.type = static_cast<char>(input[0]);
    if (input.size() < kHeaderSize) {
        return result;
    }
    // The length counts itself but not the type byte. Read unsigned so a "negative" int32 becomes
    // a huge size and is rejected as TooLarge instead of wrapping.
    const std::uint32_t length = read_u32(input.data() + 1);
    result.total = std::size_t{1} + length;
    if (length < 4) {
        result.status = DecodeStatus::BadLength;
        return result;
    }
    if (result.total > max_message) {
        result.status = DecodeStatus::TooLarge;
        return result;
    }
    if (input.size() < result.total) {
        return result;  // NeedMore, with total known so the caller can size its read
    }
    result.status = DecodeStatus::Complete;
    result.frame.type = result.type;
    result.frame.bytes = input.first(result.total);
    return result;
}

}  // namespace pgrouter::wire
