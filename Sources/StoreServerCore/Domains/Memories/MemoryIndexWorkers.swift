// Runs index work (graph inserts, searches, snapshot encoding) on Dispatch threads instead of
// Swift's cooperative pool, which has one thread per core (2 here): a rebuild inserting
// 100,000 vectors must not occupy a thread every other domain's requests need.
import Dispatch

struct MemoryIndexWorkers: Sendable {
    private let queue = DispatchQueue(label: "agent-store.memories.index", qos: .userInitiated, attributes: .concurrent)

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try body() }) }
        }
    }
}
