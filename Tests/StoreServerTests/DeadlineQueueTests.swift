// The per-connection deadline heap: earliest first, and lazy removal of finished requests.
import XCTest
@testable import StoreServerCore

final class DeadlineQueueTests: XCTestCase {
    func testEarliestFirstForAnyInsertionOrder() {
        var random = FuzzGenerator(seed: 11)
        var queue = DeadlineQueue()
        var expected: [UInt64] = []
        for id in 0..<500 {
            let deadline = random.next() % 10_000
            queue.insert(deadline: deadline, requestID: UInt64(id))
            expected.append(deadline)
        }
        var popped: [UInt64] = []
        while let entry = queue.removeEarliest() { popped.append(entry.deadline) }
        XCTAssertEqual(popped, expected.sorted())
    }

    func testRetainKeepsOnlyLiveRequestsInOrder() {
        var queue = DeadlineQueue()
        for id in 0..<100 { queue.insert(deadline: UInt64(1000 - id), requestID: UInt64(id)) }
        queue.retain { $0 % 3 == 0 }
        XCTAssertEqual(queue.count, 34)
        var ids: [UInt64] = []
        while let entry = queue.removeEarliest() { ids.append(entry.requestID) }
        XCTAssertEqual(ids, stride(from: 99, through: 0, by: -1).filter { $0 % 3 == 0 }.map(UInt64.init))
    }
}
