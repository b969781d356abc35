// pgrouter/config/address.cpp — "host:port" text to Address and back. Pure string work: no
// DNS lookup, no YAML.
#include "pgrouter/config/load.hpp"

#include <algorithm>
#include <charconv>
#include <string>

#include "address_parse.hpp"

namespace pgrouter::config {

std::string Address::to_string() const {
    // A bare IPv6 literal would make "host:port" ambiguous, so it gets brackets as in URLs.
    if (host.find(':') != std::string::npos) {
        return "[" + host + "]:" + std::to_string(port);
    }
    return host + ":" + std::to_string(port);
}

std::optional<Address> parse_address_with_reason(std::string_view text, std::string& reason) {
    std::string_view host;
    std::string_view port_text;
    bool bracketed = false;
    if (!text.empty() && text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) {
            reason = "missing ']' after the IPv6 address";
            return std::nullopt;
        }
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (rest.empty() || rest.front() != ':') {
            reason = "missing ':port' after ']'";
            return std::nullopt;
        }
        port_text = rest.substr(1);
        bracketed = true;
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            reason = "missing ':port'";
            return std::nullopt;
        }
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            reason = "an IPv6 address needs brackets, as in \"[::1]:6432\"";
            return std::nullopt;
        }
    }
    if (host.empty()) {
        reason = "missing host before ':'";
        return std::nullopt;
    }
    // Names, IPv4 and (inside brackets) IPv6 with an optional zone; anything else is a typo that
    // would otherwise surface only as a resolver error at connect time.
    const bool host_ok = std::all_of(host.begin(), host.end(), [&](char c) {
        const bool alnum =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        return alnum || c == '.' || c == '-' || c == '_' || (bracketed && (c == ':' || c == '%'));
    });
    if (!host_ok) {
        reason = "invalid host '" + std::string(host) + "'";
        return std::nullopt;
    }
    if (port_text.empty()) {
        reason = "missing port after ':'";
        return std::nullopt;
    }
    std::uint32_t port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec == std::errc::invalid_argument || end != port_text.data() + port_text.size()) {
        reason = "port '" + std::string(port_text) + "' is not a number";
        return std::nullopt;
    }
    if (ec == std::errc::result_out_of_range || port == 0 || port > 65535) {
        reason = "port " + std::string(port_text) + " is not in 1-65535";
        return std::nullopt;
    }
    return Address{std::string(host), static_cast<std::uint16_t>(port)};
}

std::optional<Address> parse_address(std::string_view text) {
    std::string reason;
    return parse_address_with_reason(text, reason);
}

}  // namespace pgrouter::config
