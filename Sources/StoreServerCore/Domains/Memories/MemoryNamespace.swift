// Namespace validation and the joined path form used for label-boundary prefix matching.

enum MemoryNamespace {
    /// Checks LangGraph's label rules and the size limits. `allowsEmpty` for search prefixes. A
    /// "*" label is ordinary here; only list_namespaces patterns treat it as a wildcard.
    static func validate(_ labels: [String], field: String, allowsEmpty: Bool = false) throws(RequestError) {
        if labels.isEmpty && !allowsEmpty {
            throw .invalidArgument(field: field, "namespace must have at least one label")
        }
        guard labels.count <= MemoryLimits.namespaceDepthMax else {
            throw .invalidArgument(field: field, "\(labels.count) labels exceed the limit of \(MemoryLimits.namespaceDepthMax)")
        }
        for label in labels {
            guard !label.isEmpty else { throw .invalidArgument(field: field, "labels must not be empty") }
            guard !label.contains(".") else { throw .invalidArgument(field: field, "label \"\(label)\" contains '.'") }
            guard label.utf8.count <= MemoryLimits.labelBytesMax else {
                throw .invalidArgument(field: field, "a label exceeds \(MemoryLimits.labelBytesMax) bytes")
            }
        }
    }

    /// "users.a." for ("users", "a"); "" for the empty namespace. Because labels contain no
    /// '.', path P1 starts with path P2 exactly when namespace P2 is a label-wise prefix of P1:
    /// "users.a." is not a prefix of "users.ab.".
    static func path(_ labels: [String]) -> String {
        labels.isEmpty ? "" : labels.joined(separator: ".") + "."
    }

    /// The labels of a stored path.
    static func labels(ofPath path: String) -> [String] {
        path.split(separator: ".", omittingEmptySubsequences: true).map(String.init)
    }

    /// The exclusive upper bound of the paths that start with `path` in byte order: the final
    /// '.' (0x2E) raised to '/' (0x2F). Nil for the empty prefix (no bound).
    static func upperBound(ofPrefixPath path: String) -> String? {
        guard path.hasSuffix(".") else { return nil }
        return String(path.dropLast()) + "/"
    }

    static func validateKey(_ key: String) throws(RequestError) {
        guard key.utf8.count <= MemoryLimits.keyBytesMax else {
            throw .invalidArgument(field: "key", "exceeds \(MemoryLimits.keyBytesMax) bytes")
        }
    }
}
