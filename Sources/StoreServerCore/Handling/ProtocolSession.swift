// The protocol state of one connection: preface and hello, authentication, frame decoding and
// chunk joining, request id rules, dispatch to operations, in-flight accounting, timeouts,
// cancel, ping, goodbye and go-away. It runs only on its connection's serial queue and talks to
// the socket only through ConnectionOutput, so it is tested without sockets.
import Dispatch
import WireProtocol

final class ProtocolSession: ConnectionEvents, @unchecked Sendable {
    // Safe: every method runs on `output.queue` (transport callbacks arrive there, and work
    // finished elsewhere hops back with `queue.async` before touching this state).

    enum Phase {
        case awaitingPreface
        case authenticating
        case ready
        /// Goodbye received or go-away sent: no new requests; close when in-flight work is done.
        case closing
        case closed
    }

    private struct PendingRequest {
        let opcode: Opcode
        let task: Task<Void, Never>?
        let startedAt: UInt64
    }

    struct Context: Sendable {
        let configuration: ServerConfiguration
        let router: OperationRouter
        let authenticator: Authenticator
        let statistics: ServerStatistics
        let metrics: OperationMetrics
        let logger: Logger
    }

    let connectionID: UInt64
    private let output: any ConnectionOutput
    private let peer: SocketAddress
    private let context: Context
    private var queue: DispatchQueue { output.queue }
    private var limits: ProtocolLimits { context.configuration.limits }

    private(set) var phase = Phase.awaitingPreface
    private var transportClosed = false
    private var prefaceBytes: [UInt8] = []
    private var decoder = FrameDecoder(bodyBytesMax: ProtocolLimits.unauthenticatedFrameBodyBytesMax)
    private var assembler: MessageAssembler
    private var checksumsEnabled = false
    private var principal: String?
    private var authenticated = false
    private var failedAuthCount = 0

    private var lastRequestID: UInt64 = 0
    private var pending: [UInt64: PendingRequest] = [:]
    private var goodbyeRequestID: UInt64?
    private var goAwayLastRequestID: UInt64?

    private let connectedAt: UInt64
    private var lastReceivedAt: UInt64
    private var lastRequestAt: UInt64
    private var partialFrameSince: UInt64?
    private var serverPingSentAt: UInt64?
    private var deadlines = DeadlineQueue()
    private var deadlineTimer: DispatchSourceTimer?
    /// The deadline the timer is armed for; nil when disarmed.
    private var armedDeadline: UInt64?
    private var serverPingPayload: UInt64 = 0

    init(connectionID: UInt64, output: any ConnectionOutput, peer: SocketAddress, context: Context) {
        self.connectionID = connectionID
        self.output = output
        self.peer = peer
        self.context = context
        assembler = MessageAssembler(bufferedBytesMax: context.configuration.limits.messageBytesMax)
        connectedAt = MonotonicClock.nanoseconds()
        lastReceivedAt = connectedAt
        lastRequestAt = connectedAt
    }

    var inFlightCount: Int { pending.count }

    // MARK: ConnectionEvents

    func connectionReceived(_ bytes: UnsafeRawBufferPointer) {
        guard phase != .closed else { return }
        let now = MonotonicClock.nanoseconds()
        lastReceivedAt = now
        var remaining = bytes[...]
        if phase == .awaitingPreface {
            let needed = Preface.byteCount - prefaceBytes.count
            prefaceBytes.append(contentsOf: remaining.prefix(needed))
            remaining = remaining.dropFirst(needed)
            do {
                try Preface.checkPrefix(prefaceBytes)
                guard prefaceBytes.count == Preface.byteCount else { return }
                try acceptPreface(try Preface.decode(prefaceBytes))
            } catch let violation as ProtocolViolation {
                // Errors answering the preface take the hello's place (spec section 4).
                failConnection(violation, opcode: .hello)
                return
            } catch {
                failConnection(ProtocolViolation(.internalError, "preface handling failed: \(error)"), opcode: .hello)
                return
            }
            if remaining.isEmpty { return }
        }
        decoder.append(UnsafeRawBufferPointer(rebasing: remaining))
        processFrames(now: now)
    }

    func connectionTick(now: UInt64) {
        switch phase {
        case .closed:
            return
        case .awaitingPreface, .authenticating:
            if elapsed(since: connectedAt, now: now) > context.configuration.handshakeTimeout {
                failConnection(ProtocolViolation(.deadlineExceeded, "handshake and authentication did not finish in time"))
                return
            }
        case .ready, .closing:
            break
        }
        if let since = partialFrameSince, elapsed(since: since, now: now) > context.configuration.frameCompletionTimeout {
            failConnection(ProtocolViolation(.deadlineExceeded, "a started frame was not completed in time"))
            return
        }
        checkLiveness(now: now)
    }

    func connectionClosed() {
        guard !transportClosed else { return }
        transportClosed = true
        phase = .closed
        // Never suspended, so cancelling is safe; the handler holds the session only weakly.
        deadlineTimer?.cancel()
        deadlineTimer = nil
        for (_, request) in pending {
            request.task?.cancel()
            context.statistics.requestFinished()
        }
        pending.removeAll()
        context.statistics.connectionClosed()
    }

    // MARK: Shutdown

    /// Server shutdown: announce go-away, refuse new requests, finish those in flight, close.
    func beginDrain(reason: String) {
        guard phase != .closed else { return }
        if phase == .awaitingPreface || phase == .authenticating {
            output.closeAfterFlush()
            return
        }
        sendGoAway(reason: reason)
        closeIfFinished()
    }

    private func sendGoAway(reason: String) {
        guard goAwayLastRequestID == nil else { return }
        goAwayLastRequestID = lastRequestID
        phase = .closing
        let goAway = GoAway(lastRequestID: lastRequestID, code: .shuttingDown, message: reason)
        send(opcode: .goAway, flags: [], requestID: 0, body: goAway.encodedBody)
    }

    // MARK: Handshake

    private func acceptPreface(_ preface: Preface) throws {
        guard let version = preface.negotiate(serverMin: ProtocolVersion.oldestSupported, serverMax: ProtocolVersion.current) else {
            throw ProtocolViolation(.unsupportedVersion, "no common protocol version",
                                    details: ["max_version": .int(Int64(ProtocolVersion.current)),
                                              "min_version": .int(Int64(ProtocolVersion.oldestSupported))])
        }
        let authenticationRequired = context.authenticator.isEnabled
        if !authenticationRequired && !peer.isLoopback && !context.configuration.allowUnauthenticatedRemote {
            throw ProtocolViolation(.permissionDenied,
                                    "this server has no auth tokens configured and accepts only loopback clients")
        }
        checksumsEnabled = preface.features.contains(.checksums)
        let hello = Hello(version: version, limits: limits, serverID: context.configuration.serverID,
                          serverVersion: ServerVersion.current, authenticationRequired: authenticationRequired,
                          checksums: checksumsEnabled)
        // The hello itself never carries a checksum: the client learns from it whether they are on.
        output.send(Frame(header: FrameHeader(bodyLength: 0, opcode: .hello, flags: .response, requestID: 0),
                          body: hello.encodedBody).encoded())
        decoder.checksumsEnabled = checksumsEnabled
        if authenticationRequired {
            phase = .authenticating
        } else {
            markAuthenticated(principal: nil)
        }
    }

    private func markAuthenticated(principal: String?) {
        authenticated = true
        self.principal = principal
        decoder.bodyBytesMax = limits.frameBodyBytesMax
        if phase == .authenticating || phase == .awaitingPreface { phase = .ready }
    }

    // MARK: Frames

    private func processFrames(now: UInt64) {
        var completedAny = false
        do {
            while phase != .closed, let frame = try decoder.nextFrame() {
                completedAny = true
                try handleFrame(frame, now: now)
            }
        } catch let violation as ProtocolViolation {
            failConnection(violation)
            return
        } catch {
            failConnection(ProtocolViolation(.internalError, "frame handling failed: \(error)"))
            return
        }
        if decoder.bufferedByteCount == 0 {
            partialFrameSince = nil
        } else if completedAny || partialFrameSince == nil {
            partialFrameSince = now
        }
    }

    private func handleFrame(_ frame: Frame, now: UInt64) throws {
        if frame.flags.contains(.response) {
            // The only response a client sends is the answer to a server ping.
            guard frame.opcode == .ping, frame.requestID == 0 else {
                throw ProtocolViolation(.malformedFrame, "clients may send responses only to server pings")
            }
            if let payload = try? PingMessage.decode(body: frame.body).payload, payload == serverPingPayload {  // malformed: not the answer, the ping times out
                serverPingSentAt = nil
            }
            return
        }
        if frame.opcode == .cancel {
            cancel(requestID: frame.requestID)
            return
        }
        if !assembler.isAssembling(requestID: frame.requestID) {
            guard frame.requestID > lastRequestID else {
                throw ProtocolViolation(.malformedFrame,
                                        "request id \(frame.requestID) is not above the previous id \(lastRequestID)")
            }
            lastRequestID = frame.requestID
        }
        guard let message = try assembler.add(frame) else { return }
        lastRequestAt = now
        try handleRequest(message, now: now)
    }

    private func handleRequest(_ message: Message, now: UInt64) throws {
        if !authenticated && !message.opcode.isAllowedBeforeAuthentication {
            throw ProtocolViolation(.authRequired, "authenticate before \(message.opcode.name)")
        }
        if phase == .closing {
            let reason = goodbyeRequestID != nil ? "connection is saying goodbye" : "server is shutting down"
            respondError(to: message, ErrorBody(code: .shuttingDown, message: reason))
            return
        }
        switch message.opcode {
        case .auth:
            authenticate(message)
        case .ping:
            do {
                let ping = try PingMessage.decode(body: message.body)
                respond(to: message, body: ping.encodedBody)
                context.metrics.record(opcode: .ping, latencyNanoseconds: MonotonicClock.nanoseconds() &- now, error: nil)
            } catch {
                respondError(to: message, ErrorMapping.errorBody(for: error))
            }
            context.statistics.requestAnsweredImmediately()
        case .goodbye:
            goodbyeRequestID = message.requestID
            phase = .closing
            closeIfFinished()
        case .hello, .goAway:
            respondError(to: message, ErrorBody(code: .invalidArgument, message: "\(message.opcode.name) is sent only by the server"))
        default:
            dispatch(message, now: now)
        }
    }

    private func dispatch(_ message: Message, now: UInt64) {
        guard let route = context.router.route(for: message.opcode) else {
            respondError(to: message, ErrorBody(code: .unknownOpcode, message: "unknown opcode \(message.opcode.name)"))
            return
        }
        let timeoutMilliseconds = limits.effectiveTimeoutMilliseconds(requested: message.header.timeoutMilliseconds)
        let deadline = now + UInt64(timeoutMilliseconds) * 1_000_000
        let request = Request(opcode: message.opcode, requestID: message.requestID, body: message.body,
                              deadline: deadline, principal: principal, connectionID: connectionID, limits: limits)
        switch route {
        case let .immediate(handler):
            context.statistics.requestAnsweredImmediately()
            do {
                respond(to: message, body: try handler(request))
                context.metrics.record(opcode: message.opcode, latencyNanoseconds: MonotonicClock.nanoseconds() &- now, error: nil)
            } catch {
                respondError(to: message, errorBody(for: error, request: request))
            }
        case let .deferred(handler):
            guard pending.count < limits.inFlightRequestsMax else {
                respondError(to: message, ErrorBody(code: .overloaded, message: "too many requests in flight",
                                                    details: ["limit": .int(Int64(limits.inFlightRequestsMax)),
                                                              "retry_after_ms": .int(10)]))
                return
            }
            startDeferred(message, request: request, handler: handler, timeoutMilliseconds: timeoutMilliseconds, now: now)
        }
    }

    private func startDeferred(_ message: Message, request: Request,
                               handler: @escaping @Sendable (Request, any ResponseStreaming) async throws -> [UInt8],
                               timeoutMilliseconds: UInt32, now: UInt64) {
        let requestID = message.requestID
        let opcode = message.opcode
        let responder = StreamResponder(session: self, requestID: requestID, opcode: opcode)
        context.statistics.requestStarted()
        let task = Task { [self] in
            let outcome: Result<[UInt8], any Error>
            do {
                outcome = .success(try await handler(request, responder))
            } catch {
                outcome = .failure(error)
            }
            queue.async { self.finish(requestID: requestID, opcode: opcode, outcome: outcome, request: request) }
        }
        pending[requestID] = PendingRequest(opcode: opcode, task: task, startedAt: now)
        trackDeadline(now + UInt64(timeoutMilliseconds) * 1_000_000, requestID: requestID, now: now)
    }

    private func finish(requestID: UInt64, opcode: Opcode, outcome: Result<[UInt8], any Error>, request: Request) {
        // Already answered (cancelled, timed out) or the connection closed: drop the late result.
        guard let pendingRequest = pending.removeValue(forKey: requestID) else { return }
        context.statistics.requestFinished()
        let latency = MonotonicClock.nanoseconds() &- pendingRequest.startedAt
        switch outcome {
        case let .success(body):
            send(opcode: opcode, flags: .response, requestID: requestID, body: body)
            context.metrics.record(opcode: opcode, latencyNanoseconds: latency, error: nil)
        case let .failure(error):
            let body = errorBody(for: error, request: request)
            send(opcode: opcode, flags: [.response, .error], requestID: requestID, body: body.encodedBody)
            context.metrics.record(opcode: opcode, latencyNanoseconds: latency, error: body.code)
        }
        closeIfFinished()
    }

    // MARK: Deadlines

    private func trackDeadline(_ deadline: UInt64, requestID: UInt64, now: UInt64) {
        deadlines.insert(deadline: deadline, requestID: requestID)
        // Finished requests leave entries behind; sweep them once they outnumber live ones.
        if deadlines.count > 2 * pending.count + 64 {
            deadlines.retain { pending[$0] != nil }
        }
        if armedDeadline.map({ deadline < $0 }) ?? true { armDeadlineTimer(for: deadline, now: now) }
    }

    private func armDeadlineTimer(for deadline: UInt64, now: UInt64) {
        let timer: DispatchSourceTimer
        if let existing = deadlineTimer {
            timer = existing
        } else {
            timer = DispatchSource.makeTimerSource(queue: queue)
            timer.setEventHandler { [weak self] in self?.deadlineTimerFired() }
            timer.activate()
            deadlineTimer = timer
        }
        armedDeadline = deadline
        timer.schedule(deadline: .now() + .nanoseconds(Int(clamping: deadline &- min(deadline, now))),
                       leeway: .milliseconds(1))
    }

    private func deadlineTimerFired() {
        armedDeadline = nil
        guard !transportClosed else { return }
        let now = MonotonicClock.nanoseconds()
        while let earliest = deadlines.earliest, earliest.deadline <= now || pending[earliest.requestID] == nil {
            deadlines.removeEarliest()
            if earliest.deadline <= now { expire(requestID: earliest.requestID) }
        }
        if let next = deadlines.earliest { armDeadlineTimer(for: next.deadline, now: now) }
    }

    private func expire(requestID: UInt64) {
        guard let request = pending.removeValue(forKey: requestID) else { return }
        request.task?.cancel()
        context.statistics.requestFinished()
        context.logger.info("request deadline exceeded", ["connection": connectionID, "request": requestID, "opcode": request.opcode])
        context.metrics.record(opcode: request.opcode, latencyNanoseconds: MonotonicClock.nanoseconds() &- request.startedAt,
                               error: .deadlineExceeded)
        send(opcode: request.opcode, flags: [.response, .error], requestID: requestID,
             body: ErrorBody(code: .deadlineExceeded, message: "the request's timeout passed").encodedBody)
        closeIfFinished()
    }

    private func cancel(requestID: UInt64) {
        assembler.discard(requestID: requestID)
        guard let request = pending.removeValue(forKey: requestID) else { return }
        request.task?.cancel()
        context.statistics.requestFinished()
        context.metrics.record(opcode: request.opcode, latencyNanoseconds: MonotonicClock.nanoseconds() &- request.startedAt,
                               error: .cancelled)
        send(opcode: request.opcode, flags: [.response, .error], requestID: requestID,
             body: ErrorBody(code: .cancelled, message: "cancelled by the client").encodedBody)
        closeIfFinished()
    }

    fileprivate func sendPartial(requestID: UInt64, opcode: Opcode, body: [UInt8]) {
        guard pending[requestID] != nil else { return }
        send(opcode: opcode, flags: [.response, .stream], requestID: requestID, body: body)
    }

    // MARK: Authentication

    private func authenticate(_ message: Message) {
        let request: AuthRequest
        do {
            request = try AuthRequest.decode(body: message.body)
        } catch {
            respondError(to: message, ErrorMapping.errorBody(for: error))
            return
        }
        guard context.authenticator.isEnabled else {
            // Nothing to check: the connection is already trusted (loopback or allowed remote).
            respond(to: message, body: AuthResponse(principal: "anonymous").encodedBody)
            return
        }
        if request.mechanism == "token", let name = context.authenticator.principal(for: request.credential) {
            failedAuthCount = 0
            markAuthenticated(principal: name)
            respond(to: message, body: AuthResponse(principal: name).encodedBody)
            return
        }
        failedAuthCount += 1
        context.logger.notice("authentication failed", ["connection": connectionID, "peer": peer, "failures": failedAuthCount])
        let delay = Authenticator.failureDelayMilliseconds(failureCount: failedAuthCount)
        let closeAfter = failedAuthCount >= Authenticator.failuresBeforeClose
        queue.asyncAfter(deadline: .now() + .milliseconds(delay)) { [weak self] in
            guard let self, self.phase != .closed else { return }
            var flags = ErrorCode.authFailed.defaultFlags
            if closeAfter { flags.insert(.connectionFatal) }
            self.respondError(to: message, ErrorBody(code: .authFailed, flags: flags, message: "authentication failed"))
            if closeAfter {
                self.phase = .closed
                self.output.closeAfterFlush()
            }
        }
    }

    // MARK: Liveness

    private func checkLiveness(now: UInt64) {
        let idleTimeout = Duration.milliseconds(Int(limits.idleTimeoutMilliseconds))
        if pending.isEmpty {
            serverPingSentAt = nil
            if phase == .ready && elapsed(since: lastRequestAt, now: now) > idleTimeout {
                context.logger.debug("closing idle connection", ["connection": connectionID])
                sendGoAway(reason: "idle timeout")
                closeIfFinished()
            }
            return
        }
        // Requests are in flight: make sure the client is still there.
        let pingInterval = idleTimeout / 3
        if let sentAt = serverPingSentAt {
            if elapsed(since: sentAt, now: now) > pingInterval {
                failConnection(ProtocolViolation(.deadlineExceeded, "client did not answer a ping"))
            }
        } else if elapsed(since: lastReceivedAt, now: now) > pingInterval {
            serverPingPayload &+= 1
            serverPingSentAt = now
            send(opcode: .ping, flags: [], requestID: 0, body: PingMessage(payload: serverPingPayload).encodedBody)
        }
    }

    // MARK: Output

    private func closeIfFinished() {
        guard phase == .closing, pending.isEmpty else { return }
        if let goodbye = goodbyeRequestID {
            send(opcode: .goodbye, flags: .response, requestID: goodbye, body: [])
        }
        phase = .closed
        output.closeAfterFlush()
    }

    private func respond(to message: Message, body: [UInt8]) {
        send(opcode: message.opcode, flags: .response, requestID: message.requestID, body: body)
    }

    private func respondError(to message: Message, _ error: ErrorBody) {
        context.metrics.record(opcode: message.opcode, latencyNanoseconds: 0, error: error.code)
        send(opcode: message.opcode, flags: [.response, .error], requestID: message.requestID, body: error.encodedBody)
    }

    private func send(opcode: Opcode, flags: FrameFlags, requestID: UInt64, body: [UInt8]) {
        if body.count <= limits.frameBodyBytesMax && !checksumsEnabled {
            // The common case, one frame: header and body straight into one buffer.
            var writer = ByteWriter(capacity: FrameHeader.byteCount + body.count)
            FrameHeader(bodyLength: UInt32(body.count), opcode: opcode, flags: flags, requestID: requestID).write(into: &writer)
            writer.writeRaw(body)
            output.send(writer.bytes)
            return
        }
        let frames = MessageFramer.frames(opcode: opcode, flags: flags, requestID: requestID, body: body,
                                          bodyBytesMax: limits.frameBodyBytesMax)
        var writer = ByteWriter(capacity: body.count + FrameHeader.byteCount * frames.count)
        for frame in frames { frame.append(to: &writer, withChecksum: checksumsEnabled) }
        output.send(writer.bytes)
    }

    private func errorBody(for error: any Error, request: Request) -> ErrorBody {
        let body = ErrorMapping.errorBody(for: error)
        let level: LogLevel = body.code == .internalError ? .error : .debug
        context.logger.log(level, "request failed", ["connection": connectionID, "request": request.requestID,
                                                     "opcode": request.opcode, "code": body.code.name, "message": body.message])
        return body
    }

    /// A connection-fatal error: one error frame (request id 0) and a close.
    private func failConnection(_ violation: ProtocolViolation, opcode: Opcode = Opcode(rawValue: 0)) {
        guard phase != .closed else { return }
        context.logger.info("closing connection after protocol error",
                            ["connection": connectionID, "peer": peer, "code": violation.code.name, "reason": violation.message])
        let frame = Frame(header: FrameHeader(bodyLength: 0, opcode: opcode, flags: [.response, .error], requestID: 0),
                          body: violation.errorBody.encodedBody)
        output.send(frame.encoded(withChecksum: checksumsEnabled))
        phase = .closed
        output.closeAfterFlush()
    }

    private func elapsed(since start: UInt64, now: UInt64) -> Duration {
        .nanoseconds(Int64(clamping: now &- start))
    }
}

/// Passes partial results from a handler task back to its session's queue.
private struct StreamResponder: ResponseStreaming, @unchecked Sendable {
    // Safe: the session is only touched on its queue, which `sendPartial` hops to.
    let session: ProtocolSession
    let requestID: UInt64
    let opcode: Opcode

    func sendPartial(_ body: [UInt8]) {
        let session = session
        let requestID = requestID
        let opcode = opcode
        session.queueForResponders.async { session.sendPartial(requestID: requestID, opcode: opcode, body: body) }
    }
}

extension ProtocolSession {
    fileprivate var queueForResponders: DispatchQueue { queue }
}
