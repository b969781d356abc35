// pgrouter/session/pgrouter_command.cpp — a strict little scanner for SET/RESET/SHOW pgrouter.*.
#include "pgrouter/session/pgrouter_command.hpp"

#include <cctype>

namespace pgrouter::session {
namespace {

class Scanner {
public:
    explicit Scanner(std::string_view text) : text_(text) {}

    void skip_space() {
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (std::isspace(static_cast<unsigned char>(c))) {
                ++pos_;
            } else if (text_.substr(pos_, 2) == "--") {
                while (pos_ < text_.size() && text_[pos_] != '\n') {
                    ++pos_;
                }
            } else if (text_.substr(pos_, 2) == "/*") {
                int depth = 0;
                do {
                    if (text_.substr(pos_, 2) == "/*") {
                        ++depth;
                        pos_ += 2;
                    } else if (text_.substr(pos_, 2) == "*/") {
                        --depth;
                        pos_ += 2;
                    } else {
                        ++pos_;
                    }
                } while (depth > 0 && pos_ < text_.size());
            } else {
                return;
            }
        }
    }

    // A word of letters, digits, '_' and '.', lower-cased.
    std::string word() {
        skip_space();
        std::string out;
        while (pos_ < text_.size()) {
            unsigned char c = static_cast<unsigned char>(text_[pos_]);
            if (!std::isalnum(c) && c != '_' && c != '.' && c != '-' && c != ':') {
                break;
            }
            out.push_back(static_cast<char>(std::tolower(c)));
            ++pos_;
        }
        return out;
    }

    bool take(char c) {
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    // 'quoted' (with '' inside) or a bare word, as written (case kept for quoted values).
    bool value(std::string& out) {
        skip_space();
        if (pos_ < text_.size() && text_[pos_] == '\'') {
            ++pos_;
            while (pos_ < text_.size()) {
                if (text_[pos_] == '\'') {
                    if (pos_ + 1 < text_.size() && text_[pos_ + 1] == '\'') {
                        out.push_back('\'');
                        pos_ += 2;
                        continue;
                    }
                    ++pos_;
                    return true;
                }
                out.push_back(text_[pos_++]);
            }
            return false;
        }
        out = word();
        return !out.empty();
    }

    bool at_end() {
        while (take(';')) {
        }
        skip_space();
        return pos_ == text_.size() || text_[pos_] == '\0';
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

constexpr std::string_view kPrefix = "pgrouter.";

bool take_name(Scanner& scanner, std::string& name) {
    std::string full = scanner.word();
    if (full.size() <= kPrefix.size() || full.compare(0, kPrefix.size(), kPrefix) != 0) {
        return false;
    }
    name = full.substr(kPrefix.size());
    return true;
}

}  // namespace

PgrouterCommand parse_pgrouter_command(std::string_view sql) {
    PgrouterCommand none;
    PgrouterCommand command;
    Scanner scanner(sql);
    std::string verb = scanner.word();
    if (verb == "set") {
        command.verb = PgrouterCommand::Verb::Set;
        Scanner probe = scanner;
        std::string scope = probe.word();
        if (scope == "session" || scope == "local") {
            scanner = probe;
        }
        if (!take_name(scanner, command.name)) {
            return none;
        }
        if (!scanner.take('=')) {
            Scanner to = scanner;
            if (to.word() != "to") {
                return none;
            }
            scanner = to;
        }
        if (!scanner.value(command.value)) {
            return none;
        }
    } else if (verb == "reset" || verb == "show") {
        command.verb = verb == "reset" ? PgrouterCommand::Verb::Reset : PgrouterCommand::Verb::Show;
        if (!take_name(scanner, command.name)) {
            return none;
        }
    } else {
        return none;
    }
    return scanner.at_end() ? command : none;
}

}  // namespace pgrouter::session
