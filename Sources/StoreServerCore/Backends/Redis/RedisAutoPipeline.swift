// Automatic pipelining for RedisPool.execute: commands issued concurrently are queued and sent
// in batches, one round trip per batch, on at most `flushersMax` pooled connections. Without it
// each command holds a pooled connection for a whole round trip, so a pool of 4 caps the server
// at 4 commands per round trip however many clients wait; with it, waiting commands ride along.
//
// A command still queued after the pool's `acquireTimeout` (every connection stuck on a slow
// batch) fails with `.poolExhausted`, as a caller waiting for a connection would; it is noticed
// when a flusher next takes a batch.
//
// A caller's own commands stay in order (it awaits each before issuing the next). Commands in
// one batch share its fate: if the connection breaks, each of them fails with `.unavailable`
// (outcome unknown), exactly as a lone command on that connection would have.
import Synchronization

final class RedisAutoPipeline: Sendable {
    /// Commands per batch: bounds the reply buffer one round trip builds and the delay a batch
    /// adds to its last command; past a few dozen, round trips are no longer the cost.
    static let batchCommandsMax = 64

    private struct Pending {
        let arguments: [[UInt8]]
        let enqueuedAt: ContinuousClock.Instant
        let continuation: CheckedContinuation<Result<RedisReply, BackendError>, Never>
    }

    private struct State {
        var pending: [Pending] = []
        /// Tasks draining `pending`, each on its own pooled connection.
        var flushers = 0
        var isShutDown = false
    }

    private let flushersMax: Int
    private let queueWaitMax: Duration
    private let state = Mutex(State())

    /// - Parameters:
    ///   - flushersMax: connections used for batches at once (the pool size).
    ///   - queueWaitMax: how long a command may wait in the queue (the pool's acquire timeout).
    init(flushersMax: Int, queueWaitMax: Duration) {
        precondition(flushersMax > 0)
        self.flushersMax = flushersMax
        self.queueWaitMax = queueWaitMax
    }

    func execute(_ arguments: [[UInt8]], using pool: RedisPool, shutDownError: BackendError) async throws(BackendError) -> RedisReply {
        let result: Result<RedisReply, BackendError> = await withCheckedContinuation { continuation in
            enum Decision { case refuse, queued, startFlusher }
            let decision: Decision = state.withLock { state in
                if state.isShutDown { return .refuse }
                state.pending.append(Pending(arguments: arguments, enqueuedAt: .now, continuation: continuation))
                guard state.flushers < flushersMax else { return .queued }
                state.flushers += 1
                return .startFlusher
            }
            switch decision {
            case .refuse: continuation.resume(returning: .failure(shutDownError))
            case .queued: break
            case .startFlusher: Task { await self.flush(using: pool) }
            }
        }
        return try result.get()
    }

    /// Fails every queued command; later calls are refused.
    func shutdown(error: BackendError) {
        let pending = state.withLock { state in
            state.isShutDown = true
            defer { state.pending = [] }
            return state.pending
        }
        pending.forEach { $0.continuation.resume(returning: .failure(error)) }
    }

    /// Up to `batchCommandsMax` queued commands; when none are left, the caller stops being a
    /// flusher (decided under the same lock as enqueueing, so no command is left without one).
    private func takeBatch() -> [Pending] {
        let deadline = ContinuousClock.now - queueWaitMax
        let (batch, expired) = state.withLock { state -> ([Pending], [Pending]) in
            // The queue is in arrival order, so the expired commands are a prefix.
            let expiredCount = state.pending.prefix { $0.enqueuedAt < deadline }.count
            let expired = Array(state.pending.prefix(expiredCount))
            state.pending.removeFirst(expiredCount)
            if state.pending.isEmpty {
                state.flushers -= 1
                return ([], expired)
            }
            let count = min(Self.batchCommandsMax, state.pending.count)
            defer { state.pending.removeFirst(count) }
            return (Array(state.pending.prefix(count)), expired)
        }
        expired.forEach { $0.continuation.resume(returning: .failure(.poolExhausted(backend: "redis"))) }
        return batch
    }

    private func flush(using pool: RedisPool) async {
        while true {
            var batch: [Pending] = []
            do {
                let finished: Bool = try await pool.withConnection { connection throws(BackendError) in
                    while true {
                        batch = takeBatch()
                        guard !batch.isEmpty else { return true }
                        let replies = try await connection.pipeline(batch.map(\.arguments))
                        for (pending, reply) in zip(batch, replies) {
                            pending.continuation.resume(returning: .success(reply))
                        }
                        batch = []
                    }
                }
                if finished { return }
            } catch {
                // The connection broke mid-batch, or none could be had (Redis down, pool busy
                // past its wait limit): fail the batch in hand, or the next one waiting.
                if batch.isEmpty { batch = takeBatch() }
                guard !batch.isEmpty else { return }
                batch.forEach { $0.continuation.resume(returning: .failure(error)) }
                // Try another connection only for commands still waiting: a connect attempt
                // with nothing to send would only renew the pool's fail-fast window.
                guard continuesWithPendingCommands() else { return }
            }
        }
    }

    /// True when commands are queued; otherwise the caller stops being a flusher.
    private func continuesWithPendingCommands() -> Bool {
        state.withLock { state in
            if state.pending.isEmpty {
                state.flushers -= 1
                return false
            }
            return true
        }
    }
}
