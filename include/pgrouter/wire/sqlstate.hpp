// pgrouter/wire/sqlstate.hpp — the SQLSTATE codes pgrouter itself emits, named as in PostgreSQL's
// errcodes.txt. Constants only.
#pragma once

#include <string_view>

namespace pgrouter::wire {

// Inline namespace: both wire::kProtocolViolation and wire::sqlstate::kProtocolViolation work.
inline namespace sqlstate {

inline constexpr std::string_view kProtocolViolation = "08P01";
inline constexpr std::string_view kConnectionFailure = "08006";
inline constexpr std::string_view kConnectionException = "08000";
inline constexpr std::string_view kInvalidPassword = "28P01";
inline constexpr std::string_view kInvalidAuthorization = "28000";
inline constexpr std::string_view kInvalidCatalogName = "3D000";
inline constexpr std::string_view kTooManyConnections = "53300";
inline constexpr std::string_view kAdminShutdown = "57P01";
inline constexpr std::string_view kCannotConnectNow = "57P03";
inline constexpr std::string_view kFeatureNotSupported = "0A000";
inline constexpr std::string_view kInvalidSqlStatementName = "26000";
inline constexpr std::string_view kDuplicatePreparedStatement = "42P05";
inline constexpr std::string_view kQueryCanceled = "57014";
inline constexpr std::string_view kInternalError = "XX000";
inline constexpr std::string_view kConfigFileError = "F0000";

}  // namespace sqlstate
}  // namespace pgrouter::wire
