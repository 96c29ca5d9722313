// The follow cursor's rules without a database: it moves only to reads whose writers ended.
import XCTest
@testable import StoreServerCore

final class MemoryFollowCursorTests: XCTestCase {
    func testCursorWaitsForEveryWriterListedAfterTheRead() {
        var cursor = MemoryFollowCursor(confirmed: 100)
        // A read saw up to 105 while transaction "3/7" (holding change 104, say) still ran.
        cursor.record(through: 105, writers: ["3/7"])
        XCTAssertNil(cursor.settled(running: ["3/7", "4/1"]), "3/7 still runs: 104 may still commit")
        // The next read saw up to 110; 3/7 still ran, so it is listed again.
        cursor.record(through: 110, writers: ["3/7", "4/1"])
        XCTAssertNil(cursor.settled(running: ["3/7"]))
        XCTAssertEqual(cursor.confirmed, 100)
        // 3/7 ended but 4/1 runs: only the first read is settled.
        XCTAssertEqual(cursor.settled(running: ["4/1"]), 105)
        cursor.confirm(105)
        XCTAssertEqual(cursor.confirmed, 105)
        XCTAssertTrue(cursor.hasPending)
        XCTAssertEqual(cursor.settled(running: []), 110)
        cursor.confirm(110)
        XCTAssertFalse(cursor.hasPending)
    }

    func testReadsWithNothingNewAddNoEntryAndTheCursorNeverMovesBack() {
        var cursor = MemoryFollowCursor(confirmed: 50)
        cursor.record(through: 0, writers: ["1/1"])
        cursor.record(through: 50, writers: ["1/1"])
        XCTAssertFalse(cursor.hasPending)
        cursor.record(through: 60, writers: [])
        cursor.record(through: 60, writers: ["9/9"])
        // The second read of 60 adds nothing: the first entry, with no writers, settles it.
        XCTAssertEqual(cursor.settled(running: ["9/9"]), 60)
        cursor.confirm(60)
        cursor.confirm(55)
        XCTAssertEqual(cursor.confirmed, 60)
    }
}
