// Every checkpoint operation against real PostgreSQL through an in-process server and
// StoreClient, with LangGraph's rules (protocol-spec.md §7.1).
import Foundation
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

final class CheckpointOperationTests: XCTestCase {
    typealias F = CheckpointFixtures

    func testGetReturnsLatestOrByIDWithParentAndChannelValues() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("get")
        try await h.client.putCheckpoint(F.put(thread: thread, id: F.id(1), metadata: #"{"step":0}"#,
                                               versions: [("a", "1")], blobs: [("a", "1", "\"one\"")]))
        try await h.client.putCheckpoint(F.put(thread: thread, id: F.id(2), parent: F.id(1), metadata: #"{"step":1}"#,
                                               versions: [("a", "1"), ("b", "2")], blobs: [("b", "2", "\"two\"")]))
        let latest = try await h.client.checkpoint(threadID: thread)
        XCTAssertEqual(latest?.checkpointID, F.id(2))
        XCTAssertEqual(latest?.parentCheckpointID, F.id(1))
        XCTAssertEqual(latest?.checkpoint, Array("{\"id\":\"\(F.id(2))\"}".utf8))
        XCTAssertEqual(latest?.channelValues.map(\.channel), ["a", "b"], "unchanged channels come from their stored version")
        XCTAssertEqual(latest?.channelValues.map { String(decoding: $0.value, as: UTF8.self) }, ["\"one\"", "\"two\""])
        XCTAssertEqual(try latest?.decodedMetadata([String: Int].self), ["step": 1])

        let first = try await h.client.checkpoint(threadID: thread, checkpointID: F.id(1))
        XCTAssertEqual(first?.checkpointID, F.id(1))
        XCTAssertNil(first?.parentCheckpointID)
        XCTAssertEqual(first?.channelValues.map(\.channel), ["a"])

        let missingID = try await h.client.checkpoint(threadID: thread, checkpointID: F.id(9))
        XCTAssertNil(missingID)
        let otherNamespace = try await h.client.checkpoint(threadID: thread, namespace: "child")
        XCTAssertNil(otherNamespace)
        let missingThread = try await h.client.checkpoint(threadID: h.thread("nothing"))
        XCTAssertNil(missingThread)
        await h.close()
    }

    func testPutIsIdempotentAndBlobsAreStoredOncePerVersion() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("blobs")
        let first = F.put(thread: thread, id: F.id(1), versions: [("a", "1"), ("b", "1")],
                          blobs: [("a", "1", "1"), ("b", "1", "1")])
        try await h.client.putCheckpoint(first)
        try await h.client.putCheckpoint(first)
        // Only "a" changes; "b" stays at version 1 and is not sent again.
        try await h.client.putCheckpoint(F.put(thread: thread, id: F.id(2), parent: F.id(1),
                                               versions: [("a", "2"), ("b", "1")], blobs: [("a", "2", "2")]))
        // The same blob version sent again (a client retry) is ignored, not duplicated or replaced.
        try await h.client.putCheckpoint(F.put(thread: thread, id: F.id(3), parent: F.id(2),
                                               versions: [("a", "2"), ("b", "1")], blobs: [("a", "2", "changed")]))
        let blobCount = try await h.rowCount("checkpoint_blobs", thread: thread)
        let checkpointCount = try await h.rowCount("checkpoints", thread: thread)
        XCTAssertEqual(blobCount, 3, "a@1, b@1, a@2")
        XCTAssertEqual(checkpointCount, 3)
        let latest = try await h.client.checkpoint(threadID: thread)
        XCTAssertEqual(latest?.channelValues.map { "\($0.channel)@\($0.version)=\(String(decoding: $0.value, as: UTF8.self))" },
                       ["a@2=2", "b@1=1"])
        // Upsert: the same checkpoint id again replaces the row's metadata.
        var replaced = first
        replaced.metadata = #"{"replaced":true}"#
        try await h.client.putCheckpoint(replaced)
        let reread = try await h.client.checkpoint(threadID: thread, checkpointID: F.id(1))
        XCTAssertEqual(try reread?.decodedMetadata([String: Bool].self), ["replaced": true])
        await h.close()
    }

    func testPendingWritesAreOrderedAndSpecialWritesReplace() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("writes")
        try await h.client.putCheckpoint(F.put(thread: thread, id: F.id(1)))
        func putWrites(task: String, path: String, _ writes: [CheckpointWrite]) async throws {
            try await h.client.putCheckpointWrites(CheckpointPutWritesRequest(
                threadID: thread, checkpointID: F.id(1), taskID: task, taskPath: path, writes: writes))
        }
        try await putWrites(task: "task-b", path: "~1", [F.write(1, "y", "b1"), F.write(0, "x", "b0")])
        try await putWrites(task: "task-a", path: "~1", [F.write(0, "x", "a0")])
        try await putWrites(task: "task-c", path: "~0", [F.write(0, "x", "c0")])
        // A regular batch again: existing rows are kept (insert-or-ignore).
        try await putWrites(task: "task-a", path: "~1", [F.write(0, "x", "a0-again"), F.write(1, "z", "a1")])
        // A special-only batch (__error__ = -1): replaces on conflict.
        try await putWrites(task: "task-c", path: "~0", [F.write(-1, "__error__", "first error")])
        try await putWrites(task: "task-c", path: "~0", [F.write(-1, "__error__", "second error")])
        // A mixed batch is not special-only, so it does not replace the -1 row.
        try await putWrites(task: "task-c", path: "~0", [F.write(-1, "__error__", "third error"), F.write(5, "x", "c5")])

        let record = try await h.client.checkpoint(threadID: thread)
        let writes = try XCTUnwrap(record?.pendingWrites)
        XCTAssertEqual(writes.map { "\($0.taskPath)|\($0.taskID)|\($0.index)|\(String(decoding: $0.value, as: UTF8.self))" }, [
            "~0|task-c|-1|second error", "~0|task-c|0|c0", "~0|task-c|5|c5",
            "~1|task-a|0|a0", "~1|task-a|1|a1",
            "~1|task-b|0|b0", "~1|task-b|1|b1",
        ])
        XCTAssertEqual(writes.first?.channel, "__error__")
        // Writes belong to their checkpoint only.
        try await h.client.putCheckpoint(F.put(thread: thread, id: F.id(2), parent: F.id(1)))
        let next = try await h.client.checkpoint(threadID: thread)
        XCTAssertEqual(next?.pendingWrites, [])
        await h.close()
    }

    func testListIsNewestFirstAcrossNamespacesWithFilterBeforeAndLimit() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("list")
        for number in 1...6 {
            let namespace = number.isMultiple(of: 2) ? "child:1" : ""
            let source = number <= 3 ? "input" : "loop"
            try await h.client.putCheckpoint(F.put(thread: thread, namespace: namespace, id: F.id(number),
                                                   metadata: #"{"source":"\#(source)","step":\#(number),"nested":{"k":"v\#(number % 2)"}}"#))
        }
        try await h.client.putCheckpoint(F.put(thread: h.thread("other"), id: F.id(7)))

        let all = try await h.client.checkpoints(CheckpointListRequest(threadID: thread))
        XCTAssertEqual(all.map(\.checkpointID), (1...6).reversed().map(F.id), "every namespace, newest first")
        let root = try await h.client.checkpoints(CheckpointListRequest(threadID: thread, namespace: ""))
        XCTAssertEqual(root.map(\.checkpointID), [5, 3, 1].map(F.id))
        let child = try await h.client.checkpoints(CheckpointListRequest(threadID: thread, namespace: "child:1"))
        XCTAssertEqual(child.map(\.checkpointID), [6, 4, 2].map(F.id))
        let loop = try await h.client.checkpoints(CheckpointListRequest(threadID: thread, filter: #"{"source":"loop"}"#))
        XCTAssertEqual(loop.map(\.checkpointID), [6, 5, 4].map(F.id))
        let nested = try await h.client.checkpoints(CheckpointListRequest(threadID: thread, filter: #"{"nested":{"k":"v1"},"source":"input"}"#))
        XCTAssertEqual(nested.map(\.checkpointID), [3, 1].map(F.id))
        let none = try await h.client.checkpoints(CheckpointListRequest(threadID: thread, filter: #"{"source":"update"}"#))
        XCTAssertEqual(none, [])
        let before = try await h.client.checkpoints(CheckpointListRequest(threadID: thread, before: F.id(4)))
        XCTAssertEqual(before.map(\.checkpointID), [3, 2, 1].map(F.id))
        let limited = try await h.client.checkpoints(CheckpointListRequest(threadID: thread, before: F.id(6), limit: 2))
        XCTAssertEqual(limited.map(\.checkpointID), [5, 4].map(F.id))
        let zero = try await h.client.checkpoints(CheckpointListRequest(threadID: thread, limit: 0))
        XCTAssertEqual(zero, [])
        let exact = try await h.client.checkpoints(CheckpointListRequest(threadID: thread, checkpointID: F.id(3)))
        XCTAssertEqual(exact.map(\.checkpointID), [F.id(3)])
        XCTAssertEqual(exact.first?.namespace, "")
        // No thread: every thread, here narrowed to this test's rows by a metadata filter.
        try await h.client.putCheckpoint(F.put(thread: h.thread("x"), id: F.id(8), metadata: #"{"tag":"\#(h.tag)"}"#))
        try await h.client.putCheckpoint(F.put(thread: h.thread("y"), id: F.id(9), metadata: #"{"tag":"\#(h.tag)"}"#))
        let everywhere = try await h.client.checkpoints(CheckpointListRequest(filter: #"{"tag":"\#(h.tag)"}"#))
        XCTAssertEqual(everywhere.map(\.threadID), [h.thread("y"), h.thread("x")])
        await h.close()
    }

    func testListStreamsPagesOfAtMost256Records() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("pages")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<8 {
                group.addTask {
                    for number in stride(from: worker, to: 600, by: 8) {
                        try await h.client.putCheckpoint(F.put(thread: thread, namespace: number.isMultiple(of: 3) ? "ns" : "",
                                                               id: F.id(number), versions: [("c", "\(number)")],
                                                               blobs: [("c", "\(number)", "\(number)")]))
                    }
                }
            }
            try await group.waitForAll()
        }
        var pageSizes: [Int] = []
        var ids: [String] = []
        for try await page in try await h.client.checkpointPages(CheckpointListRequest(threadID: thread)) {
            pageSizes.append(page.count)
            ids += page.map(\.checkpointID)
        }
        XCTAssertEqual(ids, (0..<600).reversed().map(F.id))
        XCTAssertGreaterThanOrEqual(pageSizes.count, 3, "\(pageSizes)")
        XCTAssertTrue(pageSizes.allSatisfy { $0 <= 256 }, "\(pageSizes)")
        let limited = try await h.client.checkpoints(CheckpointListRequest(threadID: thread, limit: 300))
        XCTAssertEqual(limited.map(\.checkpointID), (300..<600).reversed().map(F.id))
        XCTAssertEqual(limited.first?.channelValues.first?.value, Array("599".utf8))
        await h.close()
    }

    func testDeleteThreadRemovesEveryNamespaceAndLeavesOthers() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("delete")
        let keep = h.thread("keep")
        for namespace in ["", "child"] {
            try await h.client.putCheckpoint(F.put(thread: thread, namespace: namespace, id: F.id(1),
                                                   versions: [("a", "1")], blobs: [("a", "1", "1")]))
            try await h.client.putCheckpointWrites(CheckpointPutWritesRequest(
                threadID: thread, namespace: namespace, checkpointID: F.id(1), taskID: "t", writes: [F.write(0, "a", "w")]))
        }
        try await h.client.putCheckpoint(F.put(thread: keep, id: F.id(1), versions: [("a", "1")], blobs: [("a", "1", "1")]))
        try await h.client.deleteCheckpointThread(thread)
        for table in ["checkpoints", "checkpoint_blobs", "checkpoint_writes"] {
            let count = try await h.rowCount(table, thread: thread)
            XCTAssertEqual(count, 0, table)
        }
        let kept = try await h.client.checkpoint(threadID: keep)
        XCTAssertEqual(kept?.channelValues.count, 1)
        // Deleting a thread that does not exist is not an error.
        try await h.client.deleteCheckpointThread(thread)
        await h.close()
    }

    func testDeleteForRunsRemovesThoseCheckpointsWithTheirWritesOnly() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("runs")
        let runA = "\(h.tag)-run-a", runB = "\(h.tag)-run-b"
        try await h.client.putCheckpoint(F.put(thread: thread, id: F.id(1), metadata: #"{"run_id":"\#(runA)"}"#,
                                               versions: [("a", "1")], blobs: [("a", "1", "1")]))
        try await h.client.putCheckpoint(F.put(thread: thread, id: F.id(2), parent: F.id(1), metadata: #"{"run_id":"\#(runB)"}"#,
                                               versions: [("a", "1"), ("b", "1")], blobs: [("b", "1", "1")]))
        try await h.client.putCheckpoint(F.put(thread: thread, namespace: "child", id: F.id(3), metadata: #"{"run_id":"\#(runA)"}"#))
        try await h.client.putCheckpointWrites(CheckpointPutWritesRequest(threadID: thread, checkpointID: F.id(1), taskID: "t",
                                                                          writes: [F.write(0, "a", "w")]))
        let deleted = try await h.client.deleteCheckpoints(forRuns: [runA, "\(h.tag)-unknown"])
        XCTAssertEqual(deleted, 2)
        let remaining = try await h.client.checkpoints(CheckpointListRequest(threadID: thread))
        XCTAssertEqual(remaining.map(\.checkpointID), [F.id(2)])
        XCTAssertEqual(remaining.first?.channelValues.map(\.channel), ["a", "b"], "blobs still named by a checkpoint stay")
        let writes = try await h.rowCount("checkpoint_writes", thread: thread)
        XCTAssertEqual(writes, 0)
        let none = try await h.client.deleteCheckpoints(forRuns: [])
        XCTAssertEqual(none, 0)
        await h.close()
    }

    func testCopyThreadCopiesEverythingInOrderAndLeavesTheSource() async throws {
        let h = try await CheckpointHarness.make()
        let source = h.thread("source"), target = h.thread("target")
        for number in 1...3 {
            try await h.client.putCheckpoint(F.put(thread: source, namespace: number == 3 ? "child" : "", id: F.id(number),
                                                   parent: number == 2 ? F.id(1) : nil, metadata: #"{"step":\#(number)}"#,
                                                   versions: [("a", "\(number)")], blobs: [("a", "\(number)", "v\(number)")]))
        }
        try await h.client.putCheckpointWrites(CheckpointPutWritesRequest(threadID: source, checkpointID: F.id(2), taskID: "t",
                                                                          taskPath: "~0", writes: [F.write(0, "a", "w")]))
        let before = try await h.client.checkpoints(CheckpointListRequest(threadID: source))
        try await h.client.copyCheckpointThread(from: source, to: target)
        let copied = try await h.client.checkpoints(CheckpointListRequest(threadID: target))
        let after = try await h.client.checkpoints(CheckpointListRequest(threadID: source))
        XCTAssertEqual(after, before, "source unchanged")
        XCTAssertEqual(copied.map(\.checkpointID), before.map(\.checkpointID))
        XCTAssertTrue(copied.allSatisfy { $0.threadID == target })
        var relabelled = copied
        for index in relabelled.indices { relabelled[index].threadID = source }
        XCTAssertEqual(relabelled, before, "documents, parents, metadata, blobs and writes copied")
        XCTAssertEqual(copied.first { $0.checkpointID == F.id(2) }?.pendingWrites.count, 1)
        await h.close()
    }

    func testPruneKeepLatestPerNamespaceAndDelete() async throws {
        let h = try await CheckpointHarness.make()
        let first = h.thread("prune-1"), second = h.thread("prune-2"), untouched = h.thread("prune-3")
        for thread in [first, second, untouched] {
            for number in 1...4 {
                try await h.client.putCheckpoint(F.put(thread: thread, namespace: number == 4 ? "child" : "", id: F.id(number),
                                                       versions: [("a", "\(number)"), ("b", "1")],
                                                       blobs: [("a", "\(number)", "a\(number)")] + (number == 1 ? [("b", "1", "b")] : [])))
                try await h.client.putCheckpointWrites(CheckpointPutWritesRequest(threadID: thread, namespace: number == 4 ? "child" : "",
                                                                                  checkpointID: F.id(number), taskID: "t",
                                                                                  writes: [F.write(0, "a", "w")]))
            }
        }
        let kept = try await h.client.pruneCheckpoints(threadIDs: [first, second], strategy: .keepLatest)
        XCTAssertEqual(kept, 4, "2 of 3 in the root namespace of each thread; the child's only one stays")
        for thread in [first, second] {
            let remaining = try await h.client.checkpoints(CheckpointListRequest(threadID: thread))
            XCTAssertEqual(remaining.map(\.checkpointID), [F.id(4), F.id(3)])
            let root = remaining.first { $0.namespace == "" }
            XCTAssertEqual(root?.channelValues.map { String(decoding: $0.value, as: UTF8.self) }, ["a3", "b"],
                           "the old blob the latest still names (b@1) stays")
            XCTAssertEqual(root?.pendingWrites.count, 1)
            let blobs = try await h.rowCount("checkpoint_blobs", thread: thread)
            XCTAssertEqual(blobs, 3, "a@3, b@1 in the root namespace, a@4 in the child")
            let writes = try await h.rowCount("checkpoint_writes", thread: thread)
            XCTAssertEqual(writes, 2)
        }
        let deleted = try await h.client.pruneCheckpoints(threadIDs: [first], strategy: .delete)
        XCTAssertEqual(deleted, 2)
        for table in ["checkpoints", "checkpoint_blobs", "checkpoint_writes"] {
            let count = try await h.rowCount(table, thread: first)
            XCTAssertEqual(count, 0, table)
        }
        let others = try await h.client.checkpoints(CheckpointListRequest(threadID: untouched))
        XCTAssertEqual(others.count, 4)
        await h.close()
    }

    func testTwentyMegabyteValueRoundTrip() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("large")
        let large = Self.randomBytes(count: 20 << 20)
        let clock = ContinuousClock()
        let start = clock.now
        var request = F.put(thread: thread, id: F.id(1), versions: [("messages", "1")])
        request.blobs = [CheckpointBlob(channel: "messages", version: "1", type: "msgpack", value: large)]
        try await h.client.putCheckpoint(request, timeout: .seconds(120))
        let record = try await h.client.checkpoint(threadID: thread, timeout: .seconds(120))
        XCTAssertEqual(record?.channelValues.first?.value.count, large.count)
        XCTAssertTrue(record?.channelValues.first?.value == large, "20 MB value came back byte for byte")
        try await h.client.putCheckpointWrites(CheckpointPutWritesRequest(threadID: thread, checkpointID: F.id(1), taskID: "t",
                                                                          writes: [CheckpointWrite(index: 0, channel: "messages",
                                                                                                   type: "msgpack", value: large)]),
                                               timeout: .seconds(120))
        let listed = try await h.client.checkpoints(CheckpointListRequest(threadID: thread), timeout: .seconds(120))
        XCTAssertTrue(listed.first?.pendingWrites.first?.value == large)
        XCTAssertTrue(listed.first?.channelValues.first?.value == large)
        print("20 MB put, get, put_writes and list took \(clock.now - start) (debug build)")
        await h.close()
    }

    /// Random bytes, filled eight at a time: byte-wise generation takes seconds in debug builds.
    private static func randomBytes(count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for index in words.indices { words[index] = generator.next() }
        }
        return bytes
    }

    func testInvalidRequestsGiveInvalidArgument() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("invalid")
        for metadata in ["{not json", "[1,2]", "\"text\"", ""] {
            let error = await assertServerError(.invalidArgument) {
                try await h.client.putCheckpoint(F.put(thread: thread, id: F.id(1), metadata: metadata))
            }
            XCTAssertEqual(error?.details["field"], .string("metadata"), metadata)
        }
        // Valid for Foundation's parser perhaps, but not for jsonb (a lone surrogate): still the
        // client's invalid_argument, and the transaction leaves nothing behind.
        let surrogate = await assertServerError(.invalidArgument) {
            try await h.client.putCheckpoint(F.put(thread: thread, id: F.id(1), metadata: #"{"a":"\ud800"}"#,
                                                   versions: [("a", "1")], blobs: [("a", "1", "1")]))
        }
        XCTAssertEqual(surrogate?.details["field"], .string("metadata"), surrogate?.message ?? "")
        let orphanBlobs = try await h.rowCount("checkpoint_blobs", thread: thread)
        XCTAssertEqual(orphanBlobs, 0, "a failed put stores no blobs")
        let filterError = await assertServerError(.invalidArgument) {
            try await h.client.checkpoints(CheckpointListRequest(threadID: thread, filter: "{oops"))
        }
        XCTAssertEqual(filterError?.details["field"], .string("filter"))
        let emptyThread = await assertServerError(.invalidArgument) {
            try await h.client.putCheckpoint(F.put(thread: "", id: F.id(1)))
        }
        XCTAssertEqual(emptyThread?.details["field"], .string("thread_id"))
        await assertServerError(.invalidArgument) { try await h.client.checkpoint(threadID: "") }
        await assertServerError(.invalidArgument) { try await h.client.deleteCheckpointThread("") }
        // Unknown prune strategy, sent as raw bytes since the typed API cannot express it.
        var body = CheckpointPruneRequest(threadIDs: [thread], strategy: .delete).encodedBody
        body[body.count - 1] = 7
        let strategy = await assertServerError(.invalidArgument) { try await h.client.send(opcode: .checkpointPrune, body: body) }
        XCTAssertEqual(strategy?.details["field"], .string("strategy"))
        // A NUL escape in metadata is dropped (jsonb cannot hold it), as LangGraph's saver does.
        try await h.client.putCheckpoint(F.put(thread: thread, id: F.id(2), metadata: #"{"note":"a\u0000b","path":"c:\\u0000"}"#))
        let record = try await h.client.checkpoint(threadID: thread)
        XCTAssertEqual(try record?.decodedMetadata([String: String].self), ["note": "ab", "path": "c:\\u0000"])
        let nothing = try await h.rowCount("checkpoints", thread: thread)
        XCTAssertEqual(nothing, 1, "only the valid put stored a row")
        await h.close()
    }
}
