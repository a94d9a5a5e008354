import Foundation

/// Where the passphrase for the secrets store comes from: `ENCRYPTION_KEY`, or in development
/// without it, a key generated once into the data dir.
struct EncryptionKeySource: Sendable {
    enum Origin: Sendable, Equatable {
        case environment
        case generated(path: String, created: Bool)
        case absent
    }

    let passphrase: String?
    let origin: Origin

    /// The dev key file in `dataDirectory`.
    static func file(in dataDirectory: URL) -> GeneratedKeyFile {
        GeneratedKeyFile(url: dataDirectory.appendingPathComponent("encryption.key"))
    }

    /// Resolves the passphrase. In development without `ENCRYPTION_KEY`, an existing key file is used;
    /// one is created only when `create` (commands that store secrets). Production never falls back.
    static func resolve(
        deployment: DeploymentEnvironment, environment: HubEnvironment, dataDirectory: URL, create: Bool
    ) throws(GeneratedKeyFile.Failure) -> EncryptionKeySource {
        if let value = environment["ENCRYPTION_KEY"], !value.isEmpty { return EncryptionKeySource(passphrase: value, origin: .environment) }
        guard !deployment.isProduction else { return EncryptionKeySource(passphrase: nil, origin: .absent) }
        let file = file(in: dataDirectory)
        guard create || FileManager.default.fileExists(atPath: file.url.path) else { return EncryptionKeySource(passphrase: nil, origin: .absent) }
        let (value, created) = try file.loadOrCreate()
        return EncryptionKeySource(passphrase: value, origin: .generated(path: file.url.path, created: created))
    }
}
