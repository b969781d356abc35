// pgrouter/logging/logging.hpp — spdlog set-up and the helpers that keep secrets out of log lines.
// Every connection-related line starts with a tag such as "[c42 127.0.0.1:51234 app/app]".
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "pgrouter/config/config.hpp"

namespace pgrouter::logging {

// Configures the default logger (stderr, one line per event). Call once at start-up.
void setup(config::LogLevel level);

// Startup parameter values that may carry secrets are replaced by "***" before they are logged.
std::string redact_startup_param(std::string_view name, std::string_view value);

}  // namespace pgrouter::logging
