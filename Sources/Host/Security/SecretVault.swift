import Foundation
import PluginAPI

/// The secrets the running hub can resolve: read once at startup (sealed) with the key unlocked,
/// so a `secret:NAME` lookup is decryption in memory, never SQLite on a request path.
/// Values set later with `atom-hub secrets` are picked up at the next start.
struct SecretVault: Sendable {
    /// Whether the store can answer, and why not.
    enum Status: Sendable {
        /// Values can be read (the key is nil when the store is empty and no key was configured).
        case ready
        /// The store cannot be read; every `secret:` lookup throws `error`.
        case unavailable(SecretStoreError)
    }

    let status: Status
    let keySource: EncryptionKeySource
    let key: SecretStore.UnlockedKey?
    /// Key ids in the store, newest first.
    let keyIDs: [String]
    let secrets: [String: SecretStore.SealedSecret]
    /// Values that failed authentication at startup.
    let damaged: [String: SecretStoreError]

    /// Reads the store in `dataDirectory` (without creating it) and unlocks it with `keySource`.
    /// A wrong key is a status, not a throw, so the security review can report it.
    static func load(dataDirectory: URL, keySource: EncryptionKeySource) throws -> SecretVault {
        let path = dataDirectory.appendingPathComponent(Database.fileName).path
        guard FileManager.default.fileExists(atPath: path) else {
            return SecretVault(status: .ready, keySource: keySource, key: nil, keyIDs: [], secrets: [:], damaged: [:])
        }
        let connection = try SQLiteConnection(path: path, readOnly: true)
        guard try connection.scalarText("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'secrets'") != nil else {
            return SecretVault(status: .ready, keySource: keySource, key: nil, keyIDs: [], secrets: [:], damaged: [:])
        }
        let store = try SecretStore(connection: connection)
        let records = try store.keyRecords()
        let sealed = try store.sealedSecrets()
        let secrets = Dictionary(uniqueKeysWithValues: sealed.map { ($0.name, $0) })
        func vault(_ status: Status, key: SecretStore.UnlockedKey? = nil, damaged: [String: SecretStoreError] = [:]) -> SecretVault {
            SecretVault(status: status, keySource: keySource, key: key, keyIDs: records.map(\.id), secrets: secrets, damaged: damaged)
        }
        guard let newest = records.first else { return vault(.ready) }
        guard let passphrase = keySource.passphrase else { return vault(sealed.isEmpty ? .ready : .unavailable(.noEncryptionKey)) }
        let key: SecretStore.UnlockedKey
        do { key = try SecretStore.unlock(newest, passphrase: passphrase) } catch { return vault(.unavailable(error)) }
        var damaged: [String: SecretStoreError] = [:]
        for secret in sealed {
            do { _ = try SecretStore.open(secret, with: key) } catch { damaged[secret.name] = error }
        }
        return vault(.ready, key: key, damaged: damaged)
    }

    /// The value of `name`, or nil when the store has no such secret; throws when it cannot be read.
    func lookup(_ name: String) throws(SecretStoreError) -> String? {
        if case .unavailable(let error) = status { throw error }
        guard let secret = secrets[name] else { return nil }
        guard let key else { throw .noEncryptionKey }
        return try SecretStore.open(secret, with: key)
    }

    /// `ready` or `unavailable`, for reports.
    var statusName: String {
        if case .unavailable = status { return "unavailable" }
        return "ready"
    }

    /// Where the key comes from, for reports.
    var keySourceName: String {
        switch keySource.origin {
        case .environment: "ENCRYPTION_KEY"
        case .generated: "development key file"
        case .absent: "none"
        }
    }
}
