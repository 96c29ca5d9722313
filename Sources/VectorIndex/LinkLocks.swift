// Striped locks over the graph's link lists, for linking new nodes on several threads at once.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One mutex per stripe of slots (`slot % stripeCount`). Used only by a parallel bulk insert,
/// which runs under the index's write lock, so searches never pay for these locks.
///
/// A thread holds at most one stripe at a time (it copies a list out, or changes one list, and
/// lets go), so stripes shared by unrelated slots cannot deadlock. hnswlib keeps one lock per
/// node instead; a fixed number of stripes keeps the memory constant (40 bytes each).
final class LinkLocks: @unchecked Sendable {
    // @unchecked: the pthread mutexes are themselves the synchronization; the pointer never changes.

    /// Stripes. With 2 to 16 threads each touching a few random slots at a time, 4,096 stripes
    /// make two threads wanting the same stripe rare, and cost 160 KiB.
    static let stripeCount = 4096

    private let mutexes: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutexes = .allocate(capacity: Self.stripeCount)
        for stripe in 0..<Self.stripeCount {
            let status = pthread_mutex_init(mutexes + stripe, nil)
            precondition(status == 0, "pthread_mutex_init failed: \(status)")
        }
    }

    deinit {
        for stripe in 0..<Self.stripeCount { pthread_mutex_destroy(mutexes + stripe) }
        mutexes.deallocate()
    }

    @inline(__always)
    func withLock<Result>(_ slot: UInt32, _ body: () -> Result) -> Result {
        let mutex = mutexes + Int(slot % UInt32(Self.stripeCount))
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Copies the `[count, neighbour…]` list at `list` (of `slot`) into `destination` under the
    /// slot's stripe, so the caller reads a consistent list while other threads change it.
    @inline(__always)
    func copyLinks(of slot: UInt32, from list: UnsafePointer<UInt32>, into destination: UnsafeMutablePointer<UInt32>) {
        withLock(slot) {
            destination.update(from: list, count: 1 + Int(list[0]))
        }
    }
}
