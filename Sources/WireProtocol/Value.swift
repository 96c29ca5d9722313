// The tagged value type for JSON-like data (metadata, details, capabilities). Maps keep their
// keys in strictly ascending byte order, which gives each value exactly one encoding and makes
// duplicate keys impossible.

public indirect enum Value: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case list([Value])
    case map(ValueMap)

    /// Deeper nesting is refused so a decoder never recurses without bound on hostile input.
    public static let nestingDepthMax = 64

    enum Tag: UInt8 {
        case null = 0, `false` = 1, `true` = 2, int = 3, float = 4, string = 5, bytes = 6, list = 7, map = 8
    }

    public subscript(key: String) -> Value? {
        guard case let .map(map) = self else { return nil }
        return map[key]
    }

    public var intValue: Int64? { if case let .int(value) = self { value } else { nil } }
    public var stringValue: String? { if case let .string(value) = self { value } else { nil } }
    public var boolValue: Bool? { if case let .bool(value) = self { value } else { nil } }
    public var doubleValue: Double? {
        switch self {
        case let .float(value): value
        case let .int(value): Double(value)
        default: nil
        }
    }
}

/// A string-keyed map kept sorted by the UTF-8 bytes of its keys.
public struct ValueMap: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    public private(set) var entries: [(key: String, value: Value)]

    public init() { entries = [] }

    public init(_ pairs: some Sequence<(String, Value)>) {
        entries = []
        for (key, value) in pairs { self[key] = value }
    }

    public init(dictionaryLiteral elements: (String, Value)...) {
        self.init(elements)
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var keys: [String] { entries.map(\.key) }

    public subscript(key: String) -> Value? {
        get {
            let position = insertionIndex(of: key)
            guard position < entries.count, entries[position].key == key else { return nil }
            return entries[position].value
        }
        set {
            let position = insertionIndex(of: key)
            let exists = position < entries.count && entries[position].key == key
            switch (exists, newValue) {
            case (true, let value?): entries[position].value = value
            case (true, nil): entries.remove(at: position)
            case (false, let value?): entries.insert((key, value), at: position)
            case (false, nil): break
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[(key: String, value: Value)]> {
        entries.makeIterator()
    }

    public static func == (lhs: ValueMap, rhs: ValueMap) -> Bool {
        lhs.entries.count == rhs.entries.count
            && zip(lhs.entries, rhs.entries).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }

    public func hash(into hasher: inout Hasher) {
        for entry in entries {
            hasher.combine(entry.key)
            hasher.combine(entry.value)
        }
    }

    /// Keys compare by their UTF-8 bytes, the order the wire requires.
    static func precedes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    private func insertionIndex(of key: String) -> Int {
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if Self.precedes(entries[middle].key, key) { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Appends an entry that is known to sort after every existing key (the decoder checks).
    mutating func appendSorted(key: String, value: Value) {
        entries.append((key, value))
    }
}

extension ByteWriter {
    public mutating func writeValue(_ value: Value) {
        switch value {
        case .null: writeUInt8(Value.Tag.null.rawValue)
        case let .bool(flag): writeUInt8(flag ? Value.Tag.true.rawValue : Value.Tag.false.rawValue)
        case let .int(number):
            writeUInt8(Value.Tag.int.rawValue)
            writeInt64(number)
        case let .float(number):
            writeUInt8(Value.Tag.float.rawValue)
            writeFloat64(number)
        case let .string(text):
            writeUInt8(Value.Tag.string.rawValue)
            writeString(text)
        case let .bytes(data):
            writeUInt8(Value.Tag.bytes.rawValue)
            writeBytes(data)
        case let .list(elements):
            writeUInt8(Value.Tag.list.rawValue)
            writeList(elements) { $0.writeValue($1) }
        case let .map(map):
            writeUInt8(Value.Tag.map.rawValue)
            writeValueMap(map)
        }
    }

    public mutating func writeValueMap(_ map: ValueMap) {
        writeUInt32(UInt32(map.count))
        for entry in map.entries {
            writeString(entry.key)
            writeValue(entry.value)
        }
    }
}

extension ByteReader {
    public mutating func readValue() throws(WireDecodingError) -> Value {
        try readValue(depth: 0)
    }

    public mutating func readValueMap() throws(WireDecodingError) -> ValueMap {
        try readValueMap(depth: 0)
    }

    /// `depth` counts the lists and maps around this value; only containers add a level.
    private mutating func readValue(depth: Int) throws(WireDecodingError) -> Value {
        let tagByte = try readUInt8("value tag")
        guard let tag = Value.Tag(rawValue: tagByte) else { throw .invalidValueTag(tagByte) }
        switch tag {
        case .null: return .null
        case .false: return .bool(false)
        case .true: return .bool(true)
        case .int: return .int(try readInt64("int value"))
        case .float: return .float(try readFloat64("float value"))
        case .string: return .string(try readString("string value"))
        case .bytes: return .bytes(try readBytes("bytes value"))
        case .list:
            guard depth < Value.nestingDepthMax else { throw .nestingTooDeep(limit: Value.nestingDepthMax) }
            // Each element takes at least its tag byte.
            let count = try readCount("list count", minimumElementBytes: 1)
            var elements = [Value]()
            elements.reserveCapacity(count)
            for _ in 0..<count { elements.append(try readValue(depth: depth + 1)) }
            return .list(elements)
        case .map:
            return .map(try readValueMap(depth: depth))
        }
    }

    /// `depth` counts the containers around this map.
    private mutating func readValueMap(depth: Int) throws(WireDecodingError) -> ValueMap {
        guard depth < Value.nestingDepthMax else { throw .nestingTooDeep(limit: Value.nestingDepthMax) }
        // Each entry takes at least a 4-byte key length and a tag byte.
        let count = try readCount("map count", minimumElementBytes: 5)
        var map = ValueMap()
        var previousKey: String?
        for _ in 0..<count {
            let key = try readString("map key")
            if let previousKey, !ValueMap.precedes(previousKey, key) {
                throw .mapKeysNotAscending(key: key)
            }
            let value = try readValue(depth: depth + 1)
            map.appendSorted(key: key, value: value)
            previousKey = key
        }
        return map
    }
}
