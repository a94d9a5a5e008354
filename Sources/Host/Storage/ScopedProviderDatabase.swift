import CSQLite
import Dispatch
import Foundation
import PluginAPI

/// A provider's ``ProviderDatabase``, confined to tables named `<provider id>_…` by an authorizer.
///
/// Writes go through the event log's single writer: each `write` runs in a savepoint of the
/// writer's next group commit (``EventLog/groupedWrite(_:)``), under the writer's
/// ``ScopeAuthorizer``, so a provider never holds the write lock beside the webhooks' writer and
/// shares its fsync. Reads use a read-only connection of the provider's own, opened on first use
/// and confined to one serial queue (blocking SQLite calls never run on the cooperative pool).
final class ScopedProviderDatabase: ProviderDatabase, @unchecked Sendable {  // Safe: `connection` and `authorizer` are only touched on `queue`.
    private let dataDirectory: URL
    private let scope: TableScope
    private let eventLog: EventLog
    private let queue: DispatchQueue
    private var connection: SQLiteConnection?
    private let authorizer = ScopeAuthorizer()

    init(providerID: String, dataDirectory: URL, eventLog: EventLog) {
        self.dataDirectory = dataDirectory
        self.eventLog = eventLog
        scope = TableScope(prefix: providerID + "_")
        queue = DispatchQueue(label: "atom-hub.provider-db.\(providerID)")
    }

    func read(_ sql: String, _ arguments: [SQLValue]) async throws -> [[SQLValue]] {
        try await Self.providerErrors {
            try await withCheckedThrowingContinuation { continuation in
                queue.async { [self] in
                    continuation.resume(
                        with: Result { try authorizer.run(scope) { try Self.rows(of: SQLStatement(sql, arguments), on: try open(), cached: true) } })
                }
            }
        }
    }

    @discardableResult
    func write(_ statements: [SQLStatement]) async throws -> [[[SQLValue]]] {
        let scope = scope
        return try await Self.providerErrors {
            try await eventLog.providerWrite(scope: scope) { connection in
                try statements.map { try Self.rows(of: $0, on: connection, cached: false) }
            }
        }
    }

    /// SQLite's errors as the provider-facing ``ProviderDatabaseError``.
    private static func providerErrors<T>(_ body: () async throws -> T) async throws -> T {
        do { return try await body() } catch let error as SQLiteError { throw ProviderDatabaseError(code: error.code, message: error.message) }
    }

    /// The read-only connection, opened (and restricted) the first time; on `queue` only.
    private func open() throws -> SQLiteConnection {
        if let connection { return connection }
        let opened = try SQLiteConnection(path: dataDirectory.appendingPathComponent(Database.fileName).path, readOnly: true)
        authorizer.install(on: opened)
        connection = opened
        return opened
    }

    /// Runs `statement` and returns its rows. `cached` only on a connection that runs provider SQL alone.
    private static func rows(of statement: SQLStatement, on connection: SQLiteConnection, cached: Bool) throws -> [[SQLValue]] {
        let prepared = cached ? try connection.prepare(statement.sql) : try connection.prepareUncached(statement.sql)
        defer { prepared.reset() }
        for (offset, argument) in statement.arguments.enumerated() {
            let index = Int32(offset + 1)
            switch argument {
            case .null: try prepared.bind(index, nil as String?)
            case .integer(let value): try prepared.bind(index, value)
            case .real(let value): try prepared.bind(index, value)
            case .text(let value): try prepared.bind(index, value)
            case .blob(let value): try prepared.bind(index, blob: value)
            }
        }
        var rows: [[SQLValue]] = []
        while try prepared.step() {
            rows.append(
                (0..<prepared.columnCount).map { column in
                    switch prepared.columnType(column) {
                    case SQLITE_INTEGER: .integer(prepared.int64(column))
                    case SQLITE_FLOAT: .real(prepared.double(column))
                    case SQLITE_TEXT: .text(prepared.text(column) ?? "")
                    case SQLITE_BLOB: .blob(prepared.blob(column))
                    default: .null
                    }
                })
        }
        return rows
    }
}

/// A connection's SQLite authorizer, which restricts statements to a provider's ``TableScope``
/// while one is in force: set only while a provider's statements are prepared and stepped, on the
/// connection's one thread. Outside that the connection's own (host) statements are unrestricted.
///
/// The event log's writer has one (host statements and every provider's writes share it), and each
/// provider's read connection has one. Installed once, so changing scopes never expires a
/// connection's cached statements the way replacing its authorizer would.
final class ScopeAuthorizer: @unchecked Sendable {  // Safe: `current` is set and read on the connection's thread only.
    private var current: TableScope?

    /// Installs the authorizer on `connection` (once, before it runs anything).
    func install(on connection: SQLiteConnection) {
        let context = Unmanaged.passRetained(self).toOpaque()  // Released never: it lives as long as its connection.
        sqlite3_set_authorizer(
            connection.handle,
            { context, action, first, second, _, _ in
                guard let context else { return SQLITE_DENY }
                let authorizer = Unmanaged<ScopeAuthorizer>.fromOpaque(context).takeUnretainedValue()
                guard let scope = authorizer.current else { return SQLITE_OK }  // The host's own statement.
                return scope.allows(action, table: first.map { String(cString: $0) }, second: second.map { String(cString: $0) }) ? SQLITE_OK : SQLITE_DENY
            }, context)
    }

    /// Runs `body`, which prepares and steps a provider's statements, restricted to `scope`.
    func run<T>(_ scope: TableScope, _ body: () throws -> T) throws -> T {
        current = scope
        defer { current = nil }
        return try body()
    }
}

/// The tables a provider's statements may touch: reads and writes of tables named with `prefix`
/// (FTS5 shadow tables share their table's prefix) and reads of the schema; everything else (DDL,
/// pragmas, attach, other tables, transaction control, which is the host's) is refused.
struct TableScope: Sendable {
    let prefix: String

    /// `table` is the authorizer's first argument (a table, pragma or function name), `second` its second.
    func allows(_ action: Int32, table: String?, second: String? = nil) -> Bool {
        switch action {
        case SQLITE_PRAGMA:
            // FTS5 reads `PRAGMA data_version` to notice other connections' writes; it changes nothing.
            return table == "data_version" && second == nil
        case SQLITE_UPDATE where table == "sqlite_master" || table == "sqlite_schema":
            // Checked when FTS5 declares its virtual table; the schema stays read-only without `writable_schema` (a refused pragma).
            return true
        case SQLITE_SELECT, SQLITE_FUNCTION, SQLITE_RECURSIVE:
            return true
        case SQLITE_READ:
            guard let table else { return false }
            return table.hasPrefix(prefix) || table == "sqlite_master" || table == "sqlite_schema"
        case SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE:
            return table?.hasPrefix(prefix) ?? false
        default:
            return false
        }
    }
}
