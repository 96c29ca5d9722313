// One client socket: non-blocking reads and writes driven by dispatch sources on the
// connection's serial queue, a bounded output buffer with read pausing, and a periodic tick for
// timeouts. It moves bytes only; the protocol lives in the handler it is given.
import Dispatch
import Glibc

/// What the transport tells the protocol layer. Every call happens on the connection's queue.
protocol ConnectionEvents: AnyObject {
    /// New bytes arrived; the handler consumes all complete frames in them.
    func connectionReceived(_ bytes: UnsafeRawBufferPointer)
    /// Periodic tick for timeouts; `now` is monotonic nanoseconds.
    func connectionTick(now: UInt64)
    /// The socket is closed (by either side); called once.
    func connectionClosed()
}

/// What the protocol layer asks of the transport. Call only on the connection's queue.
protocol ConnectionOutput: AnyObject {
    func send(_ bytes: [UInt8])
    /// Closes once everything queued has been written (or after a short grace if the peer does
    /// not read).
    func closeAfterFlush()
    var queue: DispatchQueue { get }
}

final class SocketConnection: ConnectionOutput, @unchecked Sendable {
    // Safe: all mutable state is touched only on `queue` (every source handler and every
    // entry point runs there; `start` is called before any source is activated).
    let id: UInt64
    let queue: DispatchQueue
    let peer: SocketAddress
    private let descriptor: Int32
    private let writeDescriptor: Int32
    private let configuration: ServerConfiguration
    private let logger: Logger
    private weak var events: (any ConnectionEvents)?
    private var eventsStrong: (any ConnectionEvents)?

    // Sources are created when needed and cancelled when not, never suspended: cancelling or
    // releasing a suspended source traps, and a cancelled source is simple to reason about.
    // The write source watches a dup of the descriptor so that creating and cancelling it never
    // touches the read source's epoll registration (libdispatch shares one per descriptor).
    private var readSource: DispatchSourceRead?
    private var writeSource: DispatchSourceWrite?
    private var tickTimer: DispatchSourceTimer?
    private var liveSourceCount = 0
    private var readingPaused = false
    private var closed = false
    private var closeRequested = false
    private var flushScheduled = false
    /// True while input is being handed to the protocol layer: responses produced meanwhile
    /// are flushed once at the end, with one send call, instead of scheduling a flush each.
    private var deliveringInput = false

    private var output: [UInt8] = []
    private var outputOffset = 0
    private var readBuffer: UnsafeMutableRawBufferPointer

    /// Bytes read per system call: large enough that a pipelined burst arrives in few reads.
    private static let readChunkBytes = 64 << 10
    /// Reads per wake-up before yielding the queue to other connections (fairness).
    private static let readsPerWakeUpMax = 16
    /// After close is requested, unsent output is given this long before the socket is closed
    /// anyway (a peer that never reads must not keep it open).
    private static let closeGracePeriod: DispatchTimeInterval = .seconds(2)

    var pendingOutputBytes: Int { output.count - outputOffset }

    init(id: UInt64, descriptor: Int32, peer: SocketAddress, queue: DispatchQueue,
         configuration: ServerConfiguration, logger: Logger) {
        self.id = id
        self.descriptor = descriptor
        // If dup fails (out of descriptors) writes still work; only waiting for writability
        // shares the descriptor, as before.
        let duplicate = dup(descriptor)
        writeDescriptor = duplicate >= 0 ? duplicate : descriptor
        self.peer = peer
        self.queue = queue
        self.configuration = configuration
        self.logger = logger
        readBuffer = .allocate(byteCount: Self.readChunkBytes, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    /// Starts reading and the tick timer. The connection keeps `events` alive until it closes.
    func start(events: any ConnectionEvents) {
        self.events = events
        eventsStrong = events
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let tick = configuration.connectionTickInterval
        let tickNanoseconds = Int(tick.components.seconds) * 1_000_000_000 + Int(tick.components.attoseconds / 1_000_000_000)
        timer.schedule(deadline: .now() + .nanoseconds(tickNanoseconds), repeating: .nanoseconds(tickNanoseconds),
                       leeway: .milliseconds(5))
        timer.setEventHandler { [unowned self] in
            guard !self.closed else { return }
            self.events?.connectionTick(now: MonotonicClock.nanoseconds())
        }
        // The timer's cancel handler is what keeps the connection alive until it has closed.
        timer.setCancelHandler { self.tickTimer = nil }
        tickTimer = timer
        timer.activate()
        startReadSource()
    }

    private func startReadSource() {
        let read = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: queue)
        read.setEventHandler { [unowned self] in self.readAvailable() }
        read.setCancelHandler { self.sourceCancelled() }
        liveSourceCount += 1
        readSource = read
        read.activate()
    }

    private func startWriteSource() {
        guard writeSource == nil else { return }
        let write = DispatchSource.makeWriteSource(fileDescriptor: writeDescriptor, queue: queue)
        write.setEventHandler { [unowned self] in self.flush() }
        write.setCancelHandler { self.sourceCancelled() }
        liveSourceCount += 1
        writeSource = write
        write.activate()
    }

    private func stopWriteSource() {
        writeSource?.cancel()
        writeSource = nil
    }

    // MARK: ConnectionOutput

    func send(_ bytes: [UInt8]) {
        guard !closed else { return }
        output.append(contentsOf: bytes)
        if pendingOutputBytes > configuration.outputBufferBytesHigh { pauseReading() }
        scheduleFlush()
    }

    func closeAfterFlush() {
        guard !closed, !closeRequested else { return }
        closeRequested = true
        queue.asyncAfter(deadline: .now() + Self.closeGracePeriod) { [weak self] in self?.closeNow() }
        if pendingOutputBytes == 0 {
            lingeringClose()
        } else {
            scheduleFlush()
        }
    }

    /// Half-closes, then discards input until the peer closes too (or the grace period ends).
    /// Closing a socket that still has unread input makes the kernel send a reset, which can
    /// destroy responses the peer has not read yet; this is the lingering close HTTP servers use.
    private func lingeringClose() {
        guard !closed else { return }
        shutdown(descriptor, Int32(SHUT_WR))
        if readSource == nil { startReadSource() }
        readingPaused = false
    }

    /// Closes at once, dropping unsent output.
    func closeNow() {
        guard !closed else { return }
        closed = true
        readSource?.cancel()
        readSource = nil
        stopWriteSource()
        tickTimer?.cancel()
        if liveSourceCount == 0 { closeDescriptors() }
        output = []
        outputOffset = 0
        events?.connectionClosed()
        eventsStrong = nil
    }

    // MARK: Reading

    private func readAvailable() {
        guard !closed else { return }
        deliveringInput = true
        readUpToLimit()
        deliveringInput = false
        if !closed && pendingOutputBytes > 0 { flush() }
    }

    private func readUpToLimit() {
        for _ in 0..<Self.readsPerWakeUpMax {
            let count = Glibc.read(descriptor, readBuffer.baseAddress, readBuffer.count)
            if count > 0 {
                // After a close was requested, input is read only to be discarded.
                if closeRequested { continue }
                events?.connectionReceived(UnsafeRawBufferPointer(rebasing: readBuffer[0..<count]))
                if closed || readingPaused { return }
                if count < readBuffer.count { return }
            } else if count == 0 {
                logger.debug("peer closed", ["connection": id])
                closeNow()
                return
            } else {
                if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
                logger.debug("read failed", ["connection": id, "error": SocketSupport.lastError])
                closeNow()
                return
            }
        }
    }

    private func pauseReading() {
        guard !readingPaused, !closed else { return }
        logger.debug("output buffer full, pausing reads", ["connection": id, "pending_bytes": pendingOutputBytes])
        readingPaused = true
        readSource?.cancel()
        readSource = nil
    }

    private func resumeReading() {
        guard readingPaused, !closed, !closeRequested else { return }
        readingPaused = false
        startReadSource()
    }

    // MARK: Writing

    private func scheduleFlush() {
        guard !flushScheduled, !deliveringInput else { return }
        flushScheduled = true
        // Deferred to the end of the current queue item so that every response produced while
        // handling one read is written with one system call.
        queue.async { [weak self] in
            guard let self else { return }
            self.flushScheduled = false
            self.flush()
        }
    }

    private func flush() {
        guard !closed else { return }
        while pendingOutputBytes > 0 {
            let written = output.withUnsafeBytes { raw in
                Glibc.send(descriptor, raw.baseAddress! + outputOffset, pendingOutputBytes, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                outputOffset += written
                if outputOffset >= Self.readChunkBytes * 16 && outputOffset * 2 >= output.count {
                    // Keep a slow reader's buffer from growing without bound at the front.
                    output.removeFirst(outputOffset)
                    outputOffset = 0
                }
            } else if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                if errno == EINTR { continue }
                startWriteSource()
                return
            } else {
                logger.debug("write failed", ["connection": id, "error": SocketSupport.lastError])
                closeNow()
                return
            }
        }
        output.removeAll(keepingCapacity: output.capacity <= (1 << 20))
        outputOffset = 0
        stopWriteSource()
        if closeRequested {
            lingeringClose()
            return
        }
        if readingPaused && pendingOutputBytes < configuration.outputBufferBytesLow { resumeReading() }
    }

    private func sourceCancelled() {
        liveSourceCount -= 1
        // Sources share the descriptor; close it only when none can still use it.
        if closed && liveSourceCount == 0 { closeDescriptors() }
    }

    private func closeDescriptors() {
        if writeDescriptor != descriptor { Glibc.close(writeDescriptor) }
        Glibc.close(descriptor)
    }
}
