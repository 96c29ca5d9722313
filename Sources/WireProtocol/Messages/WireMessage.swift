// A message body with one encoding. Decoders read the fields they know and ignore bytes after
// them: a later minor version may append fields, and older peers skip them.

public protocol WireMessage: Sendable {
    func write(into writer: inout ByteWriter)
    static func read(from reader: inout ByteReader) throws(WireDecodingError) -> Self
}

extension WireMessage {
    public var encodedBody: [UInt8] {
        var writer = ByteWriter()
        write(into: &writer)
        return writer.bytes
    }

    public static func decode(body: [UInt8]) throws(WireDecodingError) -> Self {
        var reader = ByteReader(body)
        return try read(from: &reader)
    }
}

/// A message with no fields (health request, goodbye, cancel).
public struct EmptyMessage: WireMessage, Hashable {
    public init() {}
    public func write(into writer: inout ByteWriter) {}
    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> EmptyMessage { EmptyMessage() }
}
