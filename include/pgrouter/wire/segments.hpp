// pgrouter/wire/segments.hpp — a batch of bytes to write in one go, made of slices of a borrowed
// buffer (messages forwarded as they arrived, never copied) and of bytes the batch owns (messages
// pgrouter writes itself). Pure: offsets only, so the borrowed buffer may be compacted or grown
// until the batch is gathered for the write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace pgrouter::wire {

class Segments {
public:
    // `length` bytes at `offset` of the borrowed buffer; joins the previous slice when adjacent.
    void borrow(std::size_t offset, std::size_t length) {
        if (length == 0) {
            return;
        }
        if (!slices_.empty() && !slices_.back().own &&
            slices_.back().offset + slices_.back().length == offset) {
            slices_.back().length += length;
        } else {
            slices_.push_back({false, offset, length});
        }
    }

    // Own bytes: append to own() after noting own_mark(), then commit_own(mark).
    std::vector<std::uint8_t>& own() noexcept { return own_; }
    std::size_t own_mark() const noexcept { return own_.size(); }
    void commit_own(std::size_t mark) {
        const std::size_t length = own_.size() - mark;
        if (length == 0) {
            return;
        }
        if (!slices_.empty() && slices_.back().own &&
            slices_.back().offset + slices_.back().length == mark) {
            slices_.back().length += length;
        } else {
            slices_.push_back({true, mark, length});
        }
    }
    void append_own(std::span<const std::uint8_t> bytes) {
        const std::size_t mark = own_mark();
        own_.insert(own_.end(), bytes.begin(), bytes.end());
        commit_own(mark);
    }

    // Calls `emit(std::span<const std::uint8_t>)` for every slice in order; `borrowed` is the
    // buffer the borrowed offsets point into.
    template <typename Emit>
    void for_each(std::span<const std::uint8_t> borrowed, Emit&& emit) const {
        for (const Slice& s : slices_) {
            const std::uint8_t* base = s.own ? own_.data() : borrowed.data();
            emit(std::span<const std::uint8_t>(base + s.offset, s.length));
        }
    }

    bool empty() const noexcept { return slices_.empty(); }
    std::size_t slices() const noexcept { return slices_.size(); }
    std::size_t bytes() const noexcept {
        std::size_t n = 0;
        for (const Slice& s : slices_) {
            n += s.length;
        }
        return n;
    }
    // Keeps capacity: the hot path does not allocate once warm.
    void clear() noexcept {
        slices_.clear();
        own_.clear();
    }
    // Gives the memory back (an idle session holds none).
    void release() noexcept {
        std::vector<Slice>().swap(slices_);
        std::vector<std::uint8_t>().swap(own_);
    }

private:
    struct Slice {
        bool own = false;
        std::size_t offset = 0;
        std::size_t length = 0;
    };
    std::vector<Slice> slices_;
    std::vector<std::uint8_t> own_;
};

}  // namespace pgrouter::wire
