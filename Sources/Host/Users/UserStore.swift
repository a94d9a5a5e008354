import PluginAPI

/// A user of the hub: the owner of OAuth connections.
struct User: Sendable {
    let id: String
    let displayName: String?
    /// Created on the fly by `ALLOW_DEV_TEMP_USERS=true` (development only).
    let temporary: Bool
    /// Milliseconds since 1970.
    let createdAt: Int64

    var json: JSONValue {
        [
            "id": .string(id), "display_name": displayName.map(JSONValue.string) ?? .null, "temporary": .bool(temporary),
            "created_at": .number(Double(createdAt) / 1000),
        ]
    }
}

/// The `users` table, on the event log's writer connection (short transactions, off the cooperative pool).
struct UserStore: Sendable {
    let database: EventLog
    let clock: any WallClock

    /// Whether `id` matches `^[A-Za-z0-9_-]{1,64}$`.
    static func isValidID(_ id: String) -> Bool {
        (1...64).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                FormURLEncoded.isUnreserved(byte) && byte != UInt8(ascii: ".") && byte != UInt8(ascii: "~")
            }
    }

    /// Creates the user `id`; returns nil when the id is taken.
    func create(id: String, displayName: String?, temporary: Bool) async throws -> User? {
        let user = User(id: id, displayName: displayName, temporary: temporary, createdAt: Int64(clock.now() * 1000))
        return try await database.write { connection in
            try connection.transaction {
                let insert = try connection.prepare(
                    "INSERT INTO users (id, display_name, temporary, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING")
                try insert.bind(1, user.id)
                try insert.bind(2, user.displayName)
                try insert.bind(3, Int64(user.temporary ? 1 : 0))
                try insert.bind(4, user.createdAt)
                try insert.run()
                return connection.changes == 1 ? user : nil
            }
        }
    }

    /// The user `id`, if it exists.
    func user(_ id: String) async throws -> User? {
        try await users(where: id, limit: 1).first
    }

    /// Users in id order (only `id` when given).
    func users(where id: String? = nil, limit: Int = 1000) async throws -> [User] {
        try await database.write { connection in
            let select = try connection.prepare(
                "SELECT id, display_name, temporary, created_at FROM users WHERE ?1 IS NULL OR id = ?1 ORDER BY id LIMIT ?2")
            defer { select.reset() }
            try select.bind(1, id)
            try select.bind(2, Int64(limit))
            var users: [User] = []
            while try select.step() {
                users.append(User(id: select.text(0) ?? "", displayName: select.text(1), temporary: select.int64(2) != 0, createdAt: select.int64(3)))
            }
            return users
        }
    }
}
