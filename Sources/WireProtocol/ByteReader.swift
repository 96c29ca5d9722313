// Reads protocol values from a byte buffer, checking every length against the bytes that remain
// before anything is allocated. Bad input throws WireDecodingError; it never traps.

public struct ByteReader: Sendable {
    public let bytes: [UInt8]
    public private(set) var offset: Int
    private let end: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
        self.end = bytes.count
    }

    public var remaining: Int { end - offset }
    public var isAtEnd: Bool { offset == end }

    public mutating func readUInt8(_ field: StaticString = "u8") throws(WireDecodingError) -> UInt8 {
        try require(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func readUInt16(_ field: StaticString = "u16") throws(WireDecodingError) -> UInt16 {
        try readLittleEndian(field)
    }
    public mutating func readUInt32(_ field: StaticString = "u32") throws(WireDecodingError) -> UInt32 {
        try readLittleEndian(field)
    }
    public mutating func readUInt64(_ field: StaticString = "u64") throws(WireDecodingError) -> UInt64 {
        try readLittleEndian(field)
    }
    public mutating func readInt32(_ field: StaticString = "i32") throws(WireDecodingError) -> Int32 {
        Int32(bitPattern: try readLittleEndian(field) as UInt32)
    }
    public mutating func readInt64(_ field: StaticString = "i64") throws(WireDecodingError) -> Int64 {
        Int64(bitPattern: try readLittleEndian(field) as UInt64)
    }
    public mutating func readFloat32(_ field: StaticString = "f32") throws(WireDecodingError) -> Float {
        Float(bitPattern: try readLittleEndian(field))
    }
    public mutating func readFloat64(_ field: StaticString = "f64") throws(WireDecodingError) -> Double {
        Double(bitPattern: try readLittleEndian(field))
    }

    /// Exactly 0 or 1; any other byte is invalid so that every value has one encoding.
    public mutating func readBool(_ field: StaticString = "bool") throws(WireDecodingError) -> Bool {
        switch try readUInt8(field) {
        case 0: return false
        case 1: return true
        case let other: throw .invalidBool(field: "\(field)", byte: other)
        }
    }

    public mutating func readString(_ field: StaticString = "string") throws(WireDecodingError) -> String {
        let length = try readLength(field, elementBytes: 1)
        let slice = bytes[offset..<(offset + length)]
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw .invalidUTF8(field: "\(field)")
        }
        offset += length
        return string
    }

    public mutating func readBytes(_ field: StaticString = "bytes") throws(WireDecodingError) -> [UInt8] {
        let length = try readLength(field, elementBytes: 1)
        defer { offset += length }
        return Array(bytes[offset..<(offset + length)])
    }

    public mutating func readRaw(count: Int, _ field: StaticString = "raw") throws(WireDecodingError) -> [UInt8] {
        try require(count, field)
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    /// The presence byte of an optional value (0 absent, 1 present).
    public mutating func readPresence(_ field: StaticString = "optional") throws(WireDecodingError) -> Bool {
        switch try readUInt8(field) {
        case 0: return false
        case 1: return true
        case let other: throw .invalidPresence(field: "\(field)", byte: other)
        }
    }

    /// A list count, checked so that `count * minimumElementBytes` fits in what remains. This
    /// bounds the allocation of the list by the frame's own size.
    public mutating func readCount(_ field: StaticString = "count", minimumElementBytes: Int) throws(WireDecodingError) -> Int {
        try readLength(field, elementBytes: max(1, minimumElementBytes), consumesBytes: false)
    }

    /// A vector: u32 dimension then float32 components. NaN and infinities are refused.
    public mutating func readVector(_ field: StaticString = "vector", dimensionMax: Int) throws(WireDecodingError) -> [Float] {
        let dimension = try readLength(field, elementBytes: 4, consumesBytes: false)
        guard dimension <= dimensionMax else {
            throw .limitExceeded(field: "\(field)", limit: dimensionMax, actual: dimension)
        }
        var components = [Float]()
        components.reserveCapacity(dimension)
        for index in 0..<dimension {
            let component = try readFloat32(field)
            guard component.isFinite else { throw .nonFiniteFloat(field: "\(field)", index: index) }
            components.append(component)
        }
        return components
    }

    /// Reads a u32 length and checks `length * elementBytes <= remaining` with overflow-checked
    /// arithmetic. When `consumesBytes` is true the caller reads `length` bytes right after.
    private mutating func readLength(_ field: StaticString, elementBytes: Int, consumesBytes: Bool = true) throws(WireDecodingError) -> Int {
        let declared = Int(try readUInt32(field))
        let (needed, overflow) = declared.multipliedReportingOverflow(by: elementBytes)
        guard !overflow, needed <= remaining else {
            throw .lengthExceedsFrame(field: "\(field)", declared: declared, remaining: remaining)
        }
        return declared
    }

    private mutating func require(_ count: Int, _ field: StaticString) throws(WireDecodingError) {
        guard count <= remaining else { throw .truncated(field: "\(field)", needed: count, remaining: remaining) }
    }

    private mutating func readLittleEndian<T: FixedWidthInteger>(_ field: StaticString) throws(WireDecodingError) -> T {
        let size = MemoryLayout<T>.size
        try require(size, field)
        var value: T = 0
        for index in 0..<size {
            value |= T(bytes[offset + index]) << (8 * index)
        }
        offset += size
        return value
    }
}
