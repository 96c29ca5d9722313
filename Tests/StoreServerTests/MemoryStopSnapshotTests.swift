// A clean stop writes the index snapshots, so the next start loads them with nothing to replay.
import Foundation
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

final class MemoryStopSnapshotTests: XCTestCase {
    private static let dimension = 8

    func testCleanStopWritesSnapshotsTheNextStartLoadsWithoutCatchingUp() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("memory-stop-\(UUID().uuidString)").path
        defer {
            // Best effort: a leftover temporary directory harms nothing.
            try? FileManager.default.removeItem(atPath: directory)
        }
        let root = MemoryTestData.uniqueRoot()
        let collection = "c-" + root
        // No snapshot may come from the background task: only the stop may write one.
        let configure: (inout MemoryConfiguration) -> Void = {
            $0.snapshotDirectory = directory
            $0.tickInterval = .seconds(3600)
            $0.snapshotChangesMax = 1_000_000
        }
        var generator = SplitMix64(state: 7)
        var vectors: [String: [Float]] = [:]
        let first = try await MemoryTestServer.start(configure)
        try await first.waitUntilReady()
        try await first.client.ensureMemoryCollection(collection, dimension: Self.dimension, metric: .cosine)
        for index in 0..<40 {
            let vector = MemoryTestData.randomVector(dimension: Self.dimension, using: &generator)
            vectors["k\(index)"] = vector
            _ = try await first.client.putMemory(MemoryPutRequest(namespace: [root], key: "k\(index)", value: "{}",
                                                                  collection: collection,
                                                                  vectors: [MemoryFieldVector(field: "v", vector: vector)]))
        }
        for index in 0..<5 {
            try await first.client.deleteMemory(namespace: [root], key: "k\(index)")
            vectors["k\(index)"] = nil
        }
        XCTAssertNil(Self.snapshotFile(in: directory, collection: collection), "no snapshot before the stop")
        await first.stopCleanly()
        XCTAssertNotNil(Self.snapshotFile(in: directory, collection: collection), "the clean stop wrote the snapshot")
        XCTAssertTrue(first.log.collected.contains { $0.contains("wrote index snapshots") })

        let second = try await MemoryTestServer.start(configure)
        try await second.waitUntilReady()
        let log = second.log.collected
        let caughtUp = log.filter { $0.contains("index caught up") && $0.contains(collection) }
        XCTAssertTrue(log.contains { $0.contains("loaded index snapshot") && $0.contains(collection) }, log.joined(separator: "\n"))
        XCTAssertEqual(caughtUp.count, 1, log.joined(separator: "\n"))
        XCTAssertTrue(caughtUp.first?.contains("inserted=0") == true, caughtUp.joined(separator: "\n"))
        XCTAssertTrue(caughtUp.first?.contains("tombstones=0") == true, caughtUp.joined(separator: "\n"))
        for (key, vector) in vectors {
            let hits = try await second.client.searchMemories(MemorySearchRequest(namespacePrefix: [root], collection: collection,
                                                                                  query: vector, limit: 1))
            XCTAssertEqual(hits.first?.item.key, key)
        }

        // A second clean stop with no change since the loaded snapshot writes nothing.
        let before = try Self.modificationDate(Self.snapshotFile(in: directory, collection: collection)!)
        await second.stopCleanly()
        XCTAssertFalse(second.log.collected.contains { $0.contains("wrote index snapshots") })
        XCTAssertEqual(before, try Self.modificationDate(Self.snapshotFile(in: directory, collection: collection)!))
    }

    /// The collection's snapshot file (`<dir>/<database id>/collection-<hex>.agvi`), if written.
    static func snapshotFile(in directory: String, collection: String) -> String? {
        let hex = collection.utf8.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else { return nil }
        for case let path as String in enumerator where path.hasSuffix("collection-\(hex).agvi") {
            return URL(fileURLWithPath: directory).appendingPathComponent(path).path
        }
        return nil
    }

    private static func modificationDate(_ path: String) throws -> Date? {
        try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date
    }
}
