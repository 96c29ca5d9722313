import Foundation
import WireProtocol

// The reader thread: blocking reads, frame decoding, chunk joining, and dispatch of each
// response to its caller. Server-initiated frames (HELLO, PING, GO_AWAY, connection errors)
// are handled here too.

extension StoreConnection {
    /// The reader's own state; only the reader thread touches it.
    struct ReaderState {
        var decoder = FrameDecoder(bodyBytesMax: ClientLimits.helloFrameBodyBytesMax)
        var assembler = MessageAssembler(bufferedBytesMax: ProtocolLimits.messageBytesMaxDefault)
        /// Set by HELLO: every later frame must then carry a checksum.
        var checksumsRequired = false
    }

    func startReader() {
        let thread = Thread { [self] in readLoop() }
        thread.name = "store-client.read"
        thread.start()
    }

    private func readLoop() {
        var reader = ReaderState()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: ClientLimits.readChunkBytes, alignment: 1)
        defer { buffer.deallocate() }
        var endError: StoreClientError
        do throws(StoreClientError) {
            while true {
                let count = try socket.read(into: buffer)
                if count == 0 {
                    endError = .connectionLost(reason: closeReasonText())
                    break
                }
                reader.decoder.append(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
                try handleBufferedFrames(&reader)
            }
        } catch {
            endError = error
        }
        fail(with: endError)
        // Queued behind any write in progress, so the descriptor is never closed under it.
        writeQueue.async { [socket] in socket.close() }
    }

    private func closeReasonText() -> String {
        guard let reason = state.withLock({ $0.serverCloseReason }) else { return "server closed the connection" }
        return "server closed the connection after \(reason.code): \(reason.message)"
    }

    private func handleBufferedFrames(_ reader: inout ReaderState) throws(StoreClientError) {
        while true {
            let frame: Frame
            do throws(ProtocolViolation) {
                guard let next = try reader.decoder.nextFrame() else { return }
                frame = next
            } catch {
                throw .protocolViolation(error.description)
            }
            if reader.checksumsRequired && !frame.flags.contains(.checksum) {
                throw .protocolViolation("frame without checksum after checksums were negotiated")
            }
            try handle(frame, &reader)
        }
    }

    private func handle(_ frame: Frame, _ reader: inout ReaderState) throws(StoreClientError) {
        if frame.requestID == 0 {
            try handleConnectionFrame(frame, &reader)
            return
        }
        guard frame.flags.contains(.response) else {
            throw .protocolViolation("server sent a request (opcode \(frame.opcode)) with id \(frame.requestID)")
        }
        let message: Message
        do throws(ProtocolViolation) {
            guard let joined = try reader.assembler.add(frame) else { return }
            message = joined
        } catch {
            throw .protocolViolation(error.description)
        }
        deliver(message)
    }

    private func deliver(_ message: Message) {
        let isFinal = !message.flags.contains(.stream)
        let result: Result<Message, StoreClientError>
        if message.flags.contains(.error) {
            do {
                result = .failure(.server(try ErrorBody.decode(body: message.body)))
            } catch {
                fail(with: .protocolViolation("undecodable error body for request \(message.requestID): \(error)"))
                return
            }
        } else {
            result = .success(message)
        }
        let completion = state.withLock { state in
            let completion = state.complete(message.requestID, with: result, isFinal: isFinal)
            if completion != nil && isFinal { noteCompletion(&state) }
            return completion
        }
        completion?.run()
    }

    private func handleConnectionFrame(_ frame: Frame, _ reader: inout ReaderState) throws(StoreClientError) {
        if frame.flags.contains(.response) {
            if frame.flags.contains(.error) {
                try handleConnectionError(frame)
            } else if frame.opcode == .hello {
                try handleHello(frame, &reader)
            }
            // Other id-0 responses answer nothing we sent; ignoring them keeps room to grow.
            return
        }
        switch frame.opcode {
        case .ping:
            let pong = Frame(header: FrameHeader(bodyLength: UInt32(frame.body.count), opcode: .ping,
                                                 flags: .response, requestID: 0),
                             body: frame.body)
            if state.withLock({ $0.queue([pong]) }) { scheduleFlush() }
        case .goAway:
            let goAway: GoAway
            do {
                goAway = try GoAway.decode(body: frame.body)
            } catch {
                throw .protocolViolation("undecodable GO_AWAY: \(error)")
            }
            handleGoAway(goAway)
        default:
            // A server-initiated frame from a newer protocol revision: unknown, so ignored.
            break
        }
    }

    private func handleConnectionError(_ frame: Frame) throws(StoreClientError) {
        let body: ErrorBody
        do {
            body = try ErrorBody.decode(body: frame.body)
        } catch {
            throw .protocolViolation("undecodable connection error: \(error)")
        }
        // During the handshake this answers the HELLO wait (e.g. unsupported_version); later it
        // explains why the server is about to close.
        let completion = state.withLock { state in
            state.serverCloseReason = body
            return state.complete(0, with: .failure(.server(body)))
        }
        completion?.run()
    }

    private func handleHello(_ frame: Frame, _ reader: inout ReaderState) throws(StoreClientError) {
        let hello: Hello
        do {
            hello = try Hello.decode(body: frame.body)
        } catch {
            throw .protocolViolation("undecodable HELLO: \(error)")
        }
        guard hello.version >= ProtocolVersion.oldestSupported, hello.version <= ProtocolVersion.current else {
            throw .handshakeFailed(reason: "server chose protocol version \(hello.version), outside the requested range")
        }
        if hello.checksumsEnabled && !configuration.wantsChecksums {
            throw .handshakeFailed(reason: "server enabled checksums that were not requested")
        }
        let limits = hello.limits
        guard limits.frameBodyBytesMax > 0, limits.messageBytesMax >= limits.frameBodyBytesMax else {
            throw .protocolViolation("HELLO announces unusable limits: frame \(limits.frameBodyBytesMax), message \(limits.messageBytesMax)")
        }
        reader.decoder.bodyBytesMax = limits.frameBodyBytesMax
        reader.decoder.checksumsEnabled = hello.checksumsEnabled
        reader.checksumsRequired = hello.checksumsEnabled
        reader.assembler = MessageAssembler(bufferedBytesMax: limits.messageBytesMax)
        let completion = state.withLock { state in
            state.hello = hello
            state.checksums = hello.checksumsEnabled
            state.messageBytesMax = limits.messageBytesMax
            return state.complete(0, with: .success(Message(header: frame.header, body: frame.body)))
        }
        completion?.run()
    }

    /// Requests above `lastRequestID` were never executed: they fail as `serverGoingAway`, which
    /// the client re-sends on a new connection. The rest complete here, then the connection closes.
    private func handleGoAway(_ goAway: GoAway) {
        let completions: [Completion] = state.withLock { state in
            switch state.phase {
            case .ready, .handshaking, .closing: state.phase = .draining(lastRequestID: goAway.lastRequestID)
            case .draining, .failed: break
            }
            let rejected = state.pending.keys.filter { $0 > goAway.lastRequestID }.sorted()
            let completions = rejected.compactMap {
                state.complete($0, with: .failure(.serverGoingAway(lastRequestID: goAway.lastRequestID)))
            }
            noteCompletion(&state)
            return completions
        }
        for completion in completions { completion.run() }
    }
}
