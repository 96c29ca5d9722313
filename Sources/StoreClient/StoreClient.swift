import Synchronization
import WireProtocol

/// The client agents link: async calls over one multiplexed connection that is opened on first
/// use and reopened (with bounded backoff) after it breaks or the server sends GO_AWAY.
///
/// Safe to share between tasks. Every method throws only `StoreClientError`. Domains add typed
/// methods in extensions on top of `send(opcode:body:timeout:)` and
/// `stream(opcode:body:timeout:)`.
public final class StoreClient: Sendable {
    public let configuration: ClientConfiguration
    private let state = Mutex(ClientState())

    private struct ClientState {
        var connection: StoreConnection?
        /// The shared connect attempt, so concurrent callers open one connection, not many.
        var connecting: Task<Result<StoreConnection, StoreClientError>, Never>?
        var connectGeneration = 0
        /// Consecutive failed connects; sets the delay before the next attempt.
        var connectFailures = 0
        var isClosed = false
    }

    /// Creates a client without connecting; the first call connects.
    public init(configuration: ClientConfiguration) {
        self.configuration = configuration
    }

    /// A client dropped without `close()` still releases its socket and reader thread.
    deinit {
        state.withLock { $0.connection }?.fail(with: .closed)
    }

    /// Creates a client and connects it now, so a bad address or token shows up here.
    public static func connect(to configuration: ClientConfiguration) async throws(StoreClientError) -> StoreClient {
        let client = StoreClient(configuration: configuration)
        _ = try await client.connection()
        return client
    }

    /// The HELLO of the current connection (limits, server id), nil before the first connect.
    public var serverHello: Hello? {
        state.withLock { $0.connection }?.hello
    }

    /// Sends a request and returns its final response (partial `stream` responses are
    /// skipped; use `stream` for those). `timeout` (default `configuration.defaultTimeout`) goes
    /// in the header and is enforced locally: when it passes, CANCEL is sent and `.timedOut`
    /// thrown. Task cancellation sends CANCEL and throws `.cancelled`. Error responses throw
    /// `.server`. Bodies over the frame limit are chunked.
    public func send(opcode: Opcode, body: [UInt8] = [], timeout: Duration? = nil) async throws(StoreClientError) -> Message {
        let timeout = timeout ?? configuration.defaultTimeout
        var resends = 0
        while true {
            let connection = try await connection()
            do throws(StoreClientError) {
                return try await connection.call(opcode: opcode, body: body, timeout: timeout)
            } catch where error.wasNotExecuted && resends < ClientLimits.notExecutedResendMax {
                // The server provably did not run it (GO_AWAY); a new connection can.
                resends += 1
            }
        }
    }

    /// Sends a request whose partial responses (flag `stream`) and then final response arrive
    /// on the returned stream, which throws `StoreClientError`. Ending the iteration early
    /// sends CANCEL. The timeout covers the whole exchange.
    public func stream(opcode: Opcode, body: [UInt8] = [], timeout: Duration? = nil) async throws(StoreClientError) -> AsyncThrowingStream<Message, any Error> {
        let timeout = timeout ?? configuration.defaultTimeout
        var resends = 0
        while true {
            let connection = try await connection()
            do throws(StoreClientError) {
                return try connection.stream(opcode: opcode, body: body, timeout: timeout)
            } catch where error.wasNotExecuted && resends < ClientLimits.notExecutedResendMax {
                resends += 1
            }
        }
    }

    /// Says GOODBYE, waits for calls in flight, and closes. Later calls throw `.closed`.
    public func close() async {
        let (connection, connecting) = state.withLock { state in
            state.isClosed = true
            defer { state.connection = nil; state.connecting = nil }
            return (state.connection, state.connecting)
        }
        if let connecting, case let .success(late) = await connecting.value {
            await late.close()
        }
        await connection?.close()
    }

    /// The current usable connection, or a new one. A failed connect raises the delay before
    /// the next attempt (doubling, capped), so a down server is not hammered.
    func connection() async throws(StoreClientError) -> StoreConnection {
        let (task, generation): (Task<Result<StoreConnection, StoreClientError>, Never>, Int)
        let lookup: Result<StoreConnection, StoreClientError>? = state.withLock { state in
            if state.isClosed { return .failure(.closed) }
            if let connection = state.connection, connection.isUsable { return .success(connection) }
            return nil
        }
        if let lookup { return try lookup.get() }
        (task, generation) = state.withLock { state in
            if let connecting = state.connecting { return (connecting, state.connectGeneration) }
            let delay = Self.reconnectDelay(afterFailures: state.connectFailures)
            let configuration = configuration
            let task = Task { () -> Result<StoreConnection, StoreClientError> in
                if delay > .zero {
                    do {
                        try await Task.sleep(for: delay)
                    } catch {
                        // This task is never cancelled; if it were, connecting at once is fine.
                    }
                }
                do throws(StoreClientError) {
                    return .success(try await StoreConnection.open(configuration))
                } catch {
                    return .failure(error)
                }
            }
            state.connectGeneration += 1
            state.connecting = task
            return (task, state.connectGeneration)
        }
        let result = await task.value
        let orphan: StoreConnection? = state.withLock { state in
            guard state.connectGeneration == generation, state.connecting != nil else {
                // Another caller already recorded this attempt, or close() ran meanwhile.
                if case let .success(connection) = result, state.isClosed, state.connection !== connection {
                    return connection
                }
                return nil
            }
            state.connecting = nil
            switch result {
            case let .success(connection):
                state.connection = connection
                state.connectFailures = 0
            case .failure:
                state.connectFailures += 1
            }
            return nil
        }
        if let orphan { await orphan.close() }
        if state.withLock({ $0.isClosed }) { throw .closed }
        return try result.get()
    }

    static func reconnectDelay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        let doublings = min(failures - 1, 16)
        return min(ClientLimits.reconnectDelayInitial * (1 << doublings), ClientLimits.reconnectDelayMax)
    }
}
