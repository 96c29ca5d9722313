// One libpq connection. Every libpq call for it runs on the connection's own serial
// DispatchQueue, because libpq blocks and Swift's cooperative pool (two threads here) must not.
import CLibpq
import Dispatch
import Foundation
import Synchronization

/// Not safe for concurrent use by two callers in the sense of interleaving statements (the pool
/// hands a connection to one caller at a time), but every method may be called from any thread.
///
/// Thread safety: `handle` and `preparedStatements` are read and written only on `queue`;
/// `brokenFlag` is atomic. That is what makes the `@unchecked Sendable` sound.
public final class PostgresConnection: @unchecked Sendable {
    /// How many statements a pipeline sends before reading their results. Bounds the memory
    /// libpq buffers for one batch; larger batches are split into several rounds.
    public static let pipelineStatementsPerRoundMax = 1_000

    private static let nextID = Atomic<Int>(1)

    /// Unique within the process; appears in logs.
    public let id: Int
    /// When the connection was opened; the pool recycles old connections.
    public let openedAt: ContinuousClock.Instant
    private let queue: DispatchQueue
    private let logger: Logger
    private let noticeSink: NoticeSink
    private var handle: OpaquePointer?
    private var preparedStatements: [String: String] = [:]
    private let brokenFlag = Atomic<Bool>(false)

    /// True once the connection failed at the connection level; it must then be discarded.
    public var isBroken: Bool { brokenFlag.load(ordering: .acquiring) }

    private init(logger: Logger) {
        id = Self.nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        openedAt = .now
        queue = DispatchQueue(label: "agent-store.postgres.connection.\(id)")
        self.logger = logger
        noticeSink = NoticeSink(logger: logger)
    }

    deinit {
        // Nothing else references the connection any more, so touching the handle here is safe.
        if let handle { PQfinish(handle) }
    }

    /// Opens a connection. Fails with `.unavailable` when the server cannot be reached within the
    /// settings' connect timeout.
    public static func connect(settings: PostgresConnectionSettings, logger: Logger) async throws(BackendError) -> PostgresConnection {
        let connection = PostgresConnection(logger: logger)
        try await connection.onQueue { connection.openOnQueue(settings: settings) }
        return connection
    }

    /// Runs one statement with all values bound as parameters (extended query protocol, so at
    /// most one statement per call). Errors: `.unavailable` when the connection failed,
    /// `.conflict` for unique violations and serialization failures, `.rejected` otherwise.
    public func query(_ sql: String, _ parameters: [PostgresValue] = [],
                      resultFormat: PostgresFormat = .text) async throws(BackendError) -> PostgresRows {
        try await onQueue { self.executeOnQueue(sql: sql, preparedName: nil, parameters: parameters,
                                                 resultFormat: resultFormat) }
    }

    /// Runs a prepared statement, preparing it on this connection the first time it is used.
    public func execute(_ statement: PostgresStatement, _ parameters: [PostgresValue] = [],
                        resultFormat: PostgresFormat = .text) async throws(BackendError) -> PostgresRows {
        try await onQueue {
            if let error = self.prepareOnQueue(statement) { return .failure(error) }
            return self.executeOnQueue(sql: statement.sql, preparedName: statement.name,
                                       parameters: parameters, resultFormat: resultFormat)
        }
    }

    /// Runs SQL text that may hold several statements separated by semicolons, without
    /// parameters (simple query protocol). For migrations and DDL, never for values from users.
    public func executeScript(_ sql: String) async throws(BackendError) {
        _ = try await onQueue { () -> Result<PostgresRows, BackendError> in
            guard let handle = self.handle else { return .failure(self.closedError()) }
            let statusBefore = PQtransactionStatus(handle)
            return self.rows(from: PQexec(handle, sql), sql: sql, statusBefore: statusBefore)
        }
    }

    /// Runs `body` between BEGIN and COMMIT; rolls back and rethrows when `body` throws. When
    /// COMMIT reports that the transaction had already failed, throws `.rejected`.
    public func transaction<T>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        _ = try await query("BEGIN")
        let value: T
        do {
            value = try await body(self)
        } catch {
            if !isBroken {
                do {
                    _ = try await query("ROLLBACK")
                } catch let rollbackError {
                    // The original error is what the caller needs; a failed rollback means the
                    // connection broke, which `isBroken` now tells the pool.
                    logger.debug("rollback failed", ["connection": id, "error": rollbackError])
                }
            }
            throw error
        }
        let commit = try await query("COMMIT")
        // COMMIT of a transaction in which a statement failed answers "ROLLBACK", not an error.
        if commit.commandTag == "ROLLBACK" {
            throw BackendError.rejected(backend: PostgresErrorClassification.backendName,
                                        reason: "transaction was rolled back after an earlier error")
        }
        return value
    }

    /// Sends all statements at once in pipeline mode and then reads all results, which saves a
    /// round trip per statement. Each statement runs in its own implicit transaction (a sync
    /// point follows each), so one failing does not affect the others. The outer error is thrown
    /// only when the connection itself fails before any result could be attributed.
    public func pipeline(_ statements: [PostgresBatchStatement],
                         resultFormat: PostgresFormat = .text) async throws(BackendError) -> [Result<PostgresRows, BackendError>] {
        var outcomes: [Result<PostgresRows, BackendError>] = []
        outcomes.reserveCapacity(statements.count)
        var start = 0
        while start < statements.count {
            let round = Array(statements[start..<min(start + Self.pipelineStatementsPerRoundMax, statements.count)])
            outcomes += try await onQueue { .success(self.pipelineOnQueue(round, resultFormat: resultFormat)) }
            start += round.count
        }
        return outcomes
    }

    /// Closes the connection. Safe to call more than once.
    public func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async {
                if let handle = self.handle { PQfinish(handle) }
                self.handle = nil
                self.brokenFlag.store(true, ordering: .releasing)
                continuation.resume()
            }
        }
    }

    /// Whether libpq still considers the connection usable and no transaction was left open.
    /// Runs on the queue; cheap (no round trip).
    func isIdleAndUsable() async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            queue.async {
                guard let handle = self.handle, PQstatus(handle) == CONNECTION_OK else {
                    continuation.resume(returning: false)
                    return
                }
                continuation.resume(returning: PQtransactionStatus(handle) == PQTRANS_IDLE)
            }
        }
    }

    // MARK: - On the queue

    private func onQueue<T: Sendable>(_ work: @escaping @Sendable () -> Result<T, BackendError>) async throws(BackendError) -> T {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<T, BackendError>, Never>) in
            queue.async { continuation.resume(returning: work()) }
        }
        return try result.get()
    }

    private func openOnQueue(settings: PostgresConnectionSettings) -> Result<Void, BackendError> {
        let pairs = settings.keywordValuePairs
        let keywords = pairs.map { strdup($0.0) }
        let values = pairs.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        var keywordPointers = keywords.map { UnsafePointer<CChar>($0) }
        var valuePointers = values.map { UnsafePointer<CChar>($0) }
        keywordPointers.append(nil)
        valuePointers.append(nil)
        // expand_dbname = 1: the dbname value is a full URL or conninfo string.
        guard let connection = PQconnectdbParams(keywordPointers, valuePointers, 1) else {
            brokenFlag.store(true, ordering: .releasing)
            return .failure(.unavailable(backend: PostgresErrorClassification.backendName,
                                         reason: "out of memory allocating a connection", outcomeUnknown: false))
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection))
            PQfinish(connection)
            brokenFlag.store(true, ordering: .releasing)
            return .failure(.unavailable(backend: PostgresErrorClassification.backendName,
                                         reason: "cannot connect to \(settings.description): \(Self.oneLine(message))",
                                         outcomeUnknown: false))
        }
        handle = connection
        PQsetNoticeProcessor(connection, { context, message in
            guard let context, let message else { return }
            let sink = Unmanaged<NoticeSink>.fromOpaque(context).takeUnretainedValue()
            sink.logger.debug("postgresql notice", ["message": String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)])
        }, Unmanaged.passUnretained(noticeSink).toOpaque())
        logger.debug("connected", ["connection": id, "server": settings.description])
        return .success(())
    }

    private func closedError() -> BackendError {
        .unavailable(backend: PostgresErrorClassification.backendName, reason: "connection is closed", outcomeUnknown: false)
    }

    /// Returns nil when the statement is prepared (now or before) on this connection.
    private func prepareOnQueue(_ statement: PostgresStatement) -> BackendError? {
        if let known = preparedStatements[statement.name] {
            precondition(known == statement.sql, "prepared statement \(statement.name) reused with different SQL")
            return nil
        }
        guard let handle else { return closedError() }
        let statusBefore = PQtransactionStatus(handle)
        let result = PQprepare(handle, statement.name, statement.sql, 0, nil)
        switch rows(from: result, sql: "PREPARE", statusBefore: statusBefore) {
        case .success:
            preparedStatements[statement.name] = statement.sql
            return nil
        case .failure(let error):
            return error
        }
    }

    private func executeOnQueue(sql: String, preparedName: String?, parameters: [PostgresValue],
                                resultFormat: PostgresFormat) -> Result<PostgresRows, BackendError> {
        guard let handle else { return .failure(closedError()) }
        let statusBefore = PQtransactionStatus(handle)
        let result = ParameterBuffers(parameters).withPointers { count, values, lengths, formats in
            if let preparedName {
                return PQexecPrepared(handle, preparedName, count, values, lengths, formats, resultFormat.rawValue)
            }
            return PQexecParams(handle, sql, count, nil, values, lengths, formats, resultFormat.rawValue)
        }
        return rows(from: result, sql: sql, statusBefore: statusBefore)
    }

    private func pipelineOnQueue(_ statements: [PostgresBatchStatement],
                                 resultFormat: PostgresFormat) -> [Result<PostgresRows, BackendError>] {
        guard let handle else { return statements.map { _ in .failure(closedError()) } }
        func brokenOutcomes(from index: Int, reason: String) -> [Result<PostgresRows, BackendError>] {
            brokenFlag.store(true, ordering: .releasing)
            return statements[index...].map {
                .failure(.unavailable(backend: PostgresErrorClassification.backendName, reason: reason,
                                      outcomeUnknown: PostgresStatementKind.mayWrite($0.sql)))
            }
        }
        guard PQenterPipelineMode(handle) == 1 else {
            return statements.map { _ in .failure(.rejected(backend: PostgresErrorClassification.backendName,
                                                            reason: "cannot enter pipeline mode: \(errorMessage(handle))")) }
        }
        // Non-blocking while sending, so that a full socket buffer makes us read results instead
        // of deadlocking with a server that is blocked writing them.
        PQsetnonblocking(handle, 1)
        for statement in statements {
            let sent = ParameterBuffers(statement.parameters).withPointers { count, values, lengths, formats in
                PQsendQueryParams(handle, statement.sql, count, nil, values, lengths, formats, resultFormat.rawValue)
            }
            guard sent == 1, PQpipelineSync(handle) == 1 else {
                return brokenOutcomes(from: 0, reason: "sending pipeline failed: \(errorMessage(handle))")
            }
        }
        guard flushOnQueue(handle) else {
            return brokenOutcomes(from: 0, reason: "sending pipeline failed: \(errorMessage(handle))")
        }
        PQsetnonblocking(handle, 0)

        var outcomes: [Result<PostgresRows, BackendError>] = []
        for (index, statement) in statements.enumerated() {
            var outcome: Result<PostgresRows, BackendError>? = nil
            var nullsInARow = 0
            while true {
                guard let result = PQgetResult(handle) else {
                    // One NULL ends a statement's results; a second before the sync means the
                    // connection is gone.
                    nullsInARow += 1
                    if nullsInARow > 1 || PQstatus(handle) == CONNECTION_BAD {
                        return outcomes + brokenOutcomes(from: index, reason: "connection lost in pipeline: \(errorMessage(handle))")
                    }
                    continue
                }
                nullsInARow = 0
                if PQresultStatus(result) == PGRES_PIPELINE_SYNC {
                    PQclear(result)
                    break
                }
                if outcome == nil {
                    outcome = rows(from: result, sql: statement.sql, statusBefore: PQTRANS_IDLE)
                } else {
                    PQclear(result)
                }
            }
            outcomes.append(outcome ?? .failure(.rejected(backend: PostgresErrorClassification.backendName,
                                                          reason: "no result for pipelined statement")))
        }
        if PQexitPipelineMode(handle) != 1 {
            logger.warning("cannot leave pipeline mode; discarding connection", ["connection": id, "error": errorMessage(handle)])
            brokenFlag.store(true, ordering: .releasing)
        }
        return outcomes
    }

    /// Flushes libpq's output buffer in non-blocking mode, reading input while the socket is not
    /// writable. Returns false when the connection failed.
    private func flushOnQueue(_ handle: OpaquePointer) -> Bool {
        while true {
            switch PQflush(handle) {
            case 0: return true
            case 1:
                var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN | POLLOUT), revents: 0)
                guard poll(&descriptor, 1, -1) >= 0 || errno == EINTR else { return false }
                if descriptor.revents & Int16(POLLIN) != 0, PQconsumeInput(handle) != 1 { return false }
            default: return false
            }
        }
    }

    /// Converts a PGresult (consumed and cleared here) into rows or a classified error.
    private func rows(from result: OpaquePointer?, sql: String, statusBefore: PGTransactionStatusType) -> Result<PostgresRows, BackendError> {
        guard let handle else { return .failure(closedError()) }
        guard let result else {
            return .failure(failure(sqlState: nil, message: errorMessage(handle), sql: sql, statusBefore: statusBefore))
        }
        defer { PQclear(result) }
        let status = PQresultStatus(result)
        guard status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY else {
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let message = String(cString: PQresultErrorMessage(result))
            return .failure(failure(sqlState: sqlState, message: message.isEmpty ? errorMessage(handle) : message,
                                    sql: sql, statusBefore: statusBefore))
        }
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var names: [String] = []
        var formats: [PostgresFormat] = []
        for column in 0..<Int32(columnCount) {
            names.append(String(cString: PQfname(result, column)))
            formats.append(PQfformat(result, column) == 1 ? .binary : .text)
        }
        var cells: [[UInt8]?] = []
        cells.reserveCapacity(rowCount * columnCount)
        for row in 0..<Int32(rowCount) {
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    cells.append(nil)
                } else {
                    let length = Int(PQgetlength(result, row, column))
                    let start = PQgetvalue(result, row, column)!
                    cells.append(start.withMemoryRebound(to: UInt8.self, capacity: length) {
                        Array(UnsafeBufferPointer(start: $0, count: length))
                    })
                }
            }
        }
        let tag = String(cString: PQcmdStatus(result))
        return .success(PostgresRows(columnNames: names, columnFormats: formats, cells: cells,
                                     affectedRowCount: Int(String(cString: PQcmdTuples(result))) ?? 0,
                                     commandTag: tag))
    }

    private func failure(sqlState: String?, message: String, sql: String, statusBefore: PGTransactionStatusType) -> BackendError {
        let broken = handle.map { PQstatus($0) == CONNECTION_BAD } ?? true
        if broken || PostgresErrorClassification.isConnectionLevel(sqlState: sqlState) {
            brokenFlag.store(true, ordering: .releasing)
        }
        // A write outside a transaction block, or a COMMIT, may have been applied when the
        // connection dropped; inside an open transaction the server rolls back on disconnect.
        let outcomeUnknown = PostgresStatementKind.isCommit(sql)
            || (statusBefore == PQTRANS_IDLE && PostgresStatementKind.mayWrite(sql))
        let error = PostgresErrorClassification.error(sqlState: sqlState, message: message,
                                                      connectionBroken: broken, outcomeUnknown: outcomeUnknown)
        logger.debug("statement failed", ["connection": id, "error": error])
        return error
    }

    private func errorMessage(_ handle: OpaquePointer) -> String {
        Self.oneLine(String(cString: PQerrorMessage(handle)))
    }

    /// libpq messages span lines with tab-indented hints; logs want one line.
    private static func oneLine(_ message: String) -> String {
        message.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
            .joined(separator: " ")
    }
}

/// Holds the logger for libpq's notice callback, which receives it as an opaque pointer.
private final class NoticeSink: Sendable {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
}

/// C copies of parameter values, alive for the duration of one libpq call.
private struct ParameterBuffers {
    let parameters: [PostgresValue]

    init(_ parameters: [PostgresValue]) { self.parameters = parameters }

    /// At least one byte is allocated so that an empty value has a non-null pointer (null means
    /// SQL NULL to libpq).
    private static func copy(_ bytes: [UInt8]) -> UnsafeMutablePointer<CChar> {
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: source.count) }
        }
        return buffer
    }

    func withPointers<R>(_ body: (Int32, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?,
                                  UnsafePointer<Int32>?) -> R) -> R {
        var buffers: [UnsafeMutablePointer<CChar>?] = []
        var lengths: [Int32] = []
        var formats: [Int32] = []
        defer { buffers.forEach { $0?.deallocate() } }
        for parameter in parameters {
            switch parameter {
            case .null:
                buffers.append(nil)
                lengths.append(0)
                formats.append(0)
            case .text(let text):
                // Text parameters are NUL-terminated C strings.
                buffers.append(Self.copy(Array(text.utf8) + [0]))
                lengths.append(0)
                formats.append(0)
            case .bytes(let bytes):
                buffers.append(Self.copy(bytes))
                lengths.append(Int32(bytes.count))
                formats.append(1)
            }
        }
        let values = buffers.map { UnsafePointer<CChar>($0) }
        return values.withUnsafeBufferPointer { valuePointers in
            lengths.withUnsafeBufferPointer { lengthPointers in
                formats.withUnsafeBufferPointer { formatPointers in
                    body(Int32(parameters.count), valuePointers.baseAddress, lengthPointers.baseAddress, formatPointers.baseAddress)
                }
            }
        }
    }
}
