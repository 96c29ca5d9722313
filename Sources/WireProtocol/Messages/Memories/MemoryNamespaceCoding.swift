// A memory namespace on the wire: list<string> of labels. Label rules (non-empty, no ".") are
// checked by the server's handlers, not here, so the decoder stays a pure structural check.

extension ByteWriter {
    public mutating func writeNamespace(_ labels: [String]) {
        writeList(labels) { $0.writeString($1) }
    }
}

extension ByteReader {
    /// A list<string>; each string needs at least its 4-byte length.
    public mutating func readNamespace(_ field: StaticString = "namespace") throws(WireDecodingError) -> [String] {
        let count = try readCount(field, minimumElementBytes: 4)
        var labels: [String] = []
        labels.reserveCapacity(count)
        for _ in 0..<count { labels.append(try readString(field)) }
        return labels
    }

    /// opt<T> with a typed-throwing reader.
    mutating func readOptional<T>(_ field: StaticString, _ read: (inout ByteReader) throws(WireDecodingError) -> T)
        throws(WireDecodingError) -> T?
    {
        guard try readPresence(field) else { return nil }
        return try read(&self)
    }
}
