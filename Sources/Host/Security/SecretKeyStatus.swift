import Foundation

/// Where `SECRET_KEY` comes from and what is wrong with it. In development without one, a key is
/// generated once into the data dir (mode 0600) so restarts keep working.
struct SecretKeyStatus: Sendable, Equatable {
    enum Origin: Sendable, Equatable {
        case environment
        case generated(path: String, created: Bool)
        /// Development, no key yet, and this run does not create one (`validate-config`).
        case wouldGenerate(path: String)
        case missing
    }

    let origin: Origin
    let problem: KeyStrength.Problem?

    /// Resolves the key; `create` allows writing the development key file.
    static func resolve(
        deployment: DeploymentEnvironment, environment: HubEnvironment, dataDirectory: URL, create: Bool
    ) throws(GeneratedKeyFile.Failure) -> SecretKeyStatus {
        let value = environment["SECRET_KEY"]
        if let value, !value.isEmpty { return SecretKeyStatus(origin: .environment, problem: KeyStrength.problem(value)) }
        guard !deployment.isProduction else { return SecretKeyStatus(origin: .missing, problem: .missing) }
        let file = GeneratedKeyFile(url: dataDirectory.appendingPathComponent("secret.key"))
        guard create || FileManager.default.fileExists(atPath: file.url.path) else {
            return SecretKeyStatus(origin: .wouldGenerate(path: file.url.path), problem: nil)
        }
        let (_, created) = try file.loadOrCreate()
        return SecretKeyStatus(origin: .generated(path: file.url.path, created: created), problem: nil)
    }
}
