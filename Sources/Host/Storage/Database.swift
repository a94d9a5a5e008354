import Foundation

/// The hub's SQLite database file: opening, pragmas and versioned migrations.
enum Database {
    /// The file name inside the data dir.
    static let fileName = "atom-hub.sqlite"

    /// Migrations in order, recorded by id in `schema_migrations`; never edit one that has shipped.
    static let migrations: [(id: String, sql: String)] = [
        (
            "0001_event_log",
            """
            CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                provider TEXT NOT NULL,
                external_id TEXT NOT NULL,
                type TEXT NOT NULL,
                received_at INTEGER NOT NULL,
                occurred_at REAL,
                raw_body BLOB NOT NULL,
                payload TEXT NOT NULL,
                UNIQUE (provider, external_id)
            );
            CREATE INDEX events_provider_id ON events (provider, id);
            """
        )
    ]

    /// Opens a read-write connection with the hub's pragmas: WAL, synchronous=FULL, foreign keys.
    static func openWriter(dataDirectory: URL) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: dataDirectory.appendingPathComponent(fileName).path)
        let mode = try connection.scalarText("PRAGMA journal_mode = WAL")
        guard mode?.lowercased() == "wal" else {
            throw SQLiteError(code: 0, message: "the database refused WAL mode (answered \(mode ?? "nothing"))", sql: nil)
        }
        // FULL: every commit is fsynced before it returns, so an acknowledged webhook survives power loss.
        try connection.execute("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
        try migrate(connection)
        return connection
    }

    /// Opens a connection for queries (it never writes).
    static func openReader(dataDirectory: URL) throws -> SQLiteConnection {
        let connection = try SQLiteConnection(path: dataDirectory.appendingPathComponent(fileName).path, readOnly: true)
        try connection.execute("PRAGMA foreign_keys = ON;")
        return connection
    }

    /// Applies the migrations not yet recorded, each in its own transaction.
    static func migrate(_ connection: SQLiteConnection) throws {
        try connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)")
        for migration in migrations {
            let check = try connection.prepare("SELECT 1 FROM schema_migrations WHERE id = ?")
            try check.bind(1, migration.id)
            let applied = try check.step()
            check.reset()
            if applied { continue }
            try connection.transaction {
                try connection.execute(migration.sql)
                let record = try connection.prepare("INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)")
                try record.bind(1, migration.id)
                try record.bind(2, Int64(Date().timeIntervalSince1970))
                try record.run()
            }
        }
    }
}
