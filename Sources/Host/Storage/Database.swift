import CSQLite
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
        ),
        (
            "0002_security_audit_log",
            """
            CREATE TABLE security_audit_log (
                id INTEGER PRIMARY KEY,
                timestamp INTEGER NOT NULL,
                event_type TEXT NOT NULL,
                severity TEXT NOT NULL,
                user_id TEXT,
                details TEXT NOT NULL,
                request_id TEXT,
                ip_address TEXT,
                user_agent TEXT
            );
            CREATE INDEX security_audit_log_timestamp ON security_audit_log (timestamp);
            CREATE INDEX security_audit_log_event_type ON security_audit_log (event_type, timestamp);
            CREATE INDEX security_audit_log_severity ON security_audit_log (severity, timestamp);
            """
        ),
        (
            "0003_secrets",
            """
            CREATE TABLE secret_keys (
                id TEXT PRIMARY KEY,
                kdf TEXT NOT NULL,
                iterations INTEGER NOT NULL,
                salt BLOB NOT NULL,
                check_nonce BLOB NOT NULL,
                check_value BLOB NOT NULL,
                created_at INTEGER NOT NULL
            );
            CREATE TABLE secrets (
                name TEXT PRIMARY KEY,
                key_id TEXT NOT NULL REFERENCES secret_keys (id),
                nonce BLOB NOT NULL,
                ciphertext BLOB NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            """
        ),
        (
            "0004_jobs",
            """
            CREATE TABLE jobs (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                payload TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'dead', 'cancelled')),
                priority INTEGER NOT NULL DEFAULT 0,
                run_at INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL,
                idempotency_key TEXT UNIQUE,
                lease_owner TEXT,
                lease_expires_at INTEGER,
                last_error TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE INDEX jobs_claim ON jobs (state, run_at, priority);
            CREATE INDEX jobs_lease ON jobs (state, lease_expires_at);
            """
        ),
        (
            "0005_deliveries",
            """
            CREATE TABLE deliveries (
                id INTEGER PRIMARY KEY,
                destination TEXT NOT NULL,
                event_id INTEGER NOT NULL REFERENCES events (id),
                state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
                attempts INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL,
                next_attempt_at INTEGER NOT NULL,
                last_error TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE INDEX deliveries_destination ON deliveries (destination, state, id);
            CREATE INDEX deliveries_event ON deliveries (event_id);
            CREATE TABLE delivery_attempts (
                id INTEGER PRIMARY KEY,
                delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
                attempted_at INTEGER NOT NULL,
                status INTEGER,
                latency_ms INTEGER NOT NULL,
                error TEXT
            );
            CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
            """
        ),
        (
            "0006_search",
            """
            CREATE TABLE subscription_cursors (
                name TEXT PRIMARY KEY,
                event_id INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            );
            CREATE TABLE search_documents (
                seq INTEGER PRIMARY KEY,
                id TEXT NOT NULL UNIQUE,
                title TEXT NOT NULL,
                content TEXT NOT NULL,
                doc_type TEXT NOT NULL,
                provider TEXT NOT NULL,
                source_uri TEXT,
                workspace_id TEXT,
                user_id TEXT,
                created_at REAL NOT NULL,
                metadata TEXT NOT NULL,
                embedder TEXT NOT NULL,
                vector BLOB NOT NULL,
                updated_at REAL NOT NULL
            );
            CREATE TABLE search_document_tags (
                document INTEGER NOT NULL,
                tag TEXT NOT NULL,
                PRIMARY KEY (tag, document)
            ) WITHOUT ROWID;
            CREATE INDEX search_document_tags_document ON search_document_tags (document);
            CREATE VIRTUAL TABLE search_fts USING fts5 (title, content, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
            """
        ),
        (
            // Users, pending OAuth authorizations (only a hash of each state), and connections. Tokens
            // live sealed in `secrets` as oauth.<connection id>.access / .refresh, never here.
            "0007_oauth",
            """
            CREATE TABLE users (
                id TEXT PRIMARY KEY,
                display_name TEXT,
                temporary INTEGER NOT NULL DEFAULT 0,
                created_at INTEGER NOT NULL
            );
            CREATE TABLE oauth_states (
                state_hash TEXT PRIMARY KEY,
                provider TEXT NOT NULL,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                redirect_uri TEXT NOT NULL,
                verifier_nonce BLOB,
                verifier_ciphertext BLOB,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                consumed_at INTEGER
            );
            CREATE INDEX oauth_states_expires ON oauth_states (expires_at);
            CREATE TABLE oauth_connections (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                provider TEXT NOT NULL,
                user_id TEXT NOT NULL REFERENCES users (id),
                status TEXT NOT NULL CHECK (status IN ('active', 'needs_reauth')),
                scopes TEXT NOT NULL,
                expires_at INTEGER,
                has_refresh_token INTEGER NOT NULL,
                generation INTEGER NOT NULL,
                last_error TEXT,
                last_refreshed_at INTEGER,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                UNIQUE (provider, user_id)
            );
            """
        ),
        (
            // Single-use authorize links issued by the admin API (only a hash of each link token is stored).
            "0008_oauth_links",
            """
            CREATE TABLE oauth_links (
                link_hash TEXT PRIMARY KEY,
                provider TEXT NOT NULL,
                user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                redirect_uri TEXT NOT NULL,
                created_at INTEGER NOT NULL,
                expires_at INTEGER NOT NULL,
                used_at INTEGER
            );
            CREATE INDEX oauth_links_expires ON oauth_links (expires_at);
            """
        ),
        (
            // De-duplication moves from a unique index on `events`, which costs one scattered index page
            // per stored event, to `event_keys`, which the event log fills in sorted batches (see
            // ``EventKeys``). `events` is rebuilt without its UNIQUE constraint (SQLite cannot drop one);
            // its ids, and so every reference to them, stay as they are.
            "0009_event_keys",
            """
            CREATE TABLE event_keys (
                provider TEXT NOT NULL,
                external_id TEXT NOT NULL,
                PRIMARY KEY (provider, external_id)
            ) WITHOUT ROWID;
            INSERT INTO event_keys (provider, external_id) SELECT provider, external_id FROM events ORDER BY provider, external_id;
            CREATE TABLE event_keys_merged (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                through_event INTEGER NOT NULL
            );
            INSERT INTO event_keys_merged (id, through_event) SELECT 1, coalesce(max(id), 0) FROM events;
            CREATE TABLE events_rebuilt (
                id INTEGER PRIMARY KEY,
                provider TEXT NOT NULL,
                external_id TEXT NOT NULL,
                type TEXT NOT NULL,
                received_at INTEGER NOT NULL,
                occurred_at REAL,
                raw_body BLOB NOT NULL,
                payload TEXT NOT NULL
            );
            INSERT INTO events_rebuilt (id, provider, external_id, type, received_at, occurred_at, raw_body, payload)
                SELECT id, provider, external_id, type, received_at, occurred_at, raw_body, payload FROM events ORDER BY id;
            DROP TABLE events;
            ALTER TABLE events_rebuilt RENAME TO events;
            CREATE INDEX events_provider_id ON events (provider, id);
            """
        ),
    ]

    /// The tables the migrations create for the host, and `schema_migrations`: no provider id may be a
    /// prefix of one, since a provider owns the tables named `<id>_…`. (Migration 0006 creates the
    /// search provider's `search_…` tables; they are its own, so they are not listed.)
    static let hostTables: [String] = {
        var names = ["schema_migrations"]
        for migration in migrations {
            let words = migration.sql.split(whereSeparator: \.isWhitespace)
            for index in words.indices.dropFirst().dropLast() where words[index] == "TABLE" && ["CREATE", "VIRTUAL"].contains(words[index - 1]) {
                if !words[index + 1].hasPrefix("search_") { names.append(String(words[index + 1])) }
            }
        }
        return names
    }()

    /// Opens a read-write connection with the hub's pragmas: WAL, synchronous=FULL, foreign keys.
    static func openWriter(dataDirectory: URL) throws -> SQLiteConnection {
        let path = dataDirectory.appendingPathComponent(fileName).path
        let connection = try SQLiteConnection(path: path)
        // Owner only: the file holds encrypted secrets and the audit log (SQLite gives WAL and SHM the same mode).
        guard chmod(path, 0o600) == 0 else {
            throw SQLiteError(code: 0, message: "cannot restrict \(path) to its owner: \(System.errorDescription(errno))", sql: nil)
        }
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

    /// Applies the migrations not yet recorded, each in its own transaction. Foreign keys are off while
    /// they run, so a migration can rebuild a table others refer to (SQLite's documented way to change
    /// a constraint), and every reference is checked before each migration commits.
    static func migrate(_ connection: SQLiteConnection) throws {
        try connection.execute("CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)")
        try connection.execute("PRAGMA foreign_keys = OFF")
        let applied = Result { try applyPending(connection) }
        try connection.execute("PRAGMA foreign_keys = ON")
        if try applied.get() > 0 {
            // A migration that rebuilds a table writes all of it into the write-ahead log, which would
            // otherwise keep that size for good. Answers "busy" while another connection reads; the
            // log then stays as large until a later truncating checkpoint (`secrets rotate`).
            _ = try connection.scalarText("PRAGMA wal_checkpoint(TRUNCATE)")
        }
    }

    /// Applies the migrations not yet recorded; returns how many it applied.
    private static func applyPending(_ connection: SQLiteConnection) throws -> Int {
        var count = 0
        for migration in migrations {
            // Checked inside the write transaction, so two processes opening a new data dir at once
            // (the hub and a CLI command) cannot both apply the same migration.
            try connection.transaction {
                let check = try connection.prepare("SELECT 1 FROM schema_migrations WHERE id = ?")
                try check.bind(1, migration.id)
                let applied = try check.step()
                check.reset()
                if applied { return }
                try connection.execute(migration.sql)
                let violations = try connection.prepare("PRAGMA foreign_key_check")
                defer { violations.reset() }
                if try violations.step() {
                    throw SQLiteError(
                        code: SQLITE_CONSTRAINT, message: "migration \(migration.id) left a broken reference in \(violations.text(0) ?? "a table")",
                        sql: nil)
                }
                let record = try connection.prepare("INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)")
                try record.bind(1, migration.id)
                try record.bind(2, Int64(Date().timeIntervalSince1970))
                try record.run()
                count += 1
            }
        }
        return count
    }
}
