// Decodes one-dimensional PostgreSQL arrays in binary result format (array_agg results), so a
// checkpoint and all its blobs and writes come back in one row and one round trip.

enum PostgresArray {
    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    /// The elements' raw binary forms (nil for NULL elements); empty for NULL or empty arrays.
    /// Layout: ndim i32, has-null i32, element oid u32, per dimension (size i32, lower bound i32),
    /// then per element a length i32 (-1 for NULL) and that many bytes; all big-endian.
    static func elements(_ cell: [UInt8]?) throws -> [[UInt8]?] {
        guard let cell else { return [] }
        var offset = 0
        func readInt32() throws -> Int32 {
            guard offset + 4 <= cell.count else { throw Malformed(description: "array truncated at \(offset)") }
            defer { offset += 4 }
            return Int32(bitPattern: UInt32(cell[offset]) << 24 | UInt32(cell[offset + 1]) << 16
                         | UInt32(cell[offset + 2]) << 8 | UInt32(cell[offset + 3]))
        }
        let dimensions = try readInt32()
        _ = try readInt32() // has-null flag: the per-element lengths say it too
        _ = try readInt32() // element type oid: the caller knows the column's type
        if dimensions == 0 { return [] }
        guard dimensions == 1 else { throw Malformed(description: "expected 1 dimension, got \(dimensions)") }
        let count = Int(try readInt32())
        _ = try readInt32() // lower bound
        guard count >= 0, count <= cell.count else { throw Malformed(description: "bad element count \(count)") }
        var elements: [[UInt8]?] = []
        elements.reserveCapacity(count)
        for _ in 0..<count {
            let length = Int(try readInt32())
            if length < 0 {
                elements.append(nil)
                continue
            }
            guard offset + length <= cell.count else { throw Malformed(description: "element past the end") }
            elements.append(Array(cell[offset..<(offset + length)]))
            offset += length
        }
        return elements
    }

    static func strings(_ cell: [UInt8]?) throws -> [String] {
        try elements(cell).map { String(decoding: $0 ?? [], as: UTF8.self) }
    }

    static func bytes(_ cell: [UInt8]?) throws -> [[UInt8]] {
        try elements(cell).map { $0 ?? [] }
    }

    static func int32s(_ cell: [UInt8]?) throws -> [Int32] {
        try elements(cell).map { element in
            guard let element, element.count == 4 else { throw Malformed(description: "int4 element of wrong size") }
            return Int32(bitPattern: UInt32(element[0]) << 24 | UInt32(element[1]) << 16
                         | UInt32(element[2]) << 8 | UInt32(element[3]))
        }
    }
}
