// Mutual exclusion across suspension points, striped by key: a holder may await (a cache write)
// while others on the same stripe wait without blocking a thread. FIFO per stripe.
import Synchronization

final class AsyncStripedLock: Sendable {
    private struct Stripe {
        var isLocked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    /// One Mutex for all stripes (Mutex is not copyable, so not storable in an array); it is
    /// held only for a few instructions, never across a suspension.
    private let stripes: Mutex<[Stripe]>
    let stripeCount: Int

    init(stripeCount: Int) {
        precondition(stripeCount > 0)
        self.stripeCount = stripeCount
        stripes = Mutex(Array(repeating: Stripe(), count: stripeCount))
    }

    func stripe(for key: String) -> Int {
        // FNV-1a: stable and cheap; the standard hash would do as well within one process.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return Int(hash % UInt64(stripeCount))
    }

    /// Runs `body` holding the stripe. Not cancellable while waiting: holders only do short
    /// cache calls, and a waiter that gave up would need its place in the queue removed.
    func withLock<T: Sendable>(stripe index: Int, _ body: () async throws -> T) async rethrows -> T {
        await acquire(index)
        defer { release(index) }
        return try await body()
    }

    private func acquire(_ index: Int) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = stripes.withLock { stripes -> Bool in
                if stripes[index].isLocked {
                    stripes[index].waiters.append(continuation)
                    return false
                }
                stripes[index].isLocked = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release(_ index: Int) {
        let next = stripes.withLock { stripes -> CheckedContinuation<Void, Never>? in
            if stripes[index].waiters.isEmpty {
                stripes[index].isLocked = false
                return nil
            }
            // Ownership passes straight to the next waiter; the stripe stays locked.
            return stripes[index].waiters.removeFirst()
        }
        next?.resume()
    }
}
