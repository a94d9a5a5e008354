import CSQLite
import Foundation

/// A failed SQLite call, with the extended result code and the statement it ran.
struct SQLiteError: Error, CustomStringConvertible {
    let code: Int32
    let message: String
    let sql: String?

    var description: String {
        "SQLite error \(code): \(message)" + (sql.map { " (in: \($0.prefix(120)))" } ?? "")
    }
}

/// One SQLite connection, used from one thread at a time (it is opened NOMUTEX).
/// Its owner (the event-log writer thread or a reader queue) guarantees that confinement.
final class SQLiteConnection {
    let handle: OpaquePointer
    private var statements: [String: Statement] = [:]
    /// Kept alive as long as the connection, which SQLite calls back with it.
    private var walHook: WALHook?

    /// Opens (creating when `create`) the database at `path`, turns on extended result codes.
    init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)  // A failed open still allocates a handle that must be closed.
            throw SQLiteError(code: rc, message: "cannot open \(path): \(message)", sql: nil)
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 5000)
    }

    deinit {
        statements.removeAll()  // Finalize every statement before closing.
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows.
    func execute(_ sql: String) throws(SQLiteError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? lastErrorMessage
            sqlite3_free(errorMessage)
            throw SQLiteError(code: rc, message: message, sql: sql)
        }
    }

    /// Flushes the main database file (`fdatasync`) through SQLite's own file handle: a descriptor
    /// of our own on the file would, when closed, drop every POSIX lock the process holds on it.
    func syncDatabaseFile() throws(SQLiteError) {
        var file: UnsafeMutablePointer<sqlite3_file>?
        let found = sqlite3_file_control(handle, "main", SQLITE_FCNTL_FILE_POINTER, &file)
        guard found == SQLITE_OK, let file, let sync = file.pointee.pMethods?.pointee.xSync else {
            throw SQLiteError(code: found == SQLITE_OK ? SQLITE_MISUSE : found, message: "no database file to flush", sql: nil)
        }
        let rc = sync(file, SQLITE_SYNC_NORMAL | SQLITE_SYNC_DATAONLY)
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: "flushing the database file failed", sql: nil) }
    }

    /// The first column of the first row of `sql`, as text.
    func scalarText(_ sql: String) throws(SQLiteError) -> String? {
        let statement = try prepare(sql)
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return statement.text(0)
    }

    /// A prepared statement for `sql`, cached by its text; reset and cleared before it is returned.
    func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard rc == SQLITE_OK, let raw else { throw SQLiteError(code: rc, message: lastErrorMessage, sql: sql) }
        let statement = Statement(raw, connection: self, sql: sql)
        statements[sql] = statement
        return statement
    }

    /// A statement prepared for one use and finalized when released, never cached: for SQL from
    /// outside the host (a provider's), which must be authorized as it is prepared and must never
    /// be served from, or left in, the cache of host statements.
    func prepareUncached(_ sql: String) throws(SQLiteError) -> Statement {
        var raw: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, 0, &raw, nil)
        guard rc == SQLITE_OK, let raw else { throw SQLiteError(code: rc, message: lastErrorMessage, sql: sql) }
        return Statement(raw, connection: self, sql: sql)
    }

    /// Whether a transaction is open (false once a statement such as `INSERT OR ROLLBACK`, or an I/O
    /// error, has rolled it back).
    var isInTransaction: Bool { sqlite3_get_autocommit(handle) == 0 }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`, rolling back when it throws.
    func transaction<T>(_ body: () throws -> T) throws -> T {
        try prepare("BEGIN IMMEDIATE").run()
        do {
            let result = try body()
            try prepare("COMMIT").run()
            return result
        } catch {
            if isInTransaction {
                do { try execute("ROLLBACK") } catch let rollbackError {
                    throw SQLiteError(code: rollbackError.code, message: "rollback after '\(error)' failed: \(rollbackError.message)", sql: nil)
                }
            }
            throw error
        }
    }

    /// Turns off SQLite's automatic checkpoint (which would run inside the commit that crosses the
    /// threshold, on this connection's thread) and calls `action` instead after every commit, with the
    /// number of frames in the write-ahead log. `action` runs on the committing thread and must only
    /// hand the work to another thread.
    func replaceAutomaticCheckpoint(_ action: @escaping @Sendable (_ frames: Int32) -> Void) {
        let hook = WALHook(action: action)
        walHook = hook
        sqlite3_wal_hook(
            handle,
            { context, _, _, frames in
                guard let context else { return SQLITE_OK }
                Unmanaged<WALHook>.fromOpaque(context).takeUnretainedValue().action(frames)
                return SQLITE_OK
            }, Unmanaged.passUnretained(hook).toOpaque())
    }

    var lastErrorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// The rowid of the last insert on this connection.
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last statement.
    var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A prepared statement; binds are 1-based, columns 0-based as in SQLite.
final class Statement {
    fileprivate let raw: OpaquePointer
    private unowned let connection: SQLiteConnection
    let sql: String

    fileprivate init(_ raw: OpaquePointer, connection: SQLiteConnection, sql: String) {
        self.raw = raw
        self.connection = connection
        self.sql = sql
    }

    deinit { sqlite3_finalize(raw) }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    func bind(_ index: Int32, _ value: String?) throws(SQLiteError) {
        let rc: Int32
        if var value {
            // With the byte count, not -1: a NUL inside the string must not end it early.
            rc = value.withUTF8 { bytes in
                sqlite3_bind_text64(
                    raw, index, UnsafeRawPointer(bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!).assumingMemoryBound(to: CChar.self),
                    sqlite3_uint64(bytes.count), atom_sqlite_transient(), UInt8(SQLITE_UTF8))
            }
        } else {
            rc = sqlite3_bind_null(raw, index)
        }
        try check(rc)
    }

    func bind(_ index: Int32, _ value: Int64?) throws(SQLiteError) {
        try check(value.map { sqlite3_bind_int64(raw, index, $0) } ?? sqlite3_bind_null(raw, index))
    }

    func bind(_ index: Int32, _ value: Double?) throws(SQLiteError) {
        try check(value.map { sqlite3_bind_double(raw, index, $0) } ?? sqlite3_bind_null(raw, index))
    }

    func bind(_ index: Int32, blob: [UInt8]) throws(SQLiteError) {
        let rc = blob.withUnsafeBytes { buffer in
            sqlite3_bind_blob64(raw, index, buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64(buffer.count), atom_sqlite_transient())
        }
        try check(rc)
    }

    /// Binds `blob` at `blobIndex` and the UTF-8 `text` at `textIndex` without copying them, runs the
    /// statement and resets it. SQLite reads the bytes in place (`SQLITE_STATIC`), which is safe only
    /// because they stay borrowed until the reset: the copies the other binds make cost the writer two
    /// allocations and copies per stored event.
    func run(borrowing blob: [UInt8], at blobIndex: Int32, utf8Text text: [UInt8], at textIndex: Int32) throws(SQLiteError) {
        let result = blob.withUnsafeBytes { blob in
            text.withUnsafeBytes { text in
                Result { () throws(SQLiteError) in
                    defer { reset() }
                    // Empty arrays may have no storage; SQLite needs a valid pointer even for zero bytes.
                    try check(sqlite3_bind_blob64(raw, blobIndex, blob.baseAddress ?? UnsafeRawPointer(bitPattern: 1), sqlite3_uint64(blob.count), nil))
                    try check(
                        sqlite3_bind_text64(
                            raw, textIndex, text.baseAddress?.assumingMemoryBound(to: CChar.self) ?? UnsafePointer(bitPattern: 1),
                            sqlite3_uint64(text.count), nil, UInt8(SQLITE_UTF8)))
                    try run()
                }
            }
        }
        try result.get()
    }

    /// Advances to the next row; false when done.
    func step() throws(SQLiteError) -> Bool {
        let rc = sqlite3_step(raw)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: rc, message: connection.lastErrorMessage, sql: sql)
        }
    }

    /// Steps until done (for statements that return no rows).
    func run() throws(SQLiteError) {
        while try step() {}
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }

    /// Columns in each result row.
    var columnCount: Int32 { sqlite3_column_count(raw) }

    /// The SQLite storage class of `column` in the current row (`SQLITE_INTEGER`, `SQLITE_TEXT`, …).
    func columnType(_ column: Int32) -> Int32 { sqlite3_column_type(raw, column) }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }

    func double(_ column: Int32) -> Double { sqlite3_column_double(raw, column) }

    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(raw, column) else { return nil }
        let count = Int(sqlite3_column_bytes(raw, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(raw, column))
        guard count > 0, let pointer = sqlite3_column_blob(raw, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    private func check(_ rc: Int32) throws(SQLiteError) {
        guard rc == SQLITE_OK else { throw SQLiteError(code: rc, message: connection.lastErrorMessage, sql: sql) }
    }
}

/// What ``SQLiteConnection/replaceAutomaticCheckpoint(_:)`` hands to SQLite.
private final class WALHook {
    let action: @Sendable (_ frames: Int32) -> Void

    init(action: @escaping @Sendable (_ frames: Int32) -> Void) {
        self.action = action
    }
}
