import Foundation
import PluginAPI
import Synchronization

/// The key OAuth tokens are sealed with: the secrets store's key, so tokens are secrets like any other
/// (AES-256-GCM, the secret name as associated data, authenticated at startup, re-sealed by `secrets rotate`).
///
/// When the store has no key yet, the first OAuth use derives one from `ENCRYPTION_KEY` (in development
/// without it, from the generated `DATA_DIR/encryption.key`) and stores it, once. Under production rules
/// without `ENCRYPTION_KEY` nothing can be sealed: OAuth answers 503 `token_store_unavailable`.
/// After `atom-hub secrets rotate` the hub must be restarted (as for every secret).
final class TokenKeyring: Sendable {
    private let cached: Mutex<SecretStore.UnlockedKey?>
    private let vault: SecretVault
    private let deployment: DeploymentEnvironment
    private let environment: HubEnvironment
    private let dataDirectory: URL
    private let database: EventLog
    private let iterations: Int
    private let clock: any WallClock

    init(
        vault: SecretVault, deployment: DeploymentEnvironment, environment: HubEnvironment, dataDirectory: URL, database: EventLog,
        iterations: Int = KeyDerivation.defaultIterations, clock: any WallClock
    ) {
        cached = Mutex(vault.key)
        self.vault = vault
        self.deployment = deployment
        self.environment = environment
        self.dataDirectory = dataDirectory
        self.database = database
        self.iterations = iterations
        self.clock = clock
    }

    /// The sealing key; throws 503 `token_store_unavailable` when there is none and none can be made.
    func key() async throws(HTTPError) -> SecretStore.UnlockedKey {
        if let key = cached.withLock({ $0 }) { return key }
        do {
            // On the writer thread: loads and creations are serialized, and the one-time key derivation
            // runs outside any transaction.
            return try await database.write { [self] connection in
                if let key = cached.withLock({ $0 }) { return key }
                let key = try loadOrCreate(on: connection)
                cached.withLock { $0 = key }
                return key
            }
        } catch {
            throw HTTPError(
                status: 503, error: "token_store_unavailable",
                detail: "OAuth tokens cannot be stored encrypted: \(error) (set ENCRYPTION_KEY; \(KeyStrength.howToGenerate))")
        }
    }

    private func loadOrCreate(on connection: SQLiteConnection) throws -> SecretStore.UnlockedKey {
        if case .unavailable(let error) = vault.status { throw error }
        let source = try EncryptionKeySource.resolve(deployment: deployment, environment: environment, dataDirectory: dataDirectory, create: true)
        guard let passphrase = source.passphrase else { throw SecretStoreError.noEncryptionKey }
        let store = try SecretStore(connection: connection)
        if let newest = try store.keyRecords().first { return try SecretStore.unlock(newest, passphrase: passphrase) }
        let new = SecretStore.makeKey(passphrase: passphrase, iterations: iterations, now: Int64(clock.now() * 1000))
        try connection.transaction {
            guard try store.keyRecords().isEmpty else { throw SecretStoreError.concurrentChange }
            try store.insert(new)
        }
        return new.unlocked
    }
}
