// MEMORY_COLLECTION_ENSURE (0x0401): create a vector collection or check an existing one.

/// How a collection ranks vectors; the wire byte of MEMORY_COLLECTION_ENSURE.
public enum MemoryMetric: UInt8, Sendable, Hashable, CaseIterable {
    case cosine = 1
    case l2 = 2
    case innerProduct = 3
}

public struct MemoryCollectionEnsureRequest: WireMessage, Hashable {
    public var name: String
    public var dimension: UInt32
    /// The raw metric byte; the handler refuses values other than `MemoryMetric`'s.
    public var metric: UInt8

    public init(name: String, dimension: UInt32, metric: MemoryMetric) {
        self.init(name: name, dimension: dimension, metricByte: metric.rawValue)
    }

    public init(name: String, dimension: UInt32, metricByte: UInt8) {
        self.name = name
        self.dimension = dimension
        self.metric = metricByte
    }

    public func write(into writer: inout ByteWriter) {
        writer.writeString(name)
        writer.writeUInt32(dimension)
        writer.writeUInt8(metric)
    }

    public static func read(from reader: inout ByteReader) throws(WireDecodingError) -> MemoryCollectionEnsureRequest {
        MemoryCollectionEnsureRequest(name: try reader.readString("name"), dimension: try reader.readUInt32("dimension"),
                                      metricByte: try reader.readUInt8("metric"))
    }
}
