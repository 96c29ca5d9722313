// Lets memory writes run concurrently, while loading the index of a collection this server has
// not seen yet waits for all of them to finish: no write can commit between the load's read of
// PostgreSQL and the index's registration, where it would reach neither.

actor MemoryWriteGate {
    private var writers = 0
    private var exclusive = false
    private var waitingWriters: [CheckedContinuation<Void, Never>] = []
    private var waitingExclusive: [CheckedContinuation<Void, Never>] = []

    /// Runs a write (PostgreSQL commit plus index update) that a collection load must not split.
    nonisolated func write<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await enterWrite()
        do {
            let value = try await body()
            await leaveWrite()
            return value
        } catch {
            await leaveWrite()
            throw error
        }
    }

    /// Runs `body` with no write in flight; new writes wait until it returns.
    nonisolated func exclusively<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        await enterExclusive()
        do {
            let value = try await body()
            await leaveExclusive()
            return value
        } catch {
            await leaveExclusive()
            throw error
        }
    }

    private func enterWrite() async {
        // Writers queue behind a waiting snapshot too, so a steady stream of writes cannot
        // starve it.
        if exclusive || !waitingExclusive.isEmpty {
            // leaveExclusive counts us in `writers` before resuming us.
            await withCheckedContinuation { waitingWriters.append($0) }
        } else {
            writers += 1
        }
    }

    private func leaveWrite() {
        writers -= 1
        if writers == 0, !waitingExclusive.isEmpty {
            exclusive = true
            waitingExclusive.removeFirst().resume()
        }
    }

    private func enterExclusive() async {
        if exclusive || writers > 0 {
            await withCheckedContinuation { waitingExclusive.append($0) }
            // leaveWrite or leaveExclusive set `exclusive` before resuming us.
        } else {
            exclusive = true
        }
    }

    private func leaveExclusive() {
        if !waitingExclusive.isEmpty && waitingWriters.isEmpty {
            waitingExclusive.removeFirst().resume()
            return
        }
        exclusive = false
        let released = waitingWriters
        waitingWriters.removeAll()
        writers += released.count
        for writer in released { writer.resume() }
    }
}
