// The errors a storage backend (PostgreSQL, Redis) reports to request handling. Handling maps
// them to wire error codes in one place (ErrorMapping); backends never know about the wire.

public enum BackendError: Error, Sendable, Equatable {
    /// The backend cannot be reached or the connection broke before the outcome was known.
    /// `outcomeUnknown` is true when a write may or may not have been applied.
    case unavailable(backend: String, reason: String, outcomeUnknown: Bool)
    /// Every connection of the pool is busy and none became free within the wait limit.
    case poolExhausted(backend: String)
    /// The backend answered with an error that retrying will not fix (bad statement, constraint).
    case rejected(backend: String, reason: String)
    /// A uniqueness or version check failed (e.g. a concurrent writer got there first).
    case conflict(backend: String, reason: String)
    case notFound(what: String)
    case invalidArgument(field: String, reason: String)
}
