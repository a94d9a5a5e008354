/// A value bound to, or read from, a SQL statement.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// The integer, when this is one.
    public var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The number, when this is an integer or a real.
    public var doubleValue: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .real(let value): return value
        default: return nil
        }
    }

    /// The text, when this is text.
    public var textValue: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    /// The bytes, when this is a blob.
    public var blobValue: [UInt8]? {
        if case .blob(let value) = self { return value }
        return nil
    }
}

/// One SQL statement with its positional (`?`) arguments.
public struct SQLStatement: Sendable {
    public var sql: String
    public var arguments: [SQLValue]

    public init(_ sql: String, _ arguments: [SQLValue] = []) {
        self.sql = sql
        self.arguments = arguments
    }

    /// `?, ?, …`: `count` parameters, for an `IN (…)` list.
    public static func placeholders(_ count: Int) -> String { Array(repeating: "?", count: count).joined(separator: ", ") }
}

/// A failed statement: SQLite's (extended) result code and message.
public struct ProviderDatabaseError: Error, Sendable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "database error \(code): \(message)" }
}

/// The provider's own tables in the hub's database (for read models such as a search index).
///
/// Scoped: statements may read and write only tables whose names start with `<provider id>_`
/// (created by a host migration); schema changes, pragmas, attachments and other providers' or the
/// host's tables are refused with ``ProviderDatabaseError``. Calls never block the caller's thread.
public protocol ProviderDatabase: Sendable {
    /// Runs one query and returns its rows.
    func read(_ sql: String, _ arguments: [SQLValue]) async throws -> [[SQLValue]]

    /// Runs `statements` in order in one write transaction (all or nothing), durable when it returns,
    /// and returns each statement's rows (for `RETURNING`).
    @discardableResult
    func write(_ statements: [SQLStatement]) async throws -> [[[SQLValue]]]
}

/// The database of a host that offers none: every call throws.
public struct NoProviderDatabase: ProviderDatabase {
    public init() {}

    public func read(_ sql: String, _ arguments: [SQLValue]) async throws -> [[SQLValue]] {
        throw ProviderDatabaseError(code: 0, message: "this host offers providers no database")
    }

    public func write(_ statements: [SQLStatement]) async throws -> [[[SQLValue]]] {
        throw ProviderDatabaseError(code: 0, message: "this host offers providers no database")
    }
}
