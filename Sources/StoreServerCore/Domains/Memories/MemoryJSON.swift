// Checks of the JSON texts a client sends: item values must be objects, filters objects whose
// `$` keys are known operators. PostgreSQL parses the text again as jsonb; checking here gives
// the client invalid_argument with the field instead of a backend rejection.
import Foundation

enum MemoryJSON {
    static let filterOperators: Set<String> = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"]

    static func validateValue(_ text: String) throws(RequestError) {
        guard parse(text) is [String: Any] else {
            throw .invalidArgument(field: "value", "must be the JSON text of an object")
        }
        // jsonb cannot hold U+0000; refuse it here rather than let PostgreSQL reject the row.
        guard !text.contains("\\u0000") else { throw .invalidArgument(field: "value", "\\u0000 is not storable") }
    }

    static func validateFilter(_ text: String) throws(RequestError) {
        guard text.utf8.count <= MemoryLimits.filterBytesMax else {
            throw .invalidArgument(field: "filter", "exceeds \(MemoryLimits.filterBytesMax) bytes")
        }
        guard let object = parse(text) as? [String: Any] else {
            throw .invalidArgument(field: "filter", "must be the JSON text of an object")
        }
        try validateFilterObject(object, depth: 0)
    }

    private static func validateFilterObject(_ object: [String: Any], depth: Int) throws(RequestError) {
        guard depth < 64 else { throw .invalidArgument(field: "filter", "nested too deeply") }
        for (key, value) in object {
            if key.hasPrefix("$") {
                // An operator at the top level would name no field.
                guard depth > 0, filterOperators.contains(key) else {
                    throw .invalidArgument(field: "filter", "unknown or misplaced operator \(key)")
                }
                continue
            }
            if let nested = value as? [String: Any] {
                let operators = nested.keys.filter { $0.hasPrefix("$") }
                if !operators.isEmpty && operators.count != nested.count {
                    throw .invalidArgument(field: "filter", "\(key): operators and fields cannot be mixed")
                }
                try validateFilterObject(nested, depth: depth + 1)
            }
        }
    }

    /// Whether `value @> filter` is a necessary condition of the filter, so PostgreSQL can test
    /// it (a fast C operator) before the PL/pgSQL matcher: true when the filter has no operator
    /// and no null anywhere (a null also matches a missing field, which containment would not).
    static func isContainmentPrefilter(_ filter: String) -> Bool {
        guard let object = parse(filter) else { return false }
        func plain(_ node: Any) -> Bool {
            if node is NSNull { return false }
            if let dictionary = node as? [String: Any] {
                return dictionary.allSatisfy { !$0.key.hasPrefix("$") && plain($0.value) }
            }
            if let array = node as? [Any] { return array.allSatisfy(plain) }
            return true
        }
        return plain(object)
    }

    private static func parse(_ text: String) -> Any? {
        // JSONSerialization's error text adds nothing a client can act on.
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])  // nil: the caller answers invalid_argument
    }
}
