// The one place where errors from handlers, backends and decoders become wire error bodies.
import WireProtocol

public enum ErrorMapping {
    public static func errorBody(for error: any Error) -> ErrorBody {
        switch error {
        case let error as RequestError:
            return ErrorBody(code: error.code, flags: error.flags, message: error.message, details: error.details)
        case let error as WireDecodingError:
            var details: ValueMap = [:]
            if let field = error.field { details["field"] = .string(field) }
            return ErrorBody(code: .invalidArgument, message: "malformed request body: \(error)", details: details)
        case let error as BackendError:
            return backendErrorBody(error)
        case let error as ProtocolViolation:
            return error.errorBody
        case is CancellationError:
            return ErrorBody(code: .cancelled, message: "cancelled")
        default:
            return ErrorBody(code: .internalError, message: "internal error: \(error)")
        }
    }

    private static func backendErrorBody(_ error: BackendError) -> ErrorBody {
        switch error {
        case let .unavailable(backend, reason, outcomeUnknown):
            var flags: ErrorFlags = [.retryable]
            if outcomeUnknown { flags.insert(.outcomeUnknown) }
            return ErrorBody(code: .backendUnavailable, flags: flags, message: "\(backend) unavailable: \(reason)",
                             details: ["backend": .string(backend), "retry_after_ms": .int(100)])
        case let .poolExhausted(backend):
            return ErrorBody(code: .overloaded, message: "\(backend) connection pool exhausted",
                             details: ["backend": .string(backend), "retry_after_ms": .int(50)])
        case let .rejected(backend, reason):
            return ErrorBody(code: .internalError, flags: [], message: "\(backend) rejected the request: \(reason)",
                             details: ["backend": .string(backend)])
        case let .conflict(backend, reason):
            return ErrorBody(code: .conflict, message: reason, details: ["backend": .string(backend)])
        case let .notFound(what):
            return ErrorBody(code: .notFound, message: "\(what) not found")
        case let .invalidArgument(field, reason):
            return ErrorBody(code: .invalidArgument, message: "\(field): \(reason)", details: ["field": .string(field)])
        }
    }
}
