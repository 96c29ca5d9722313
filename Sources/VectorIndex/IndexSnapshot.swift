// Serializes a whole index to bytes and back, validating every field and length on the way in.

import Foundation

/// Snapshot layout, all integers and floats little-endian:
///
/// | offset | field |
/// |---|---|
/// | 0 | magic `AGVI` |
/// | 4 | version (UInt32, 1) |
/// | 8 | dimension, metric, M, efConstruction, ef (UInt32 each) |
/// | 28 | reserved (UInt32, must be 0) |
/// | 32 | seed, level-generator state, watermark (UInt64 each) |
/// | 56 | slot count, upper-link words, free-slot count (UInt64 each) |
/// | 80 | entry point (UInt32, `UInt32.max` when empty), top level (UInt32) |
/// | 88 | vectors: slots × dimension Float32 |
/// |    | external ids: slots × UInt64 |
/// |    | levels: slots × UInt8 |
/// |    | level-0 links: slots × (1 + 2M) UInt32 (`[count, neighbour…]`) |
/// |    | upper links: upper-link words × UInt32, blocks of (1 + M) in slot order |
/// |    | free (tombstoned) slots: free-slot count × UInt32, in reuse order |
///
/// Decoding checks the header, computes the exact expected size with overflow checks before
/// reading any section, and checks every link, level, id and float, so a truncated or corrupt
/// file gives `.corruptSnapshot` and never a trap or an unbounded allocation.
enum IndexSnapshot {
    static let magic: [UInt8] = Array("AGVI".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 88

    static func encode(_ graph: HNSWGraph) -> Data {
        let slots = graph.slotCount
        let dimension = graph.dimension
        var writer = SnapshotWriter()
        writer.reserve(headerBytes + slots * (dimension * 4 + 8 + 1 + graph.level0Stride * 4)
            + graph.upperLinksCount * 4 + graph.deletedCount * 4)
        writer.bytes.append(contentsOf: magic)
        writer.append(version)
        for value in [dimension, Int(graph.metric.rawValue), graph.parameters.maxNeighbors,
                      graph.parameters.constructionSearchWidth, graph.parameters.searchWidth, 0] {
            writer.append(UInt32(value))
        }
        writer.append(graph.parameters.seed)
        writer.append(graph.random.state)
        writer.append(graph.watermark)
        writer.append(UInt64(slots))
        writer.append(UInt64(graph.upperLinksCount))
        writer.append(UInt64(graph.deletedCount))
        writer.append(graph.entryPoint)
        writer.append(UInt32(graph.maxLevel))
        writer.append(floats: graph.vectors, count: slots * dimension)
        for slot in 0..<slots { writer.append(graph.externalIDs[slot]) }
        writer.bytes.append(contentsOf: UnsafeBufferPointer(start: graph.levels, count: slots))
        writer.append(words: graph.level0Links, count: slots * graph.level0Stride)
        writer.append(words: graph.upperLinks, count: graph.upperLinksCount)
        for slot in graph.freeSlots { writer.append(slot) }
        return Data(writer.bytes)
    }

    static func decode(_ data: Data, instructionSet: KernelInstructionSet) throws(VectorIndexError) -> HNSWGraph {
        let result: Result<HNSWGraph, VectorIndexError> = data.withUnsafeBytes { raw in
            do throws(VectorIndexError) {
                return .success(try decode(SnapshotReader(bytes: raw), instructionSet: instructionSet))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private static func decode(_ input: SnapshotReader, instructionSet: KernelInstructionSet)
        throws(VectorIndexError) -> HNSWGraph
    {
        var reader = input
        guard try reader.readBytes(4).elementsEqual(magic) else { throw .corruptSnapshot("bad magic") }
        let fileVersion = try reader.readUInt32()
        guard fileVersion == version else { throw .corruptSnapshot("unsupported version \(fileVersion)") }
        let dimension = Int(try reader.readUInt32())
        guard (1...VectorIndexLimits.dimensionMax).contains(dimension) else {
            throw .corruptSnapshot("dimension \(dimension) out of range")
        }
        let metricValue = try reader.readUInt32()
        guard let metric = DistanceMetric(rawValue: metricValue) else {
            throw .corruptSnapshot("unknown metric \(metricValue)")
        }
        var parameters = HNSWParameters()
        parameters.maxNeighbors = Int(try reader.readUInt32())
        parameters.constructionSearchWidth = Int(try reader.readUInt32())
        parameters.searchWidth = Int(try reader.readUInt32())
        guard try reader.readUInt32() == 0 else { throw .corruptSnapshot("reserved field not zero") }
        parameters.seed = try reader.readUInt64()
        do { try parameters.validate() } catch { throw .corruptSnapshot("parameters: \(error)") }
        let randomState = try reader.readUInt64()
        let watermark = try reader.readUInt64()
        let slotCount = try reader.readUInt64()
        let upperWords = try reader.readUInt64()
        let freeCount = try reader.readUInt64()
        let entryPoint = try reader.readUInt32()
        let maxLevel = Int(try reader.readUInt32())

        guard slotCount <= UInt64(VectorIndexLimits.slotCountMax), freeCount <= slotCount else {
            throw .corruptSnapshot("slot count \(slotCount) or free count \(freeCount) out of range")
        }
        let graph = HNSWGraph(dimension: dimension, metric: metric, parameters: parameters, instructionSet: instructionSet)
        let slots = Int(slotCount)
        // Exact size before touching any section: an absurd count fails here, not in allocate().
        let perSlot = UInt64(dimension * 4 + 8 + 1 + graph.level0Stride * 4)
        let (slotBytes, overflow1) = slotCount.multipliedReportingOverflow(by: perSlot)
        let (upperBytes, overflow2) = upperWords.multipliedReportingOverflow(by: 4)
        let (sum1, overflow3) = slotBytes.addingReportingOverflow(upperBytes)
        let (expected, overflow4) = sum1.addingReportingOverflow(freeCount * 4)
        guard !(overflow1 || overflow2 || overflow3 || overflow4), expected == UInt64(reader.remaining) else {
            throw .corruptSnapshot("sections need \(expected) bytes, \(reader.remaining) present")
        }
        guard (slots == 0 && entryPoint == HNSWGraph.noSlot && maxLevel == 0)
            || (slots > 0 && entryPoint < UInt32(slots) && maxLevel <= VectorIndexLimits.levelMax)
        else { throw .corruptSnapshot("entry point \(entryPoint) or top level \(maxLevel) invalid") }

        graph.reserve(slots: slots)
        graph.slotCount = slots
        graph.random.state = randomState
        graph.watermark = watermark
        graph.entryPoint = entryPoint
        graph.maxLevel = maxLevel

        try reader.readFloats(into: graph.vectors, count: slots * dimension)
        for slot in 0..<slots { graph.externalIDs[slot] = try reader.readUInt64() }
        try reader.readBytes(into: graph.levels, count: slots)
        try reader.readWords(into: graph.level0Links, count: slots * graph.level0Stride)
        // Upper blocks are laid out in slot order, so each slot's offset follows from the levels.
        var offset = 0
        for slot in 0..<slots {
            let level = Int(graph.levels[slot])
            guard level <= maxLevel else { throw .corruptSnapshot("slot \(slot) level \(level) above top level") }
            graph.upperOffsets[slot] = offset
            offset += level * graph.upperStride
        }
        guard UInt64(offset) == upperWords else { throw .corruptSnapshot("upper links do not match levels") }
        if slots > 0 && Int(graph.levels[Int(entryPoint)]) != maxLevel {
            throw .corruptSnapshot("entry point is not on the top level")
        }
        graph.reserveUpperLinks(offset)
        graph.upperLinksCount = offset
        try reader.readWords(into: graph.upperLinks, count: offset)

        for slot in 0..<slots { graph.deletedFlags[slot] = 0 }
        var freeSlots: [UInt32] = []
        freeSlots.reserveCapacity(Int(freeCount))
        for _ in 0..<Int(freeCount) {
            let slot = try reader.readUInt32()
            guard slot < UInt32(slots), graph.deletedFlags[Int(slot)] == 0 else {
                throw .corruptSnapshot("free slot \(slot) invalid or repeated")
            }
            graph.deletedFlags[Int(slot)] = 1
            freeSlots.append(slot)
        }
        graph.freeSlots = freeSlots
        try validateContents(graph)
        return graph
    }

    /// Checks what the structure itself cannot: finite floats, link bounds, unique live ids.
    private static func validateContents(_ graph: HNSWGraph) throws(VectorIndexError) {
        let slots = graph.slotCount
        for index in 0..<(slots * graph.dimension) where !graph.vectors[index].isFinite {
            throw .corruptSnapshot("non-finite vector component at float \(index)")
        }
        var slotByID: [UInt64: UInt32] = [:]
        slotByID.reserveCapacity(slots - graph.deletedCount)
        for slotIndex in 0..<slots {
            let slot = UInt32(slotIndex)
            for level in 0...Int(graph.levels[slotIndex]) {
                let list = graph.links(slot, level: level)
                let count = Int(list[0])
                guard count <= graph.maxLinks(level: level) else {
                    throw .corruptSnapshot("slot \(slotIndex) has \(count) links on level \(level)")
                }
                for index in 0..<count where list[1 + index] >= UInt32(slots) {
                    throw .corruptSnapshot("slot \(slotIndex) links to missing slot \(list[1 + index])")
                }
            }
            if graph.isDeleted(slot) { continue }
            let id = graph.externalIDs[slotIndex]
            guard slotByID.updateValue(slot, forKey: id) == nil else {
                throw .corruptSnapshot("id \(id) stored twice")
            }
        }
        graph.slotByID = slotByID
    }
}

/// Appends little-endian values to a byte array.
struct SnapshotWriter {
    var bytes: [UInt8] = []

    mutating func reserve(_ count: Int) { bytes.reserveCapacity(count) }

    mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func append(floats: UnsafePointer<Float>, count: Int) {
        #if _endian(little)
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: floats, count: count * 4))
        #else
        for index in 0..<count { append(floats[index].bitPattern) }
        #endif
    }

    mutating func append(words: UnsafePointer<UInt32>, count: Int) {
        #if _endian(little)
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: words, count: count * 4))
        #else
        for index in 0..<count { append(words[index]) }
        #endif
    }
}

/// Reads little-endian values with a bounds check on every read.
struct SnapshotReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    private mutating func take(_ count: Int) throws(VectorIndexError) -> UnsafeRawBufferPointer {
        guard count >= 0, count <= remaining else {
            throw .corruptSnapshot("truncated at byte \(position): need \(count), have \(remaining)")
        }
        defer { position += count }
        return UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)])
    }

    mutating func readBytes(_ count: Int) throws(VectorIndexError) -> UnsafeRawBufferPointer {
        try take(count)
    }

    mutating func readUInt32() throws(VectorIndexError) -> UInt32 {
        UInt32(littleEndian: try take(4).loadUnaligned(as: UInt32.self))
    }

    mutating func readUInt64() throws(VectorIndexError) -> UInt64 {
        UInt64(littleEndian: try take(8).loadUnaligned(as: UInt64.self))
    }

    mutating func readBytes(into target: UnsafeMutablePointer<UInt8>, count: Int) throws(VectorIndexError) {
        let source = try take(count)
        if count > 0 { UnsafeMutableRawPointer(target).copyMemory(from: source.baseAddress!, byteCount: count) }
    }

    mutating func readFloats(into target: UnsafeMutablePointer<Float>, count: Int) throws(VectorIndexError) {
        let source = try take(count * 4)
        #if _endian(little)
        if count > 0 { UnsafeMutableRawPointer(target).copyMemory(from: source.baseAddress!, byteCount: count * 4) }
        #else
        for index in 0..<count {
            target[index] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self)))
        }
        #endif
    }

    mutating func readWords(into target: UnsafeMutablePointer<UInt32>, count: Int) throws(VectorIndexError) {
        let source = try take(count * 4)
        #if _endian(little)
        if count > 0 { UnsafeMutableRawPointer(target).copyMemory(from: source.baseAddress!, byteCount: count * 4) }
        #else
        for index in 0..<count {
            target[index] = UInt32(littleEndian: source.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self))
        }
        #endif
    }
}
