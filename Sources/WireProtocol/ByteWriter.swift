// Appends protocol values to a growing byte buffer. All integers and floats are little-endian.

public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var count: Int { bytes.count }

    public mutating func writeUInt8(_ value: UInt8) { bytes.append(value) }
    public mutating func writeUInt16(_ value: UInt16) { appendLittleEndian(value) }
    public mutating func writeUInt32(_ value: UInt32) { appendLittleEndian(value) }
    public mutating func writeUInt64(_ value: UInt64) { appendLittleEndian(value) }
    public mutating func writeInt32(_ value: Int32) { appendLittleEndian(UInt32(bitPattern: value)) }
    public mutating func writeInt64(_ value: Int64) { appendLittleEndian(UInt64(bitPattern: value)) }
    public mutating func writeFloat32(_ value: Float) { appendLittleEndian(value.bitPattern) }
    public mutating func writeFloat64(_ value: Double) { appendLittleEndian(value.bitPattern) }
    public mutating func writeBool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// Length-prefixed UTF-8. Swift strings are always valid UTF-8, so no check is needed here.
    public mutating func writeString(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            writeUInt32(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    public mutating func writeBytes(_ value: [UInt8]) {
        writeUInt32(UInt32(value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func writeRaw(_ value: some Sequence<UInt8>) { bytes.append(contentsOf: value) }

    public mutating func writeOptional<T>(_ value: T?, _ writeValue: (inout ByteWriter, T) -> Void) {
        if let value {
            bytes.append(1)
            writeValue(&self, value)
        } else {
            bytes.append(0)
        }
    }

    public mutating func writeList<T>(_ values: [T], _ writeElement: (inout ByteWriter, T) -> Void) {
        writeUInt32(UInt32(values.count))
        for value in values { writeElement(&self, value) }
    }

    /// A vector: dimension, then float32 components.
    public mutating func writeVector(_ components: [Float]) {
        writeUInt32(UInt32(components.count))
        bytes.reserveCapacity(bytes.count + components.count * 4)
        for component in components { appendLittleEndian(component.bitPattern) }
    }

    /// Overwrites 4 bytes at `offset` (used to patch a length once the body is known).
    public mutating func patchUInt32(_ value: UInt32, at offset: Int) {
        precondition(offset >= 0 && offset + 4 <= bytes.count, "patch outside the written bytes")
        var little = value.littleEndian
        withUnsafeBytes(of: &little) { raw in
            for index in 0..<4 { bytes[offset + index] = raw[index] }
        }
    }

    private mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        var little = value.littleEndian
        withUnsafeBytes(of: &little) { bytes.append(contentsOf: $0) }
    }
}
