import WireProtocol

/// Everything about one connection that more than one thread touches, guarded by the
/// connection's mutex: the phase, the pending-requests table, the next request id and the bytes
/// waiting to be written. Keeping id allocation and queueing under one lock is what guarantees the
/// server sees strictly increasing ids.
struct ConnectionState {
    enum Phase: Equatable {
        /// Preface sent; waiting for HELLO and, when needed, the AUTH response.
        case handshaking
        case ready
        /// GO_AWAY received: no new requests; closes once the accepted ones have completed.
        case draining(lastRequestID: UInt64)
        /// `close()` called: GOODBYE sent, no new requests.
        case closing
        /// Broken or closed; every pending request has been failed.
        case failed(StoreClientError)
    }

    var phase = Phase.handshaking
    /// Id 0 is reserved for server-initiated frames and, here, the HELLO wait.
    var nextRequestID: UInt64 = 1
    var pending: [UInt64: PendingRequest] = [:]
    var hello: Hello?
    /// Largest frame body we may send: 4 KiB before authentication, HELLO's value after.
    var frameBodyBytesMax = ProtocolLimits.unauthenticatedFrameBodyBytesMax
    /// Largest whole message we may send (HELLO's `max_message_bytes`).
    var messageBytesMax = ProtocolLimits.messageBytesMaxDefault
    var checksums = false
    /// Encoded frames not yet handed to the write queue, in the order they must be sent.
    var outbound = ByteWriter()
    var flushScheduled = false
    /// `close()` callers waiting for the pending table to empty.
    var drainWaiters: [CheckedContinuation<Void, Never>] = []
    /// A connection-level error the server sent (request id 0) before closing, kept to explain
    /// the connection loss to the calls that were in flight.
    var serverCloseReason: ErrorBody?

    var acceptsRequests: Bool { phase == .ready }

    /// Settles request `id` with `result`. Partial stream responses (`isFinal` false) keep the
    /// entry. Returns nil when the request is no longer pending (already answered, timed out or
    /// cancelled: the late response is dropped).
    mutating func complete(_ id: UInt64, with result: Result<Message, StoreClientError>, isFinal: Bool = true) -> Completion? {
        guard var entry = pending[id] else { return nil }
        switch entry.sink {
        case let .stream(continuation):
            if !isFinal {
                guard case let .success(message) = result else { return nil }
                return Completion(action: .yield(continuation, message), timer: nil)
            }
            pending[id] = nil
            return Completion(action: .finish(continuation, result), timer: entry.timer)
        case let .single(slot):
            // A plain call wants the final response only; partial results are not for it.
            guard isFinal else { return nil }
            switch slot {
            case let .waiting(continuation):
                pending[id] = nil
                return Completion(action: .resume(continuation, result), timer: entry.timer)
            case .awaitingContinuation:
                entry.sink = .single(.finished(result))
                let timer = entry.timer
                entry.timer = nil
                pending[id] = entry
                return Completion(action: .none, timer: timer)
            case .finished:
                return nil
            }
        }
    }

    /// Fails every pending request (the connection is gone).
    mutating func completeAll(with error: StoreClientError) -> [Completion] {
        pending.keys.sorted().compactMap { complete($0, with: .failure(error)) }
    }

    /// Queues frames for the writer, with checksums when negotiated. Returns true when the
    /// caller must schedule a flush (none is scheduled yet).
    mutating func queue(_ frames: [Frame]) -> Bool {
        for frame in frames {
            frame.append(to: &outbound, withChecksum: checksums)
        }
        return scheduleFlushIfNeeded()
    }

    /// Takes everything queued for one write.
    mutating func takeOutbound() -> [UInt8] {
        let bytes = outbound.bytes
        outbound = ByteWriter()
        return bytes
    }

    mutating func queueRaw(_ bytes: [UInt8]) -> Bool {
        outbound.writeRaw(bytes)
        return scheduleFlushIfNeeded()
    }

    private mutating func scheduleFlushIfNeeded() -> Bool {
        guard !flushScheduled else { return false }
        flushScheduled = true
        return true
    }
}
