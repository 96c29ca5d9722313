// The rows a statement returned, copied out of libpq's PGresult so that the result can cross
// threads and outlive the connection's queue.

public struct PostgresRows: Sendable {
    public let columnNames: [String]
    /// Per-column wire format as the server sent it.
    public let columnFormats: [PostgresFormat]
    /// Row-major cells; nil is SQL NULL.
    private let cells: [[UInt8]?]
    /// Rows affected for INSERT/UPDATE/DELETE (from PQcmdTuples), 0 when not applicable.
    public let affectedRowCount: Int
    /// The command tag, such as "INSERT 0 1", "SELECT 3" or "ROLLBACK".
    public let commandTag: String

    public var count: Int { columnNames.isEmpty ? 0 : cells.count / columnNames.count }
    public var isEmpty: Bool { count == 0 }

    init(columnNames: [String], columnFormats: [PostgresFormat], cells: [[UInt8]?], affectedRowCount: Int,
         commandTag: String) {
        precondition(columnNames.count == columnFormats.count)
        precondition(columnNames.isEmpty ? cells.isEmpty : cells.count % columnNames.count == 0)
        self.columnNames = columnNames
        self.columnFormats = columnFormats
        self.cells = cells
        self.affectedRowCount = affectedRowCount
        self.commandTag = commandTag
    }

    /// The index of a column by name, nil when absent.
    public func columnIndex(named name: String) -> Int? { columnNames.firstIndex(of: name) }

    /// The raw cell bytes (text or binary as sent), nil for NULL. Traps on an index out of range:
    /// that is a programmer mistake, not data from the network.
    public func bytes(row: Int, column: Int) -> [UInt8]? {
        precondition(row >= 0 && row < count && column >= 0 && column < columnNames.count,
                     "cell (\(row), \(column)) outside \(count)x\(columnNames.count) result")
        return cells[row * columnNames.count + column]
    }

    /// The cell decoded as UTF-8 text; meaningful for text-format columns.
    public func string(row: Int, column: Int) -> String? {
        bytes(row: row, column: column).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The cell as an integer: parsed from text, or read big-endian from a binary int2/int4/int8.
    /// Nil for NULL or a value that is not an integer.
    public func int64(row: Int, column: Int) -> Int64? {
        guard let cell = bytes(row: row, column: column) else { return nil }
        switch columnFormats[column] {
        case .text:
            return Int64(String(decoding: cell, as: UTF8.self))
        case .binary:
            guard cell.count == 2 || cell.count == 4 || cell.count == 8 else { return nil }
            var value: Int64 = cell[0] & 0x80 != 0 ? -1 : 0
            for byte in cell { value = (value << 8) | Int64(byte) }
            return value
        }
    }

    /// A bytea cell as raw bytes whatever the format: binary is returned as is, text is decoded
    /// from PostgreSQL's hex output (`\x0a1b...`). Nil for NULL or malformed hex.
    public func bytea(row: Int, column: Int) -> [UInt8]? {
        guard let cell = bytes(row: row, column: column) else { return nil }
        if columnFormats[column] == .binary { return cell }
        return Self.decodeHexBytea(cell)
    }

    static func decodeHexBytea(_ text: [UInt8]) -> [UInt8]? {
        guard text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x"),
              text.count % 2 == 0 else { return nil }
        var result: [UInt8] = []
        result.reserveCapacity((text.count - 2) / 2)
        var index = 2
        while index < text.count {
            guard let high = hexDigit(text[index]), let low = hexDigit(text[index + 1]) else { return nil }
            result.append(high << 4 | low)
            index += 2
        }
        return result
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
