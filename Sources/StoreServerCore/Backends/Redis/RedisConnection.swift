// One blocking hiredis connection driven from its own serial DispatchQueue, so the blocking
// socket calls never occupy a thread of Swift's cooperative pool.
import CHiredis
import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Thread safety: `context` is read and written only on `queue` (every C call is submitted
/// there), which is what makes the `@unchecked Sendable` safe. `broken` is a Mutex so other
/// threads (the pool) can ask whether the connection must be discarded.
public final class RedisConnection: @unchecked Sendable {
    public let endpoint: RedisEndpoint
    private let queue: DispatchQueue
    private var context: UnsafeMutablePointer<redisContext>?
    private let broken = Mutex(false)

    /// True once an I/O or protocol error occurred; hiredis cannot resynchronise such a
    /// connection, so it must be closed and replaced.
    public var isBroken: Bool { broken.withLock { $0 } }

    private init(endpoint: RedisEndpoint, queue: DispatchQueue, context: UnsafeMutablePointer<redisContext>) {
        self.endpoint = endpoint
        self.queue = queue
        self.context = context
    }

    deinit {
        // No work can be pending on `queue` here: every submitted block retains `self`.
        if let context { redisFree(context) }
    }

    /// Opens a connection, authenticates and selects the database.
    /// - Throws: `.unavailable` when the server cannot be reached within `connectTimeout`,
    ///   `.rejected` when AUTH or SELECT is refused.
    public static func connect(to endpoint: RedisEndpoint, connectTimeout: Duration,
                               commandTimeout: Duration) async throws(BackendError) -> RedisConnection {
        let queue = DispatchQueue(label: "redis.connection.\(endpoint.host):\(endpoint.port)")
        let result: Result<RedisConnection, BackendError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: Self.openBlocking(endpoint, queue: queue,
                                                                 connectTimeout: connectTimeout,
                                                                 commandTimeout: commandTimeout))
            }
        }
        let connection = try result.get()
        if let password = connection.endpoint.password {
            _ = try await connection.execute(["AUTH", password]).checked(for: "AUTH")
        }
        if connection.endpoint.database != 0 {
            _ = try await connection.execute(["SELECT", String(connection.endpoint.database)]).checked(for: "SELECT")
        }
        return connection
    }

    private static func openBlocking(_ endpoint: RedisEndpoint, queue: DispatchQueue,
                                     connectTimeout: Duration, commandTimeout: Duration)
        -> Result<RedisConnection, BackendError> {
        guard let context = redisConnectWithTimeout(endpoint.host, Int32(endpoint.port),
                                                    timeval(connectTimeout)) else {
            return .failure(.unavailable(backend: "redis", reason: "cannot allocate context",
                                         outcomeUnknown: false))
        }
        if context.pointee.err != 0 {
            let reason = errorString(context)
            redisFree(context)
            return .failure(.unavailable(backend: "redis", reason: "connect to \(endpoint): \(reason)",
                                         outcomeUnknown: false))
        }
        // Without a command timeout a stalled server (or a paused VM) would block this queue
        // forever; with it, a read that waits too long fails and the connection is discarded.
        if redisSetTimeout(context, timeval(commandTimeout)) != REDIS_OK {
            let reason = errorString(context)
            redisFree(context)
            return .failure(.unavailable(backend: "redis", reason: "set timeout: \(reason)",
                                         outcomeUnknown: false))
        }
        return .success(RedisConnection(endpoint: endpoint, queue: queue, context: context))
    }

    /// Sends one command and waits for its reply. Error replies are returned as `.error`, not
    /// thrown; only connection failures throw.
    /// - Throws: `.unavailable(outcomeUnknown: true)` when the connection breaks: the command may
    ///   or may not have run.
    public func execute(_ arguments: [[UInt8]]) async throws(BackendError) -> RedisReply {
        let replies = try await pipeline([arguments])
        return replies[0]
    }

    public func execute(_ arguments: [String]) async throws(BackendError) -> RedisReply {
        try await execute(arguments.map { Array($0.utf8) })
    }

    /// Sends all commands before reading any reply (one round trip), and returns the replies in
    /// order. All or nothing: if the connection breaks, the whole call throws.
    public func pipeline(_ commands: [[[UInt8]]]) async throws(BackendError) -> [RedisReply] {
        precondition(!commands.isEmpty, "a pipeline needs at least one command")
        let result: Result<[RedisReply], BackendError> = await withCheckedContinuation { continuation in
            queue.async {
                continuation.resume(returning: self.pipelineBlocking(commands))
            }
        }
        return try result.get()
    }

    /// Frees the hiredis context. Later calls fail with `.unavailable`.
    public func close() {
        queue.async {
            if let context = self.context {
                redisFree(context)
                self.context = nil
            }
            self.broken.withLock { $0 = true }
        }
    }

    // Runs on `queue`.
    private func pipelineBlocking(_ commands: [[[UInt8]]]) -> Result<[RedisReply], BackendError> {
        guard let context, !isBroken else {
            return .failure(.unavailable(backend: "redis", reason: "connection closed", outcomeUnknown: false))
        }
        for command in commands {
            let status = Self.withArgv(command) { count, argv, lengths in
                redisAppendCommandArgv(context, count, argv, lengths)
            }
            if status != REDIS_OK {
                return .failure(markBroken(context, outcomeUnknown: false))
            }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                return .failure(markBroken(context, outcomeUnknown: true))
            }
            replies.append(RedisReply(copying: raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
        return .success(replies)
    }

    private func markBroken(_ context: UnsafeMutablePointer<redisContext>, outcomeUnknown: Bool) -> BackendError {
        broken.withLock { $0 = true }
        return .unavailable(backend: "redis", reason: Self.errorString(context), outcomeUnknown: outcomeUnknown)
    }

    /// Lays all arguments out in one buffer and passes pointers plus explicit lengths, so bytes
    /// such as NUL are sent as they are (no C-string truncation).
    private static func withArgv(_ arguments: [[UInt8]],
                                 _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> Int32) -> Int32 {
        let total = arguments.reduce(0) { $0 + $1.count }
        // At least one byte so that every argument, even an empty one, has a non-null pointer.
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 1)
        defer { storage.deallocate() }
        var pointers: [UnsafePointer<CChar>?] = []
        var lengths: [Int] = []
        pointers.reserveCapacity(arguments.count)
        lengths.reserveCapacity(arguments.count)
        var offset = 0
        for argument in arguments {
            let start = storage.baseAddress! + offset
            argument.withUnsafeBytes { bytes in
                if bytes.count > 0 { start.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count) }
            }
            pointers.append(UnsafePointer(start.assumingMemoryBound(to: CChar.self)))
            lengths.append(argument.count)
            offset += argument.count
        }
        return pointers.withUnsafeMutableBufferPointer { argv in
            lengths.withUnsafeBufferPointer { lengthBuffer in
                body(Int32(arguments.count), argv.baseAddress!, lengthBuffer.baseAddress!)
            }
        }
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            let text = bytes.prefix { $0 != 0 }
            return text.isEmpty ? "error \(context.pointee.err)" : String(decoding: text, as: UTF8.self)
        }
    }
}

// File-private so it cannot clash with a similar helper elsewhere in the module.
private func timeval(_ duration: Duration) -> timeval {
    let (seconds, attoseconds) = duration.components
    return Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
}
