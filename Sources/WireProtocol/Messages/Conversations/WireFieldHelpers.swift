// Optional fields used by the conversation messages, written and read one way everywhere.

extension ByteWriter {
    mutating func writeOptionalString(_ value: String?) {
        writeOptional(value) { writer, value in writer.writeString(value) }
    }

    mutating func writeOptionalInt64(_ value: Int64?) {
        writeOptional(value) { writer, value in writer.writeInt64(value) }
    }
}

extension ByteReader {
    mutating func readOptionalString(_ field: StaticString) throws(WireDecodingError) -> String? {
        try readPresence(field) ? try readString(field) : nil
    }

    mutating func readOptionalInt64(_ field: StaticString) throws(WireDecodingError) -> Int64? {
        try readPresence(field) ? try readInt64(field) : nil
    }

    mutating func readOptionalUInt64(_ field: StaticString) throws(WireDecodingError) -> UInt64? {
        try readPresence(field) ? try readUInt64(field) : nil
    }

    mutating func readOptionalBytes(_ field: StaticString) throws(WireDecodingError) -> [UInt8]? {
        try readPresence(field) ? try readBytes(field) : nil
    }
}
