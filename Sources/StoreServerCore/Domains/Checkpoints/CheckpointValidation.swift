// Checks on request fields that the wire format cannot express; each failure is an
// invalid_argument naming the field.
import WireProtocol

enum CheckpointValidation {
    /// PostgreSQL text cannot hold NUL, and ids are bounded (see CheckpointLimits).
    static func identifier(_ value: String, field: String, allowsEmpty: Bool = true,
                           bytesMax: Int = CheckpointLimits.identifierBytesMax) throws(RequestError) {
        if !allowsEmpty && value.isEmpty { throw .invalidArgument(field: field, "must not be empty") }
        let length = value.utf8.count
        if length > bytesMax {
            throw RequestError(.invalidArgument, "\(field): \(length) bytes exceeds the limit of \(bytesMax)",
                               details: ["field": .string(field), "limit": .int(Int64(bytesMax)), "actual": .int(Int64(length))])
        }
        if value.utf8.contains(0) { throw .invalidArgument(field: field, "must not contain NUL characters") }
    }

    static func count(_ count: Int, field: String, max: Int = CheckpointLimits.channelsPerRequestMax) throws(RequestError) {
        if count > max {
            throw RequestError(.invalidArgument, "\(field): \(count) entries exceeds the limit of \(max)",
                               details: ["field": .string(field), "limit": .int(Int64(max)), "actual": .int(Int64(count))])
        }
    }

    /// A JSON object within the size limit, with `\u0000` escapes removed (jsonb cannot hold them).
    static func metadata(_ text: String, field: String) throws(RequestError) -> String {
        let length = text.utf8.count
        if length > CheckpointLimits.metadataBytesMax {
            throw RequestError(.invalidArgument, "\(field): \(length) bytes exceeds the limit of \(CheckpointLimits.metadataBytesMax)",
                               details: ["field": .string(field), "limit": .int(Int64(CheckpointLimits.metadataBytesMax)),
                                         "actual": .int(Int64(length))])
        }
        guard CheckpointJSON.isObject(text) else { throw .invalidArgument(field: field, "must be a JSON object") }
        return CheckpointJSON.removingNullEscapes(text)
    }
}
