// The write gate that lets a snapshot see no write in flight: writes run together, a snapshot
// waits for them and holds new ones off until it is done.
import Synchronization
import XCTest
@testable import StoreServerCore

/// Events in the order they happened, from any task.
private final class EventLog: Sendable {
    private let events = Mutex<[String]>([])
    func record(_ event: String) { events.withLock { $0.append(event) } }
    var all: [String] { events.withLock { $0 } }
}

/// How many writes ran at once, at most.
private final class Concurrency: Sendable {
    private let counts = Mutex((now: 0, most: 0))
    func enter() { counts.withLock { $0.now += 1; $0.most = max($0.most, $0.now) } }
    func leave() { counts.withLock { $0.now -= 1 } }
    var most: Int { counts.withLock { $0.most } }
}

final class MemoryWriteGateTests: XCTestCase {
    func testExclusiveSectionWaitsForWritesAndHoldsNewOnesOff() async throws {
        let gate = MemoryWriteGate()
        let log = EventLog()

        let slowWrite = Task {
            try await gate.write {
                log.record("write-1 start")
                try await Task.sleep(for: .milliseconds(400))
                log.record("write-1 end")
            }
        }
        while !log.all.contains("write-1 start") { try await Task.sleep(for: .milliseconds(5)) }
        let snapshot = Task {
            try await gate.exclusively {
                log.record("snapshot start")
                try await Task.sleep(for: .milliseconds(100))
                log.record("snapshot end")
            }
        }
        // Time for the snapshot to queue (a few microseconds of work; generous for a loaded machine).
        try await Task.sleep(for: .milliseconds(100))
        let lateWrite = Task {
            try await gate.write { log.record("write-2") }
        }
        try await slowWrite.value
        try await snapshot.value
        try await lateWrite.value
        XCTAssertEqual(log.all,
                       ["write-1 start", "write-1 end", "snapshot start", "snapshot end", "write-2"])
    }

    func testWritesRunConcurrently() async throws {
        let gate = MemoryWriteGate()
        let running = Concurrency()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await gate.write {
                        running.enter()
                        try await Task.sleep(for: .milliseconds(50))
                        running.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        XCTAssertEqual(running.most, 4)
    }
}
