// Fork protection (protocol-spec.md §7.1, CHECKPOINT_PUT's expected_latest): two writers that
// advance one thread from the same parent must not both succeed, and a refused put leaves no
// trace; without the field, forks stay allowed (LangGraph's time travel needs them).
import Foundation
import XCTest
import StoreClient
import StoreServerCore
import WireProtocol

final class CheckpointForkTests: XCTestCase {
    typealias F = CheckpointFixtures

    private func put(_ thread: String, id: Int, parent: Int?, expecting expected: String?,
                     blob: String = "v") -> CheckpointPutRequest {
        var request = F.put(thread: thread, id: F.id(id), parent: parent.map(F.id),
                            versions: [("messages", "\(id)")], blobs: [("messages", "\(id)", blob)])
        request.expectedLatestCheckpointID = expected
        return request
    }

    func testConcurrentWritersFromOneParentExactlyOneWins() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("race")
        try await h.client.putCheckpoint(put(thread, id: 1, parent: nil, expecting: ""))
        // Several rounds, each with writers racing from the same parent, so a check that is not
        // atomic with the write would be caught letting two through.
        for round in 0..<5 {
            let parent = 1 + round * 10
            let contenders = (1...4).map { put(thread, id: parent + $0, parent: parent, expecting: F.id(parent)) }
            let client = h.client
            let outcomes = await withTaskGroup(of: (Int, ErrorCode?).self) { group in
                for (index, request) in contenders.enumerated() {
                    group.addTask {
                        do {
                            try await client.putCheckpoint(request)
                            return (index, nil)
                        } catch let StoreClientError.server(body) {
                            XCTAssertFalse(body.flags.contains(.retryable), "a conflict is not retryable")
                            return (index, body.code)
                        } catch {
                            XCTFail("unexpected \(error)")
                            return (index, .internalError)
                        }
                    }
                }
                return await group.reduce(into: [(Int, ErrorCode?)]()) { $0.append($1) }
            }
            let winners = outcomes.filter { $0.1 == nil }.map(\.0)
            XCTAssertEqual(winners.count, 1, "round \(round): \(outcomes)")
            XCTAssertEqual(outcomes.filter { $0.1 == .conflict }.count, contenders.count - 1)
            // The next round starts from the winner, renamed so ids keep increasing.
            let winner = contenders[winners[0]]
            var next = put(thread, id: 1 + (round + 1) * 10, parent: nil, expecting: winner.checkpointID)
            next.parentCheckpointID = winner.checkpointID
            try await h.client.putCheckpoint(next)
        }
        // One chain: every checkpoint's parent is the previous one's id.
        let records = try await h.client.checkpoints(CheckpointListRequest(threadID: thread))
        XCTAssertEqual(records.count, 11)
        for (newer, older) in zip(records, records.dropFirst()) {
            XCTAssertEqual(newer.parentCheckpointID, older.checkpointID)
        }
        await h.close()
    }

    func testStaleExpectationIsRefusedAndWritesNothing() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("stale")
        try await h.client.putCheckpoint(put(thread, id: 1, parent: nil, expecting: ""))
        try await h.client.putCheckpoint(put(thread, id: 2, parent: 1, expecting: F.id(1)))
        let blobsBefore = try await h.rowCount("checkpoint_blobs", thread: thread)
        // A writer that still believes checkpoint 1 is the newest.
        let body = await assertServerError(.conflict) {
            try await h.client.putCheckpoint(self.put(thread, id: 3, parent: 1, expecting: F.id(1), blob: "stale"))
        }
        XCTAssertEqual(body?.flags.contains(.retryable), false)
        XCTAssertTrue(body?.message.contains("another writer advanced the thread") ?? false, body?.message ?? "")
        // "" demands an empty thread, which this one is not.
        await assertServerError(.conflict) {
            try await h.client.putCheckpoint(self.put(thread, id: 4, parent: nil, expecting: ""))
        }
        let blobsAfter = try await h.rowCount("checkpoint_blobs", thread: thread)
        let checkpoints = try await h.rowCount("checkpoints", thread: thread)
        XCTAssertEqual(blobsAfter, blobsBefore, "a refused put stores no blobs")
        XCTAssertEqual(checkpoints, 2)
        // Another namespace of the same thread has its own history.
        var other = put(thread, id: 5, parent: nil, expecting: "")
        other.namespace = "child"
        try await h.client.putCheckpoint(other)
        await h.close()
    }

    func testWithoutExpectationForksAreAllowed() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("timetravel")
        try await h.client.putCheckpoint(put(thread, id: 1, parent: nil, expecting: nil))
        try await h.client.putCheckpoint(put(thread, id: 2, parent: 1, expecting: nil))
        // Time travel: a new branch from checkpoint 1 while 2 is the newest.
        try await h.client.putCheckpoint(put(thread, id: 3, parent: 1, expecting: nil))
        let count = try await h.rowCount("checkpoints", thread: thread)
        XCTAssertEqual(count, 3)
        let latest = try await h.client.checkpoint(threadID: thread)
        XCTAssertEqual(latest?.parentCheckpointID, F.id(1))
        await h.close()
    }

    func testRetriedPutWithTheSameExpectationSucceeds() async throws {
        let h = try await CheckpointHarness.make()
        let thread = h.thread("retry")
        try await h.client.putCheckpoint(put(thread, id: 1, parent: nil, expecting: ""))
        let second = put(thread, id: 2, parent: 1, expecting: F.id(1))
        try await h.client.putCheckpoint(second)
        // The response was lost and the client sends it again: the newest is now the id itself.
        try await h.client.putCheckpoint(second)
        let first = put(thread, id: 1, parent: nil, expecting: "")
        // An older checkpoint re-put with an expectation that no longer holds is refused.
        await assertServerError(.conflict) { try await h.client.putCheckpoint(first) }
        let count = try await h.rowCount("checkpoints", thread: thread)
        XCTAssertEqual(count, 2)
        await h.close()
    }
}
