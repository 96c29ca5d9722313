// Maps PostgreSQL failures to BackendError in one place, by SQLSTATE class, so that callers can
// decide whether retrying helps.

enum PostgresErrorClassification {
    static let backendName = "postgresql"

    /// SQLSTATEs that mean the session is gone or the server cannot serve it right now.
    /// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now,
    /// 53300 too_many_connections; class 08 is connection_exception.
    private static let unavailableStates: Set<String> = ["57P01", "57P02", "57P03", "53300"]
    /// 23505 unique_violation, 40001 serialization_failure, 40P01 deadlock_detected: a concurrent
    /// writer got there first; the caller may retry or report a conflict.
    private static let conflictStates: Set<String> = ["23505", "40001", "40P01"]

    static func isConnectionLevel(sqlState: String?) -> Bool {
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || unavailableStates.contains(sqlState)
    }

    /// The error for a failed statement. `connectionBroken` is true when libpq reports the
    /// connection as bad after the statement; `outcomeUnknown` says whether a write might have
    /// committed before the connection went away.
    static func error(sqlState: String?, message: String, connectionBroken: Bool,
                      outcomeUnknown: Bool) -> BackendError {
        if connectionBroken || isConnectionLevel(sqlState: sqlState) {
            return .unavailable(backend: backendName, reason: describe(sqlState, message),
                                outcomeUnknown: outcomeUnknown)
        }
        if let sqlState, conflictStates.contains(sqlState) {
            return .conflict(backend: backendName, reason: describe(sqlState, message))
        }
        return .rejected(backend: backendName, reason: describe(sqlState, message))
    }

    private static func describe(_ sqlState: String?, _ message: String) -> String {
        let trimmed = message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let sqlState else { return trimmed }
        return "\(sqlState): \(trimmed)"
    }
}

import Foundation
