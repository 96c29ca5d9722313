// A small pool of search scratch buffers shared by concurrent searches.

import Synchronization

/// Hands each concurrent search its own `SearchScratch`. Keeps at most `pooledMax` idle buffers:
/// one per thread that searches at once is enough, more would only hold memory.
final class ScratchPool: Sendable {
    /// Idle buffers kept. Each holds 4 bytes per slot, so 16 of them for a million vectors is 64 MB.
    static let pooledMax = 16

    private let idle = Mutex<[SearchScratch]>([])

    func borrow(slotCount: Int) -> SearchScratch {
        let reused = idle.withLock { $0.popLast() }
        return reused ?? SearchScratch(slotCount: slotCount)
    }

    func giveBack(_ scratch: SearchScratch) {
        idle.withLock { buffers in
            if buffers.count < Self.pooledMax { buffers.append(scratch) }
        }
    }
}
