// Error codes, grouped in ranges by what the caller does about them. A struct over the raw
// number so that codes added later do not break older callers, which fall back to the flags
// carried in each error frame.

public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    // 100-199: the byte stream is broken; the connection closes after the error frame.
    public static let malformedFrame = ErrorCode(rawValue: 100)
    public static let frameTooLarge = ErrorCode(rawValue: 101)
    public static let unknownOpcode = ErrorCode(rawValue: 102)
    public static let unsupportedVersion = ErrorCode(rawValue: 103)
    public static let checksumMismatch = ErrorCode(rawValue: 104)
    // 200-299: who may do what.
    public static let authRequired = ErrorCode(rawValue: 200)
    public static let authFailed = ErrorCode(rawValue: 201)
    public static let permissionDenied = ErrorCode(rawValue: 202)
    // 300-399: the request itself is wrong; retrying it unchanged fails again.
    public static let invalidArgument = ErrorCode(rawValue: 300)
    public static let notFound = ErrorCode(rawValue: 301)
    public static let conflict = ErrorCode(rawValue: 302)
    public static let dimensionMismatch = ErrorCode(rawValue: 303)
    // 400-499: flow control and time.
    public static let deadlineExceeded = ErrorCode(rawValue: 400)
    public static let cancelled = ErrorCode(rawValue: 401)
    public static let overloaded = ErrorCode(rawValue: 402)
    public static let shuttingDown = ErrorCode(rawValue: 403)
    // 500-599: the server or a backend failed.
    public static let backendUnavailable = ErrorCode(rawValue: 500)
    public static let internalError = ErrorCode(rawValue: 501)

    public static let all: [ErrorCode] = [
        .malformedFrame, .frameTooLarge, .unknownOpcode, .unsupportedVersion, .checksumMismatch,
        .authRequired, .authFailed, .permissionDenied,
        .invalidArgument, .notFound, .conflict, .dimensionMismatch,
        .deadlineExceeded, .cancelled, .overloaded, .shuttingDown,
        .backendUnavailable, .internalError,
    ]

    public var name: String {
        switch self {
        case .malformedFrame: "malformed_frame"
        case .frameTooLarge: "frame_too_large"
        case .unknownOpcode: "unknown_opcode"
        case .unsupportedVersion: "unsupported_version"
        case .checksumMismatch: "checksum_mismatch"
        case .authRequired: "auth_required"
        case .authFailed: "auth_failed"
        case .permissionDenied: "permission_denied"
        case .invalidArgument: "invalid_argument"
        case .notFound: "not_found"
        case .conflict: "conflict"
        case .dimensionMismatch: "dimension_mismatch"
        case .deadlineExceeded: "deadline_exceeded"
        case .cancelled: "cancelled"
        case .overloaded: "overloaded"
        case .shuttingDown: "shutting_down"
        case .backendUnavailable: "backend_unavailable"
        case .internalError: "internal"
        default: "error_\(rawValue)"
        }
    }

    /// The flags this code carries unless the sender knows better (the table in the spec).
    public var defaultFlags: ErrorFlags {
        switch self {
        case .malformedFrame, .frameTooLarge, .unsupportedVersion, .authRequired: [.connectionFatal]
        case .checksumMismatch: [.connectionFatal, .retryable]
        case .deadlineExceeded: [.retryable, .outcomeUnknown]
        case .cancelled, .internalError: [.outcomeUnknown]
        case .overloaded, .shuttingDown, .backendUnavailable: [.retryable]
        default: []
        }
    }

    public var description: String { "\(name)(\(rawValue))" }
}

public struct ErrorFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Sending the same request again may succeed (after `retry_after_ms` when given).
    public static let retryable = ErrorFlags(rawValue: 0x0001)
    /// The sender closes the connection after this frame.
    public static let connectionFatal = ErrorFlags(rawValue: 0x0002)
    /// A write may or may not have been applied; retry only if the operation is idempotent.
    public static let outcomeUnknown = ErrorFlags(rawValue: 0x0004)
}
