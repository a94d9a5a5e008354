import Foundation
import PluginAPI

/// The encrypted secrets tables, on one SQLite connection (used by one thread at a time).
///
/// Each value is sealed with AES-256-GCM under a key derived from `ENCRYPTION_KEY` with
/// PBKDF2-HMAC-SHA256 and a random salt; the salt, iteration count and a check value live in
/// `secret_keys` under a key id, and every value records the id of the key that sealed it. The
/// value's name is the associated data, so a ciphertext moved to another name fails to open.
/// Key derivation (slow on purpose) runs before any transaction starts, so it never holds the write lock.
final class SecretStore {
    /// A derived key and the id it is stored under.
    struct UnlockedKey: Sendable {
        let id: String
        let key: [UInt8]
    }

    /// Salt and parameters of a stored key, and its sealed check value.
    struct KeyRecord: Sendable {
        let id: String
        let iterations: Int
        let salt: [UInt8]
        let check: AESGCM.Sealed
        let createdAt: Int64
    }

    /// A stored value, still sealed.
    struct SealedSecret: Sendable {
        let name: String
        let keyID: String
        let sealed: AESGCM.Sealed
        let updatedAt: Int64
    }

    /// A key made but not yet stored (see ``insert(_:)``).
    struct NewKey: Sendable {
        let record: KeyRecord
        let unlocked: UnlockedKey
    }

    let connection: SQLiteConnection

    /// Uses `connection` (a writer from `Database.openWriter` or a reader). Deleted and overwritten
    /// rows are zeroed on disk (`secure_delete`), so replaced ciphertext does not linger in free pages.
    init(connection: SQLiteConnection) throws {
        self.connection = connection
        try connection.execute("PRAGMA secure_delete = ON")
    }

    private static let checkPlaintext = Array("atom-hub secret key check".utf8)
    private static func checkAssociatedData(_ keyID: String) -> [UInt8] { Array("atom-hub key \(keyID)".utf8) }

    // MARK: - Keys

    /// Every stored key, newest first.
    func keyRecords() throws -> [KeyRecord] {
        let statement = try connection.prepare(
            "SELECT id, iterations, salt, check_nonce, check_value, created_at FROM secret_keys ORDER BY created_at DESC, rowid DESC")
        defer { statement.reset() }
        var records: [KeyRecord] = []
        while try statement.step() {
            records.append(
                KeyRecord(
                    id: statement.text(0) ?? "", iterations: Int(statement.int64(1)), salt: statement.blob(2),
                    check: AESGCM.Sealed(nonce: statement.blob(3), ciphertextAndTag: statement.blob(4)), createdAt: statement.int64(5)))
        }
        return records
    }

    /// Derives the key for `record` from `passphrase`; throws `wrongKey` when the check value does not open.
    static func unlock(_ record: KeyRecord, passphrase: String, variable: String = "ENCRYPTION_KEY") throws(SecretStoreError) -> UnlockedKey {
        let key = KeyDerivation.pbkdf2SHA256(passphrase: passphrase, salt: record.salt, iterations: record.iterations)
        do {
            guard try AESGCM.open(record.check, key: key, associatedData: checkAssociatedData(record.id)) == checkPlaintext else {
                throw SecretStoreError.wrongKey(keyID: record.id, variable: variable)
            }
        } catch {
            throw .wrongKey(keyID: record.id, variable: variable)
        }
        return UnlockedKey(id: record.id, key: key)
    }

    /// A new key from `passphrase` with a fresh salt and id; store it with ``insert(_:)``.
    static func makeKey(passphrase: String, iterations: Int = KeyDerivation.defaultIterations, now: Int64) -> NewKey {
        let id = "key-" + Hex.encode(SecureRandom.bytes(6))
        let salt = SecureRandom.bytes(KeyDerivation.saltBytes)
        let key = KeyDerivation.pbkdf2SHA256(passphrase: passphrase, salt: salt, iterations: iterations)
        let check = AESGCM.seal(checkPlaintext, key: key, associatedData: checkAssociatedData(id))
        return NewKey(
            record: KeyRecord(id: id, iterations: iterations, salt: salt, check: check, createdAt: now), unlocked: UnlockedKey(id: id, key: key))
    }

    /// Stores a key made by ``makeKey(passphrase:iterations:now:)``.
    func insert(_ key: NewKey) throws {
        let statement = try connection.prepare(
            "INSERT INTO secret_keys (id, kdf, iterations, salt, check_nonce, check_value, created_at) VALUES (?, 'pbkdf2-hmac-sha256', ?, ?, ?, ?, ?)")
        try statement.bind(1, key.record.id)
        try statement.bind(2, Int64(key.record.iterations))
        try statement.bind(3, blob: key.record.salt)
        try statement.bind(4, blob: key.record.check.nonce)
        try statement.bind(5, blob: key.record.check.ciphertextAndTag)
        try statement.bind(6, key.record.createdAt)
        try statement.run()
    }

    /// Removes the key `id` (after rotation, when nothing uses it).
    func deleteKey(_ id: String) throws {
        let statement = try connection.prepare("DELETE FROM secret_keys WHERE id = ?")
        try statement.bind(1, id)
        try statement.run()
    }

    // MARK: - Values

    /// Every stored value, sealed, by name.
    func sealedSecrets() throws -> [SealedSecret] {
        let statement = try connection.prepare("SELECT name, key_id, nonce, ciphertext, updated_at FROM secrets ORDER BY name")
        defer { statement.reset() }
        var secrets: [SealedSecret] = []
        while try statement.step() {
            secrets.append(
                SealedSecret(
                    name: statement.text(0) ?? "", keyID: statement.text(1) ?? "",
                    sealed: AESGCM.Sealed(nonce: statement.blob(2), ciphertextAndTag: statement.blob(3)), updatedAt: statement.int64(4)))
        }
        return secrets
    }

    /// Seals `value` under `key` and stores it as `name`, replacing any previous value.
    func put(name: String, value: String, key: UnlockedKey, now: Int64) throws {
        try SecretStoreError.validate(name: name)
        let sealed = AESGCM.seal(Array(value.utf8), key: key.key, associatedData: Array(name.utf8))
        let statement = try connection.prepare(
            """
            INSERT INTO secrets (name, key_id, nonce, ciphertext, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (name) DO UPDATE SET key_id = excluded.key_id, nonce = excluded.nonce,
                ciphertext = excluded.ciphertext, updated_at = excluded.updated_at
            """)
        try statement.bind(1, name)
        try statement.bind(2, key.id)
        try statement.bind(3, blob: sealed.nonce)
        try statement.bind(4, blob: sealed.ciphertextAndTag)
        try statement.bind(5, now)
        try statement.bind(6, now)
        try statement.run()
    }

    /// Opens a sealed value; throws `unknownKey` or `tampered`, never returns partial data.
    static func open(_ secret: SealedSecret, with key: UnlockedKey) throws(SecretStoreError) -> String {
        guard secret.keyID == key.id else { throw .unknownKey(name: secret.name, keyID: secret.keyID) }
        let bytes: [UInt8]
        do { bytes = try AESGCM.open(secret.sealed, key: key.key, associatedData: Array(secret.name.utf8)) } catch {
            throw .tampered(name: secret.name)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .notUTF8(name: secret.name) }
        return text
    }

    /// Writes the WAL back into the database file and truncates it, so replaced pages do not linger
    /// there. Returns false when another connection's open read kept it from completing.
    func checkpoint() throws -> Bool {
        let statement = try connection.prepare("PRAGMA wal_checkpoint(TRUNCATE)")
        defer { statement.reset() }
        guard try statement.step() else { return false }
        return statement.int64(0) == 0
    }
}
