// pgrouter/logging/logging.cpp — spdlog configuration and redaction; nothing else.
#include "pgrouter/logging/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace pgrouter::logging {

void setup(config::LogLevel level) {
    auto logger = spdlog::stderr_color_mt("pgrouter");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    switch (level) {
        case config::LogLevel::Trace:
            logger->set_level(spdlog::level::trace);
            break;
        case config::LogLevel::Debug:
            logger->set_level(spdlog::level::debug);
            break;
        case config::LogLevel::Info:
            logger->set_level(spdlog::level::info);
            break;
        case config::LogLevel::Warn:
            logger->set_level(spdlog::level::warn);
            break;
        case config::LogLevel::Error:
            logger->set_level(spdlog::level::err);
            break;
        case config::LogLevel::Off:
            logger->set_level(spdlog::level::off);
            break;
    }
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
}

std::string redact_startup_param(std::string_view name, std::string_view value) {
    // "options" can carry -c settings with credentials in them (e.g. a password for an FDW).
    if (name == "options" || name.find("password") != std::string_view::npos) {
        return "***";
    }
    return std::string(value);
}

}  // namespace pgrouter::logging
