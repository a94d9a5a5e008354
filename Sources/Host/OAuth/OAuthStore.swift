import PluginAPI

/// How a presented state was found.
enum StateLookup: Sendable {
    /// No such state was ever issued (or it was cleaned up long after expiring).
    case unknown
    /// It was issued and has been presented before.
    case replayed
    /// First presentation; it is now consumed.
    case fresh(PendingAuthorization)
}

/// What storing a new authorization came to.
enum StateInsertion: Sendable, Equatable {
    case stored
    /// The user already has ``OAuthStore/maximumPending`` pending authorizations for the provider.
    case tooManyPending
    /// The authorize link was refused (and is consumed if it existed).
    case linkRejected(LinkRejection)
}

/// Why an authorize link was refused.
enum LinkRejection: String, Sendable {
    /// Never issued (forged, or cleaned up a day after expiring).
    case unknown = "invalid_link"
    case used = "link_used"
    case expired = "link_expired"
    /// Issued for another provider, user or redirect URI.
    case mismatch = "link_mismatch"

    /// What the browser is told.
    var detail: String {
        switch self {
        case .unknown: "this authorize link was not issued by this hub"
        case .used: "this authorize link was already used; ask the app for a new one"
        case .expired: "this authorize link is older than 10 minutes; ask the app for a new one"
        case .mismatch: "this authorize link was issued for another provider, user or redirect_uri"
        }
    }
}

/// The OAuth tables (`oauth_states`, `oauth_links`, `oauth_connections`) and the connections' sealed tokens in
/// `secrets`, on the event log's writer connection: each call is one short transaction on the writer
/// thread, never SQLite on the cooperative pool. The writer runs with `secure_delete`, so replaced and
/// deleted ciphertext is zeroed in the database file.
struct OAuthStore: Sendable {
    let database: EventLog

    /// Consumed and expired states are kept this long (milliseconds), so a replay is told from a forgery.
    static let stateRetention: Int64 = 86_400_000

    // MARK: - States

    /// Authorizations (and unused authorize links) of one user and provider that may be pending at once,
    /// so neither table grows without bound.
    static let maximumPending = 20

    /// Records a new authorization under the hash of its state, consuming the authorize link with
    /// `linkHash` in the same transaction (nil only for the development escape hatch), and forgets
    /// states and links expired a day ago. Stores nothing unless the outcome is ``StateInsertion/stored``;
    /// a presented link is consumed whatever the outcome, so it works once.
    func insertState(hash: String, _ pending: PendingAuthorization, linkHash: String?, now: Int64) async throws -> StateInsertion {
        try await transaction { connection in
            try Self.prune(now: now, on: connection)
            guard try Self.pendingCount("oauth_states", "consumed_at", provider: pending.provider, userID: pending.userID, now: now, on: connection) < Self.maximumPending
            else { return .tooManyPending }
            if let linkHash {
                let rejection = try Self.consumeLink(hash: linkHash, for: pending, now: now, on: connection)
                if let rejection { return .linkRejected(rejection) }
            }
            let insert = try connection.prepare(
                """
                INSERT INTO oauth_states (state_hash, provider, user_id, redirect_uri, verifier_nonce, verifier_ciphertext, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
            try insert.bind(1, hash)
            try insert.bind(2, pending.provider)
            try insert.bind(3, pending.userID)
            try insert.bind(4, pending.redirectURI)
            if let verifier = pending.verifier {
                try insert.bind(5, blob: verifier.nonce)
                try insert.bind(6, blob: verifier.ciphertextAndTag)
            }
            try insert.bind(7, now)
            try insert.bind(8, pending.expiresAt)
            try insert.run()
            return .stored
        }
    }

    /// Records an authorize link under the hash of its token; false (storing nothing) when the user
    /// already has ``maximumPending`` unused links for the provider.
    func insertLink(hash: String, _ link: AuthorizeLink, now: Int64) async throws -> Bool {
        try await transaction { connection in
            try Self.prune(now: now, on: connection)
            guard try Self.pendingCount("oauth_links", "used_at", provider: link.provider, userID: link.userID, now: now, on: connection) < Self.maximumPending
            else { return false }
            let insert = try connection.prepare(
                "INSERT INTO oauth_links (link_hash, provider, user_id, redirect_uri, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
            try insert.bind(1, hash)
            try insert.bind(2, link.provider)
            try insert.bind(3, link.userID)
            try insert.bind(4, link.redirectURI)
            try insert.bind(5, now)
            try insert.bind(6, link.expiresAt)
            try insert.run()
            return true
        }
    }

    /// Marks the link with `hash` used and says why it does not admit `pending`, if it does not.
    private static func consumeLink(hash: String, for pending: PendingAuthorization, now: Int64, on connection: SQLiteConnection) throws -> LinkRejection? {
        let select = try connection.prepare("SELECT provider, user_id, redirect_uri, expires_at, used_at FROM oauth_links WHERE link_hash = ?")
        defer { select.reset() }
        try select.bind(1, hash)
        guard try select.step() else { return .unknown }
        if !select.isNull(4) { return .used }
        let matches = select.text(0) == pending.provider && select.text(1) == pending.userID && select.text(2) == pending.redirectURI
        let expired = select.int64(3) <= now
        select.reset()
        let consume = try connection.prepare("UPDATE oauth_links SET used_at = ? WHERE link_hash = ?")
        try consume.bind(1, now)
        try consume.bind(2, hash)
        try consume.run()
        if expired { return .expired }
        return matches ? nil : .mismatch
    }

    /// Unused, unexpired rows of `table` for one user and provider.
    private static func pendingCount(_ table: String, _ usedColumn: String, provider: String, userID: String, now: Int64, on connection: SQLiteConnection) throws -> Int64 {
        let count = try connection.prepare("SELECT count(*) FROM \(table) WHERE user_id = ? AND provider = ? AND \(usedColumn) IS NULL AND expires_at > ?")
        defer { count.reset() }
        try count.bind(1, userID)
        try count.bind(2, provider)
        try count.bind(3, now)
        return try count.step() ? count.int64(0) : 0
    }

    /// Deletes states and links that expired more than ``stateRetention`` ago.
    private static func prune(now: Int64, on connection: SQLiteConnection) throws {
        for table in ["oauth_states", "oauth_links"] {
            let cleanup = try connection.prepare("DELETE FROM \(table) WHERE expires_at < ?")
            try cleanup.bind(1, now - stateRetention)
            try cleanup.run()
        }
    }

    /// Finds the state with `hash` and marks it used, in one transaction: a state is consumed by its
    /// first presentation, whatever the outcome.
    func consumeState(hash: String, now: Int64) async throws -> StateLookup {
        try await transaction { connection in
            let select = try connection.prepare(
                "SELECT provider, user_id, redirect_uri, verifier_nonce, verifier_ciphertext, expires_at, consumed_at FROM oauth_states WHERE state_hash = ?")
            defer { select.reset() }
            try select.bind(1, hash)
            guard try select.step() else { return .unknown }
            if !select.isNull(6) { return .replayed }
            let pending = PendingAuthorization(
                provider: select.text(0) ?? "", userID: select.text(1) ?? "", redirectURI: select.text(2) ?? "",
                verifier: select.isNull(3) ? nil : AESGCM.Sealed(nonce: select.blob(3), ciphertextAndTag: select.blob(4)), expiresAt: select.int64(5))
            select.reset()
            let consume = try connection.prepare("UPDATE oauth_states SET consumed_at = ? WHERE state_hash = ?")
            try consume.bind(1, now)
            try consume.bind(2, hash)
            try consume.run()
            return .fresh(pending)
        }
    }

    // MARK: - Connections

    /// Creates or replaces the connection of `userID` to `provider` with `grant`'s tokens, sealed under `key`.
    func saveConnection(provider: String, userID: String, grant: TokenGrant, requestedScopes: String, key: SecretStore.UnlockedKey, now: Int64) async throws
        -> OAuthConnection
    {
        try await transaction { connection in
            let upsert = try connection.prepare(
                """
                INSERT INTO oauth_connections (provider, user_id, status, scopes, expires_at, has_refresh_token, generation, created_at, updated_at)
                VALUES (?1, ?2, 'active', ?3, ?4, ?5, 1, ?6, ?6)
                ON CONFLICT (provider, user_id) DO UPDATE SET status = 'active', scopes = excluded.scopes, expires_at = excluded.expires_at,
                    has_refresh_token = excluded.has_refresh_token, generation = generation + 1, last_error = NULL, updated_at = excluded.updated_at
                RETURNING id
                """)
            try upsert.bind(1, provider)
            try upsert.bind(2, userID)
            try upsert.bind(3, grant.scope ?? requestedScopes)
            try upsert.bind(4, Self.expiry(grant, now: now))
            try upsert.bind(5, Int64(grant.refreshToken == nil ? 0 : 1))
            try upsert.bind(6, now)
            guard try upsert.step() else { throw SQLiteError(code: 0, message: "the connection upsert returned no row", sql: nil) }
            let id = upsert.int64(0)
            upsert.reset()
            try Self.storeTokens(grant, id: id, keepRefreshToken: false, key: key, now: now, on: connection)
            return try Self.connection(id: id, on: connection)!
        }
    }

    /// Stores refreshed tokens if the connection is still at `generation` (not replaced, deleted or
    /// marked meanwhile); a grant without a refresh token keeps the old one. Nil when it was not stored.
    func storeRefresh(id: Int64, generation: Int64, grant: TokenGrant, key: SecretStore.UnlockedKey, now: Int64) async throws -> OAuthConnection? {
        try await transaction { connection in
            let update = try connection.prepare(
                """
                UPDATE oauth_connections SET expires_at = ?1, generation = generation + 1, last_error = NULL, last_refreshed_at = ?2, updated_at = ?2,
                    scopes = coalesce(?3, scopes), has_refresh_token = CASE WHEN ?4 THEN 1 ELSE has_refresh_token END
                WHERE id = ?5 AND generation = ?6 AND status = 'active'
                """)
            try update.bind(1, Self.expiry(grant, now: now))
            try update.bind(2, now)
            try update.bind(3, grant.scope)
            try update.bind(4, Int64(grant.refreshToken == nil ? 0 : 1))
            try update.bind(5, id)
            try update.bind(6, generation)
            try update.run()
            guard connection.changes == 1 else { return nil }
            try Self.storeTokens(grant, id: id, keepRefreshToken: true, key: key, now: now, on: connection)
            return try Self.connection(id: id, on: connection)
        }
    }

    /// Marks the connection as needing re-authorization if it is still at `generation`; returns whether it did.
    func markNeedsReauth(id: Int64, generation: Int64, error: String, now: Int64) async throws -> Bool {
        try await updateActive(id: id, generation: generation, set: "status = 'needs_reauth', ", error: error, now: now)
    }

    /// Records why the last refresh of a connection still at `generation` failed, leaving it active
    /// (the refresh is retried); the admin API shows it as `last_error`.
    func recordRefreshError(id: Int64, generation: Int64, error: String, now: Int64) async throws {
        _ = try await updateActive(id: id, generation: generation, set: "", error: error, now: now)
    }

    /// Sets `last_error` (and the fixed assignments in `set`) on an active connection still at `generation`.
    private func updateActive(id: Int64, generation: Int64, set: StaticString, error: String, now: Int64) async throws -> Bool {
        let sql = "UPDATE oauth_connections SET \(set)last_error = ?, updated_at = ? WHERE id = ? AND generation = ? AND status = 'active'"
        return try await transaction { connection in
            let update = try connection.prepare(sql)
            try update.bind(1, error)
            try update.bind(2, now)
            try update.bind(3, id)
            try update.bind(4, generation)
            try update.run()
            return connection.changes == 1
        }
    }

    /// Deletes the connection and its sealed tokens; returns whether it existed.
    func delete(id: Int64) async throws -> Bool {
        try await transaction { connection in
            let secrets = try connection.prepare("DELETE FROM secrets WHERE name IN (?, ?)")
            try secrets.bind(1, OAuthConnection.accessTokenName(id))
            try secrets.bind(2, OAuthConnection.refreshTokenName(id))
            try secrets.run()
            let delete = try connection.prepare("DELETE FROM oauth_connections WHERE id = ?")
            try delete.bind(1, id)
            try delete.run()
            return connection.changes == 1
        }
    }

    /// The connection `id`, if it exists.
    func connection(id: Int64) async throws -> OAuthConnection? {
        try await database.write { connection in try Self.connection(id: id, on: connection) }
    }

    /// Connections, oldest first, optionally only those matching each given filter.
    func connections(provider: String? = nil, userID: String? = nil, status: OAuthConnection.Status? = nil, limit: Int = 1000) async throws
        -> [OAuthConnection]
    {
        try await database.write { connection in
            let select = try connection.prepare(
                """
                SELECT \(Self.columns) FROM oauth_connections WHERE (?1 IS NULL OR provider = ?1) AND (?2 IS NULL OR user_id = ?2)
                AND (?3 IS NULL OR status = ?3) ORDER BY id LIMIT ?4
                """)
            defer { select.reset() }
            try select.bind(1, provider)
            try select.bind(2, userID)
            try select.bind(3, status?.rawValue)
            try select.bind(4, Int64(limit))
            var connections: [OAuthConnection] = []
            while try select.step() { connections.append(Self.decode(select)) }
            return connections
        }
    }

    /// The connection `id` and its sealed refresh token, read in one step on the writer, so no
    /// reconnect can land between them (a refresh must use the token of the generation it read).
    func connectionAndRefreshToken(id: Int64) async throws -> (connection: OAuthConnection, refresh: SecretStore.SealedSecret?)? {
        try await database.write { connection in
            guard let record = try Self.connection(id: id, on: connection) else { return nil }
            let name = OAuthConnection.refreshTokenName(id)
            return (record, try SecretStore(connection: connection).sealedSecrets(named: [name])[name])
        }
    }

    /// The sealed access and refresh tokens of connection `id`.
    func sealedTokens(id: Int64) async throws -> (access: SecretStore.SealedSecret?, refresh: SecretStore.SealedSecret?) {
        try await database.write { connection in
            let secrets = try SecretStore(connection: connection).sealedSecrets(named: [OAuthConnection.accessTokenName(id), OAuthConnection.refreshTokenName(id)])
            return (secrets[OAuthConnection.accessTokenName(id)], secrets[OAuthConnection.refreshTokenName(id)])
        }
    }

    // MARK: - SQL

    private func transaction<T: Sendable>(_ body: @escaping @Sendable (SQLiteConnection) throws -> T) async throws -> T {
        try await database.write { connection in
            _ = try SecretStore(connection: connection)  // Turns on secure_delete for this connection (outside the transaction).
            return try connection.transaction { try body(connection) }
        }
    }

    private static func expiry(_ grant: TokenGrant, now: Int64) -> Int64? {
        grant.expiresIn.flatMap { $0 > 0 && $0 < 10 * 365 * 86_400 ? now + Int64($0 * 1000) : nil }
    }

    private static func storeTokens(
        _ grant: TokenGrant, id: Int64, keepRefreshToken: Bool, key: SecretStore.UnlockedKey, now: Int64, on connection: SQLiteConnection
    ) throws {
        let store = try SecretStore(connection: connection)
        try store.put(name: OAuthConnection.accessTokenName(id), value: grant.accessToken, key: key, now: now)
        if let refreshToken = grant.refreshToken {
            try store.put(name: OAuthConnection.refreshTokenName(id), value: refreshToken, key: key, now: now)
        } else if !keepRefreshToken {
            let delete = try connection.prepare("DELETE FROM secrets WHERE name = ?")
            try delete.bind(1, OAuthConnection.refreshTokenName(id))
            try delete.run()
        }
    }

    private static let columns =
        "id, provider, user_id, status, scopes, expires_at, has_refresh_token, generation, last_error, last_refreshed_at, created_at, updated_at"

    private static func connection(id: Int64, on connection: SQLiteConnection) throws -> OAuthConnection? {
        let select = try connection.prepare("SELECT \(columns) FROM oauth_connections WHERE id = ?")
        defer { select.reset() }
        try select.bind(1, id)
        return try select.step() ? decode(select) : nil
    }

    private static func decode(_ row: Statement) -> OAuthConnection {
        OAuthConnection(
            id: row.int64(0), provider: row.text(1) ?? "", userID: row.text(2) ?? "", status: OAuthConnection.Status(rawValue: row.text(3) ?? "") ?? .needsReauth,
            scopes: row.text(4) ?? "", expiresAt: row.isNull(5) ? nil : row.int64(5), hasRefreshToken: row.int64(6) != 0, generation: row.int64(7),
            lastError: row.text(8), lastRefreshedAt: row.isNull(9) ? nil : row.int64(9), createdAt: row.int64(10), updatedAt: row.int64(11))
    }
}
