// pgrouter/sharding/copy_rows.cpp — rows and shard keys of a COPY FROM STDIN stream, read as
// PostgreSQL's copyfromparse.c reads text and CSV input.
#include "pgrouter/sharding/copy_rows.hpp"

namespace pgrouter::sharding {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

CopyRows::CopyRows(const sql::CopyFrom& format, std::size_t key_column)
    : format_(format), key_column_(key_column) {}

const std::vector<CopyRows::Row>& CopyRows::feed(std::span<const std::uint8_t> bytes) {
    pending_.insert(pending_.end(), bytes.begin(), bytes.end());
    cut_rows(false);
    return rows_;
}

const std::vector<CopyRows::Row>& CopyRows::finish() {
    cut_rows(true);
    return rows_;
}

void CopyRows::cut_rows(bool at_end) {
    // Rows handed out last time are dropped now; the new ones are moved to done_ so that their
    // spans stay valid while pending_ keeps the unfinished row.
    rows_.clear();
    done_.clear();
    std::vector<std::size_t> ends;
    std::size_t i = scanned_;
    for (; i < pending_.size(); ++i) {
        const char c = static_cast<char>(pending_[i]);
        if (escaped_) {
            escaped_ = false;
            continue;
        }
        if (format_.csv) {
            if (in_quotes_) {
                if (c == format_.escape && format_.escape != format_.quote) {
                    escaped_ = true;
                } else if (c == format_.quote) {
                    in_quotes_ = false;  // "" re-enters at once: same as an escaped quote
                }
                continue;
            }
            if (c == format_.quote) {
                in_quotes_ = true;
                continue;
            }
        } else if (c == '\\') {
            escaped_ = true;
            continue;
        }
        if (c == '\n') {
            ends.push_back(i + 1);
        }
    }
    scanned_ = i;
    std::size_t last = ends.empty() ? 0 : ends.back();
    if (at_end && last < pending_.size()) {
        ends.push_back(pending_.size());
        last = pending_.size();
    }
    if (last == 0) {
        return;
    }
    done_.assign(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(last));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(last));
    scanned_ -= std::min(scanned_, last);
    std::size_t start = 0;
    for (std::size_t end : ends) {
        rows_.push_back(read_row(std::span<const std::uint8_t>(done_).subspan(start, end - start)));
        start = end;
    }
}

CopyRows::Row CopyRows::read_row(std::span<const std::uint8_t> bytes) {
    Row row;
    row.bytes = bytes;
    std::string_view line(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    if (first_row_ && format_.header) {
        first_row_ = false;
        row.header = true;
        return row;
    }
    first_row_ = false;
    if (!format_.csv && line == "\\.") {
        row.end_marker = true;
        return row;
    }
    // Walk to the key's field.
    std::size_t field = 0;
    std::size_t at = 0;
    while (field < key_column_) {
        bool quoted = false;
        while (at < line.size()) {
            const char c = line[at];
            if (format_.csv) {
                if (quoted) {
                    if (c == format_.escape && format_.escape != format_.quote &&
                        at + 1 < line.size()) {
                        at += 2;
                        continue;
                    }
                    if (c == format_.quote) {
                        quoted = false;
                    }
                    ++at;
                    continue;
                }
                if (c == format_.quote) {
                    quoted = true;
                    ++at;
                    continue;
                }
            } else if (c == '\\') {
                at += 2;
                continue;
            }
            if (c == format_.delimiter) {
                break;
            }
            ++at;
        }
        if (at >= line.size()) {
            row.missing = true;
            return row;
        }
        ++at;  // the delimiter
        ++field;
    }
    // The key field's raw bytes, up to the next unescaped, unquoted delimiter.
    std::size_t end = at;
    std::string value;
    bool quoted_any = false;
    if (format_.csv) {
        bool quoted = false;
        while (end < line.size()) {
            const char c = line[end];
            if (quoted) {
                if (c == format_.escape && end + 1 < line.size() &&
                    (format_.escape != format_.quote || line[end + 1] == format_.quote)) {
                    value.push_back(line[end + 1]);
                    end += 2;
                    continue;
                }
                if (c == format_.quote) {
                    quoted = false;
                } else {
                    value.push_back(c);
                }
                ++end;
                continue;
            }
            if (c == format_.quote) {
                quoted = true;
                quoted_any = true;
                ++end;
                continue;
            }
            if (c == format_.delimiter) {
                break;
            }
            value.push_back(c);
            ++end;
        }
        if (!quoted_any && value == format_.null_marker) {
            return row;  // NULL
        }
        row.key = std::move(value);
        return row;
    }
    while (end < line.size() && line[end] != format_.delimiter) {
        end += line[end] == '\\' ? 2 : 1;
    }
    row.key = text_field(line.substr(at, std::min(end, line.size()) - at));
    return row;
}

std::optional<std::string> CopyRows::text_field(std::string_view raw) const {
    if (raw == format_.null_marker) {
        return std::nullopt;
    }
    std::string out;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '\\' || i + 1 >= raw.size()) {
            out.push_back(raw[i]);
            continue;
        }
        const char c = raw[++i];
        switch (c) {
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'v':
                out.push_back('\v');
                break;
            case 'x': {
                int value = 0, digits = 0;
                while (digits < 2 && i + 1 < raw.size() && hex_value(raw[i + 1]) >= 0) {
                    value = value * 16 + hex_value(raw[++i]);
                    ++digits;
                }
                if (digits == 0) {
                    out.push_back('x');
                } else {
                    out.push_back(static_cast<char>(value));
                }
                break;
            }
            default:
                if (c >= '0' && c <= '7') {
                    int value = c - '0', digits = 1;
                    while (digits < 3 && i + 1 < raw.size() && raw[i + 1] >= '0' &&
                           raw[i + 1] <= '7') {
                        value = value * 8 + (raw[++i] - '0');
                        ++digits;
                    }
                    out.push_back(static_cast<char>(value));
                } else {
                    out.push_back(c);
                }
        }
    }
    return out;
}

}  // namespace pgrouter::sharding
