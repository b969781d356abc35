// src/wire/body_reader.hpp — private bounds-checked cursor over a message body for the parsers in
// src/wire. Every read checks the remaining length first; nothing here allocates or throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "pgrouter/wire/frame.hpp"

namespace pgrouter::wire::detail {

class BodyReader {
public:
    explicit BodyReader(Bytes data) noexcept : data_(data) {}

    std::size_t remaining() const noexcept { return data_.size() - pos_; }
    bool at_end() const noexcept { return pos_ == data_.size(); }
    Bytes rest() const noexcept { return data_.subspan(pos_); }

    bool u8(std::uint8_t& v) noexcept {
        if (remaining() < 1) {
            return false;
        }
        v = data_[pos_++];
        return true;
    }
    bool u16(std::uint16_t& v) noexcept {
        if (remaining() < 2) {
            return false;
        }
        v = read_u16(data_.data() + pos_);
        pos_ += 2;
        return true;
    }
    bool u32(std::uint32_t& v) noexcept {
        if (remaining() < 4) {
            return false;
        }
        v = read_u32(data_.data() + pos_);
        pos_ += 4;
        return true;
    }
    bool i32(std::int32_t& v) noexcept {
        std::uint32_t u = 0;
        if (!u32(u)) {
            return false;
        }
        v = static_cast<std::int32_t>(u);  // modular conversion, well defined since C++20
        return true;
    }
    bool bytes(std::size_t n, Bytes& v) noexcept {
        if (remaining() < n) {
            return false;
        }
        v = data_.subspan(pos_, n);
        pos_ += n;
        return true;
    }
    // A protocol String: text up to the next NUL, which is consumed but not returned.
    bool cstr(std::string_view& v) noexcept {
        if (at_end()) {
            return false;  // also keeps memchr away from a null pointer
        }
        const auto* start = data_.data() + pos_;
        const auto* nul = static_cast<const std::uint8_t*>(std::memchr(start, 0, remaining()));
        if (nul == nullptr) {
            return false;
        }
        const auto len = static_cast<std::size_t>(nul - start);
        v = std::string_view(reinterpret_cast<const char*>(start), len);
        pos_ += len + 1;
        return true;
    }

private:
    Bytes data_;
    std::size_t pos_ = 0;
};

}  // namespace pgrouter::wire::detail
