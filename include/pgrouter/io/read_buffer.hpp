// pgrouter/io/read_buffer.hpp — a growable byte buffer that socket reads append to and frame
// decoding consumes from. Keeps its capacity between messages so the hot path does not allocate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace pgrouter::io {

class ReadBuffer {
public:
    explicit ReadBuffer(std::size_t initial = 16 * 1024) : storage_(initial) {}

    // Unconsumed bytes.
    std::span<const std::uint8_t> data() const noexcept {
        return {storage_.data() + begin_, end_ - begin_};
    }
    std::size_t size() const noexcept { return end_ - begin_; }
    bool empty() const noexcept { return begin_ == end_; }

    // Writable space of at least `min_free` bytes after the unconsumed data; compacts or grows.
    std::span<std::uint8_t> prepare(std::size_t min_free = 4096) {
        if (begin_ == end_) {
            begin_ = end_ = 0;
        }
        if (storage_.empty() && !thread_cache().empty()) {
            storage_ = std::move(thread_cache().back());
            thread_cache().pop_back();
        }
        if (storage_.size() - end_ < min_free) {
            if (begin_ > 0) {
                std::memmove(storage_.data(), storage_.data() + begin_, end_ - begin_);
                end_ -= begin_;
                begin_ = 0;
            }
            if (storage_.size() - end_ < min_free) {
                storage_.resize(end_ + std::max(min_free, storage_.size()));
            }
        }
        return {storage_.data() + end_, storage_.size() - end_};
    }
    void commit(std::size_t n) noexcept { end_ += n; }
    void consume(std::size_t n) noexcept {
        begin_ += n;
        if (begin_ == end_) {
            begin_ = end_ = 0;
        }
    }
    // Gives memory back after a very large message so one big COPY does not pin it forever.
    void shrink_if_idle(std::size_t keep) {
        if (empty() && storage_.size() > keep) {
            storage_.assign(keep, 0);
            storage_.shrink_to_fit();
        }
    }

    // When empty, hands the storage to a small per-thread cache so that idle sessions hold no
    // buffer; prepare() takes one back. Buffers of the usual size only (big ones are freed).
    void release_to_cache(std::size_t usual) {
        if (!empty() || storage_.empty()) {
            return;
        }
        auto& cache = thread_cache();
        if (storage_.size() == usual && cache.size() < kCacheLimit) {
            cache.push_back(std::move(storage_));
        }
        std::vector<std::uint8_t>().swap(
            storage_);  // frees it (`storage_ = {}` keeps the capacity)
        begin_ = end_ = 0;
    }

private:
    // Enough for the sessions of one thread that hold bytes at the same moment; the rest is freed.
    static constexpr std::size_t kCacheLimit = 16;
    static std::vector<std::vector<std::uint8_t>>& thread_cache() {
        thread_local std::vector<std::vector<std::uint8_t>> cache;
        return cache;
    }

    std::vector<std::uint8_t> storage_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

}  // namespace pgrouter::io
