import Dispatch
import Foundation
import Synchronization
import WireProtocol

/// One TCP connection to a server, multiplexing many concurrent calls by request id.
///
/// Threads: a dedicated reader thread does blocking reads and dispatches each response to its
/// caller; a serial write queue does blocking writes of whatever frames have been queued since
/// the last write (so concurrent calls share system calls); a timer queue fires local timeouts.
/// None of this runs on Swift's cooperative pool. All shared state is in `state`.
final class StoreConnection: Sendable {
    let configuration: ClientConfiguration
    let socket: TCPSocket
    let state = Mutex(ConnectionState())
    let writeQueue = DispatchQueue(label: "store-client.write")
    let timerQueue = DispatchQueue(label: "store-client.timers")

    private init(configuration: ClientConfiguration, socket: TCPSocket) {
        self.configuration = configuration
        self.socket = socket
    }

    /// Connects, exchanges preface and HELLO, and authenticates when a token is configured, all
    /// within `configuration.connectTimeout`.
    static func open(_ configuration: ClientConfiguration) async throws(StoreClientError) -> StoreConnection {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: configuration.connectTimeout)
        let socket = try await connectSocket(configuration)
        let connection = StoreConnection(configuration: configuration, socket: socket)
        do throws(StoreClientError) {
            try await connection.handshake(remaining: { deadline - clock.now })
            return connection
        } catch {
            connection.fail(with: error)
            throw error
        }
    }

    /// Runs the blocking connect on a Dispatch thread, not the cooperative pool.
    private static func connectSocket(_ configuration: ClientConfiguration) async throws(StoreClientError) -> TCPSocket {
        let result: Result<TCPSocket, StoreClientError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(returning: Result { () throws(StoreClientError) -> TCPSocket in
                    try TCPSocket.connect(host: configuration.host, port: configuration.port,
                                          timeout: configuration.connectTimeout)
                })
            }
        }
        return try result.get()
    }

    private func handshake(remaining: () -> Duration) async throws(StoreClientError) {
        // Id 0 stands for the HELLO in the pending table, so the HELLO wait shares the timeout
        // and failure paths of ordinary calls.
        state.withLock { state in
            state.pending[0] = PendingRequest(sink: .single(.awaitingContinuation),
                                              timer: makeTimer(for: 0, after: remaining()))
        }
        let preface = Preface(features: configuration.wantsChecksums ? [.checksums] : [])
        if state.withLock({ $0.queueRaw(preface.encoded) }) { scheduleFlush() }
        startReader()
        _ = try await waitForResponse(to: 0)
        let hello = state.withLock { $0.hello }
        guard let hello else { throw .protocolViolation("HELLO wait ended without a HELLO") }
        try await authenticateIfNeeded(hello, timeout: remaining())
        state.withLock { state in
            state.frameBodyBytesMax = hello.limits.frameBodyBytesMax
            if state.phase == .handshaking { state.phase = .ready }
        }
    }

    private func authenticateIfNeeded(_ hello: Hello, timeout: Duration) async throws(StoreClientError) {
        let mechanisms = hello.capabilities[CapabilityKey.authMechanisms]
        let offersToken: Bool = if case let .list(names) = mechanisms { names.contains(.string("token")) } else { false }
        guard let token = configuration.token else {
            if hello.authenticationRequired {
                throw .handshakeFailed(reason: "the server requires authentication and no token is configured")
            }
            return
        }
        guard offersToken else {
            if hello.authenticationRequired {
                throw .handshakeFailed(reason: "the server requires authentication but does not offer the token mechanism")
            }
            return
        }
        let request = AuthRequest(mechanism: "token", credential: Array(token.utf8))
        let response: Message
        do throws(StoreClientError) {
            response = try await call(opcode: .auth, body: request.encodedBody, timeout: timeout, isSessionRequest: true)
        } catch .timedOut {
            throw .connectFailed(reason: "no AUTH response within the connect timeout")
        }
        do {
            _ = try AuthResponse.decode(body: response.body)
        } catch {
            throw .protocolViolation("undecodable AUTH response: \(error)")
        }
    }

    var hello: Hello? { state.withLock { $0.hello } }

    /// True while new calls may be sent here (not draining, closing or broken).
    var isUsable: Bool { state.withLock { $0.acceptsRequests } }

    /// Sends one request and waits for its final response. Task cancellation and the local
    /// timeout both send CANCEL for the request and throw.
    func call(opcode: Opcode, body: [UInt8], timeout: Duration,
              isSessionRequest: Bool = false) async throws(StoreClientError) -> Message {
        if Task.isCancelled { throw .cancelled }
        let id = try register(opcode: opcode, body: body, timeout: timeout,
                              sink: .single(.awaitingContinuation), isSessionRequest: isSessionRequest)
        return try await waitForResponse(to: id)
    }

    /// Sends one request whose partial responses (flag `stream`) and final response arrive on
    /// the returned stream. Ending the iteration early sends CANCEL.
    func stream(opcode: Opcode, body: [UInt8], timeout: Duration) throws(StoreClientError) -> AsyncThrowingStream<Message, any Error> {
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: Message.self, throwing: (any Error).self)
        let id = try register(opcode: opcode, body: body, timeout: timeout, sink: .stream(continuation))
        continuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.abandon(id, with: .cancelled) }
        }
        return stream
    }

    private func waitForResponse(to id: UInt64) async throws(StoreClientError) -> Message {
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    attach(continuation, to: id)
                }
            } onCancel: {
                abandon(id, with: .cancelled)
            }
        } catch let error as StoreClientError {
            throw error
        } catch {
            // Only StoreClientError values are ever resumed into these continuations.
            preconditionFailure("unexpected error type: \(error)")
        }
    }

    /// Hands the caller's continuation to its pending entry, or resumes it at once when the
    /// outcome arrived first.
    private func attach(_ continuation: CheckedContinuation<Message, any Error>, to id: UInt64) {
        let parked: Result<Message, StoreClientError>? = state.withLock { state in
            guard var entry = state.pending[id], case let .single(slot) = entry.sink else {
                return .failure(.protocolViolation("request \(id) vanished before its response"))
            }
            switch slot {
            case let .finished(result):
                state.pending[id] = nil
                noteCompletion(&state)
                return result
            case .awaitingContinuation, .waiting:
                entry.sink = .single(.waiting(continuation))
                state.pending[id] = entry
                return nil
            }
        }
        if let parked { continuation.resume(with: parked.mapError { $0 as any Error }) }
    }

    /// Allocates the next id, registers the sink and queues the frames, all under one lock so ids
    /// reach the socket in increasing order.
    private func register(opcode: Opcode, body: [UInt8], timeout: Duration, sink: ResponseSink,
                          isSessionRequest: Bool = false) throws(StoreClientError) -> UInt64 {
        let result: Result<(UInt64, Bool), StoreClientError> = state.withLock { state in
            switch state.phase {
            case .ready: break
            // AUTH during the handshake and GOODBYE while closing are the connection's own.
            case .handshaking where isSessionRequest, .closing where isSessionRequest: break
            case .handshaking: return .failure(.connectFailed(reason: "connection not ready"))
            case let .draining(lastRequestID): return .failure(.serverGoingAway(lastRequestID: lastRequestID))
            case .closing: return .failure(.closed)
            case let .failed(error): return .failure(error)
            }
            guard body.count <= state.messageBytesMax else {
                return .failure(.requestTooLarge(limit: state.messageBytesMax, actual: body.count))
            }
            let id = state.nextRequestID
            state.nextRequestID += 1
            state.pending[id] = PendingRequest(sink: sink, timer: makeTimer(for: id, after: timeout))
            let frames = MessageFramer.frames(opcode: opcode, flags: [], requestID: id,
                                              timeoutMilliseconds: timeout.headerMilliseconds, body: body,
                                              bodyBytesMax: state.frameBodyBytesMax)
            return .success((id, state.queue(frames)))
        }
        let (id, needsFlush) = try result.get()
        if needsFlush { scheduleFlush() }
        return id
    }

    private func makeTimer(for id: UInt64, after timeout: Duration) -> DispatchWorkItem {
        let timer = DispatchWorkItem { [weak self] in
            guard let self else { return }
            if id == 0 {
                self.fail(with: .connectFailed(reason: "no HELLO within \(self.configuration.connectTimeout)"))
            } else {
                self.abandon(id, with: .timedOut(after: timeout))
            }
        }
        let nanoseconds = max(0, Int(clamping: timeout.components.seconds) &* 1_000_000_000
                                   &+ Int(timeout.components.attoseconds / 1_000_000_000))
        timerQueue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds), execute: timer)
        return timer
    }

    /// Gives up on a request locally (timeout or cancellation) and tells the server with CANCEL.
    func abandon(_ id: UInt64, with error: StoreClientError) {
        let (completion, needsFlush): (Completion?, Bool) = state.withLock { state in
            guard let completion = state.complete(id, with: .failure(error)) else { return (nil, false) }
            noteCompletion(&state)
            guard id != 0, !isFailed(state.phase) else { return (completion, false) }
            let cancel = Frame(header: FrameHeader(bodyLength: 0, opcode: .cancel, flags: [], requestID: id), body: [])
            return (completion, state.queue([cancel]))
        }
        if needsFlush { scheduleFlush() }
        completion?.run()
    }

    /// Called under the lock after an entry leaves the table: wakes `close()` waiters when the
    /// table is empty and closes a draining connection whose last accepted request is done.
    func noteCompletion(_ state: inout ConnectionState) {
        guard state.pending.isEmpty else { return }
        let waiters = state.drainWaiters
        state.drainWaiters = []
        for waiter in waiters { waiter.resume() }
        if case .draining = state.phase { socket.shutdown() }
    }

    private func isFailed(_ phase: ConnectionState.Phase) -> Bool {
        if case .failed = phase { true } else { false }
    }

    /// Breaks the connection: every pending call fails with `error` and the socket is shut down
    /// (the reader then exits and releases the descriptor). Idempotent.
    func fail(with error: StoreClientError) {
        let completions: [Completion] = state.withLock { state in
            if isFailed(state.phase) { return [] }
            state.phase = .failed(error)
            _ = state.takeOutbound()
            let completions = state.completeAll(with: error)
            noteCompletion(&state)
            return completions
        }
        socket.shutdown()
        for completion in completions { completion.run() }
    }

    /// Says GOODBYE (the server finishes in-flight calls first), waits for every pending call,
    /// then closes the socket.
    func close() async {
        let sayGoodbye = state.withLock { state in
            guard state.phase == .ready else { return false }
            state.phase = .closing
            return true
        }
        if sayGoodbye {
            do {
                let id = try register(opcode: .goodbye, body: [], timeout: ClientLimits.goodbyeTimeout,
                                      sink: .single(.awaitingContinuation), isSessionRequest: true)
                _ = try await waitForResponse(to: id)
            } catch {
                // The connection is being closed either way; a failed GOODBYE changes nothing.
            }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drained = state.withLock { state in
                if state.pending.isEmpty { return true }
                state.drainWaiters.append(continuation)
                return false
            }
            if drained { continuation.resume() }
        }
        fail(with: .closed)
    }

    func scheduleFlush() {
        writeQueue.async { [self] in flush() }
    }

    /// Writes everything queued, repeating until the queue is empty, so frames queued during a
    /// write go out in the next one.
    private func flush() {
        while true {
            let bytes: [UInt8]? = state.withLock { state in
                guard !isFailed(state.phase), state.outbound.count > 0 else {
                    state.flushScheduled = false
                    return nil
                }
                return state.takeOutbound()
            }
            guard let bytes else { return }
            do throws(StoreClientError) {
                try socket.write(bytes)
            } catch {
                fail(with: error)
                return
            }
        }
    }
}
