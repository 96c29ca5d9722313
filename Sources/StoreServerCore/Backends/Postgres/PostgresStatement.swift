// Named SQL for prepared statements and pipeline batches.

/// A statement prepared once per connection under `name` (on first use) and then executed by name,
/// which skips parsing and planning on every later call. Names are per connection; one name must
/// always carry the same SQL.
public struct PostgresStatement: Sendable, Hashable {
    public let name: String
    public let sql: String

    public init(name: String, sql: String) {
        precondition(!name.isEmpty, "a prepared statement needs a name; the empty name is libpq's unnamed statement")
        self.name = name
        self.sql = sql
    }
}

/// One statement of a pipeline batch: SQL with its parameters.
public struct PostgresBatchStatement: Sendable {
    public let sql: String
    public let parameters: [PostgresValue]

    public init(_ sql: String, _ parameters: [PostgresValue] = []) {
        self.sql = sql
        self.parameters = parameters
    }
}

/// What a statement does, as far as the failure of its connection is concerned.
enum PostgresStatementKind {
    /// The first keyword of the statement, upper-cased ("" when there is none).
    static func leadingKeyword(of sql: String) -> String {
        let scalars = sql.unicodeScalars.drop { $0.properties.isWhitespace || $0 == "(" }
        return String(String.UnicodeScalarView(scalars.prefix { $0.properties.isAlphabetic })).uppercased()
    }

    /// Statements that cannot change data. Anything else (including WITH, which can hold an
    /// INSERT, and EXPLAIN, which can ANALYZE) is treated as a possible write.
    private static let readOnlyKeywords: Set<String> = ["SELECT", "SHOW", "VALUES", "TABLE", "BEGIN",
                                                        "START", "ROLLBACK", "ABORT", "SET", "RESET"]

    static func mayWrite(_ sql: String) -> Bool { !readOnlyKeywords.contains(leadingKeyword(of: sql)) }

    static func isCommit(_ sql: String) -> Bool {
        let keyword = leadingKeyword(of: sql)
        return keyword == "COMMIT" || keyword == "END"
    }
}
