import Foundation
import PluginAPI

/// The write side of the secrets store, behind the `secrets` commands. Each change commits in one
/// `BEGIN IMMEDIATE` transaction together with its audit row; key derivation runs before it, so the
/// write lock is never held for the KDF. After each change the WAL is checkpointed and truncated.
struct SecretAdministration {
    let store: SecretStore
    let deployment: DeploymentEnvironment
    let environment: HubEnvironment
    let dataDirectory: URL
    /// Who is acting, for audit rows (`cli:alice`).
    let actor: String
    let clock: any WallClock
    /// PBKDF2 iterations for keys this creates (stored with each key, so readers follow).
    var iterations = KeyDerivation.defaultIterations

    /// Opens (creating and migrating) the database in `dataDirectory`.
    static func open(dataDirectory: URL, environment: HubEnvironment, clock: any WallClock = SystemClock()) throws -> SecretAdministration {
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let store = try SecretStore(connection: Database.openWriter(dataDirectory: dataDirectory))
        return SecretAdministration(
            store: store, deployment: DeploymentEnvironment(environment), environment: environment, dataDirectory: dataDirectory,
            actor: "cli:\(environment["USER"] ?? userName())", clock: clock)
    }

    /// The effective user's login name, or its uid.
    private static func userName() -> String {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return "uid \(geteuid())" }
        return String(cString: name)
    }

    private var now: Int64 { Int64(clock.now() * 1000) }

    /// The key to seal new values with: the store's newest key unlocked with the passphrase, or a new
    /// key when the store has none (`isNew`). Production refuses a missing or weak `ENCRYPTION_KEY`.
    func writingKey() throws -> (key: SecretStore.UnlockedKey, new: SecretStore.NewKey?) {
        let source = try EncryptionKeySource.resolve(deployment: deployment, environment: environment, dataDirectory: dataDirectory, create: true)
        guard let passphrase = source.passphrase else { throw SecretStoreError.noEncryptionKey }
        if deployment.isProduction, let problem = KeyStrength.problem(passphrase) { throw SecretStoreError.weakKey(variable: "ENCRYPTION_KEY", problem: problem) }
        if let newest = try store.keyRecords().first { return (try SecretStore.unlock(newest, passphrase: passphrase), nil) }
        let new = SecretStore.makeKey(passphrase: passphrase, iterations: iterations, now: now)
        return (new.unlocked, new)
    }

    /// Runs `body` in a transaction after checking that the newest key is still `key` (or that there
    /// is none yet, when `new` is about to be inserted).
    private func write<T>(key: SecretStore.UnlockedKey, new: SecretStore.NewKey?, _ body: () throws -> T) throws -> T {
        let result = try store.connection.transaction {
            guard try store.keyRecords().first?.id == (new == nil ? key.id : nil) else { throw SecretStoreError.concurrentChange }
            if let new { try store.insert(new) }
            return try body()
        }
        try finish()
        return result
    }

    /// Truncates the WAL; warns when a reader (a running hub) kept that from completing.
    private func finish() throws {
        guard try !store.checkpoint() else { return }
        CommandLineInterface.printError(
            "atom-hub: warning: another process is reading the database, so the WAL could not be truncated; replaced ciphertext stays in \(Database.fileName)-wal until the hub stops or the next checkpoint")
    }

    /// Stores `value` as `name`; returns the key id that sealed it.
    @discardableResult
    func set(name: String, value: String) throws -> String {
        try SecretStoreError.validate(name: name)
        let (key, new) = try writingKey()
        try write(key: key, new: new) {
            try store.put(name: name, value: value, key: key, now: now)
            try AuditLog.insert(
                AuditEvent(.secretSet, severity: .info, userID: actor, details: ["name": .string(name), "key_id": .string(key.id)]), timestamp: now,
                on: store.connection)
        }
        return key.id
    }

    /// Re-encrypts every value under a new key from `ENCRYPTION_KEY`, after unlocking the current one
    /// with `OLD_ENCRYPTION_KEY`, in one transaction; the old key is deleted. Returns the ids and count.
    func rotate() throws -> (oldKeyID: String, newKeyID: String, count: Int) {
        guard let oldPassphrase = environment["OLD_ENCRYPTION_KEY"], !oldPassphrase.isEmpty else {
            throw SecretStoreError.missingVariable("OLD_ENCRYPTION_KEY", purpose: "the key the secrets are encrypted with now")
        }
        guard let newPassphrase = environment["ENCRYPTION_KEY"], !newPassphrase.isEmpty else {
            throw SecretStoreError.missingVariable("ENCRYPTION_KEY", purpose: "the new key")
        }
        if deployment.isProduction, let problem = KeyStrength.problem(newPassphrase) { throw SecretStoreError.weakKey(variable: "ENCRYPTION_KEY", problem: problem) }
        guard let current = try store.keyRecords().first else { throw SecretStoreError.nothingToRotate }
        let old = try SecretStore.unlock(current, passphrase: oldPassphrase, variable: "OLD_ENCRYPTION_KEY")
        let new = SecretStore.makeKey(passphrase: newPassphrase, iterations: iterations, now: now)
        let count = try store.connection.transaction {
            let keys = try store.keyRecords()
            guard keys.first?.id == old.id else { throw SecretStoreError.concurrentChange }
            let values = try store.sealedSecrets().map { ($0.name, try SecretStore.open($0, with: old)) }
            try store.insert(new)
            for (name, value) in values { try store.put(name: name, value: value, key: new.unlocked, now: now) }
            for key in keys { try store.deleteKey(key.id) }
            try AuditLog.insert(
                AuditEvent(
                    .secretsRotated, severity: .warning, userID: actor,
                    details: ["old_key_id": .string(old.id), "new_key_id": .string(new.unlocked.id), "count": .number(Double(values.count))]),
                timestamp: now, on: store.connection)
            return values.count
        }
        try finish()
        return (old.id, new.unlocked.id, count)
    }

    /// Audits a refused command (missing, weak or wrong key); a failure to write is reported, not thrown.
    func auditRefusal(_ error: SecretStoreError, command: String) {
        do {
            try store.connection.transaction {
                try AuditLog.insert(
                    AuditEvent(.configurationRefused, severity: .warning, userID: actor, details: ["command": .string("secrets \(command)"), "reason": .string(error.description)]),
                    timestamp: now, on: store.connection)
            }
        } catch {
            CommandLineInterface.printError("atom-hub: the refusal could not be audited: \(error)")
        }
    }

    /// Stores every value in one transaction with its audit row; `beforeCommit` runs inside it, last.
    func importValues(_ values: [(name: String, value: String)], source: String, beforeCommit: () throws -> Void) throws -> SecretStore.UnlockedKey {
        for (name, _) in values { try SecretStoreError.validate(name: name) }
        let (key, new) = try writingKey()
        try write(key: key, new: new) {
            for (name, value) in values { try store.put(name: name, value: value, key: key, now: now) }
            try AuditLog.insert(
                AuditEvent(
                    .secretsImported, severity: .warning, userID: actor,
                    details: ["names": .array(values.map { .string($0.name) }), "key_id": .string(key.id), "source": .string(source)]),
                timestamp: now, on: store.connection)
            try beforeCommit()
        }
        return key
    }
}
