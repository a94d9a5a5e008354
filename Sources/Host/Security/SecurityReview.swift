import Foundation
import PluginAPI

/// The security checks `serve`, `validate-config` and `/api/security/*` share: environment, keys,
/// admin token, the signature escape hatch, plugins.json and every enabled provider's settings.
struct SecurityReview: Sendable {
    let deployment: DeploymentEnvironment
    let environment: HubEnvironment
    let secretKey: SecretKeyStatus
    let vault: SecretVault
    /// As loaded at startup; ``SecurityRoutes`` reports the registry's current entries (reloads) instead.
    var configuration: PluginsConfiguration
    let providerTypes: [any Provider.Type]
    let auditRetentionDays: Int?

    /// Loads everything the checks look at. `create` allows writing development key files (serve does,
    /// validate-config does not). Throws `ConfigurationError` for an unusable plugins.json.
    static func prepare(
        options: HubOptions, environment: HubEnvironment, providerTypes: [any Provider.Type], create: Bool
    ) throws -> SecurityReview {
        let configuration = try PluginsConfiguration.load(
            path: options.pluginsPath, isDefaultPath: options.pluginsPathIsDefault, knownProviders: providerTypes.map { $0.descriptor.id })
        let deployment = DeploymentEnvironment(environment)
        if create {
            try FileManager.default.createDirectory(at: options.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let secretKey: SecretKeyStatus
        let keySource: EncryptionKeySource
        do {
            secretKey = try SecretKeyStatus.resolve(deployment: deployment, environment: environment, dataDirectory: options.dataDirectory, create: create)
            keySource = try EncryptionKeySource.resolve(deployment: deployment, environment: environment, dataDirectory: options.dataDirectory, create: false)
        } catch {
            throw StartupRefusal(findings: [SecurityFinding(severity: .critical, subject: "key files", message: error.description, recommendation: "")])
        }
        let vault = try SecretVault.load(dataDirectory: options.dataDirectory, keySource: keySource)
        return SecurityReview(
            deployment: deployment, environment: environment, secretKey: secretKey, vault: vault, configuration: configuration,
            providerTypes: providerTypes, auditRetentionDays: Self.retentionDays(environment["AUDIT_RETENTION_DAYS"]))
    }

    /// `AUDIT_RETENTION_DAYS` (1–3650), 90 when unset; nil when set to something else.
    static func retentionDays(_ value: String?) -> Int? {
        guard let value else { return 90 }
        guard let days = Int(value), (1...3650).contains(days) else { return nil }
        return days
    }

    /// A provider's settings as the running hub resolves them (`env:`, `secret:`, environment fallbacks).
    func settings(for type: any Provider.Type, entry: ProviderEntry) -> ProviderSettings {
        let vault = vault
        return ProviderSettings(values: entry.settings, specs: type.descriptor.settings, environment: environment.lookup) { name in
            try vault.lookup(name)
        }
    }

    /// Nil when every required setting of `type` resolves; otherwise why not.
    func unresolvedSetting(of type: any Provider.Type) -> String? {
        let settings = settings(for: type, entry: configuration.providers[type.descriptor.id] ?? ProviderEntry(enabled: false, settings: [:]))
        for spec in type.descriptor.settings where spec.isRequired {
            do { try settings.checkResolves(spec.name) } catch { return error.reason }
        }
        return nil
    }

    /// True when `ENVIRONMENT=development` and `ATOM_DEV_SKIP_SIGNATURES=1`: the only case checks are skipped.
    var skipsSignatureChecks: Bool { deployment.declared == "development" && environment["ATOM_DEV_SKIP_SIGNATURES"] == "1" }

    /// Every finding, worst first.
    func findings() -> [SecurityFinding] {
        var findings = [environmentFinding(), secretKeyFinding(), encryptionKeyFinding(), adminTokenFinding()] + metricsTokenFindings()
        findings += signatureFindings() + temporaryUserFindings() + redirectURIFindings() + oauthKeyFindings()
        findings += storeFindings() + providerFindings()
        if configuration.isDefault {
            findings.append(SecurityFinding(severity: .warning, subject: "plugins.json", message: "no plugins.json at the default path: every provider is enabled", recommendation: "write plugins.json enabling only the providers you use"))
        }
        if auditRetentionDays == nil {
            findings.append(SecurityFinding(severity: .warning, subject: "AUDIT_RETENTION_DAYS", message: "is not a whole number from 1 to 3650; 90 days are kept", recommendation: "set AUDIT_RETENTION_DAYS=90 or remove it"))
        }
        return findings.enumerated().sorted { ($0.element.severity, $1.offset) > ($1.element.severity, $0.offset) }.map(\.element)
    }

    /// `critical` when any finding is, else `warning` when any is, else `healthy`.
    static func status(of findings: [SecurityFinding]) -> String {
        switch findings.map(\.severity).max() ?? .ok {
        case .critical: "critical"
        case .warning: "warning"
        case .ok: "healthy"
        }
    }

    // MARK: - Checks

    private func environmentFinding() -> SecurityFinding {
        switch deployment.declared {
        case nil:
            SecurityFinding(severity: .warning, subject: "ENVIRONMENT", message: "not set: DEVELOPMENT rules apply (weak keys allowed, keys generated)", recommendation: "set ENVIRONMENT=production for any real deployment")
        case "development":
            SecurityFinding(severity: .warning, subject: "ENVIRONMENT", message: "development: weak keys are allowed and keys are generated", recommendation: "set ENVIRONMENT=production for any real deployment")
        case "production":
            .ok("ENVIRONMENT", "production rules apply")
        case let other?:
            SecurityFinding(severity: .warning, subject: "ENVIRONMENT", message: "'\(other.prefix(32))' is not development or production: production rules apply", recommendation: "set ENVIRONMENT=production or ENVIRONMENT=development")
        }
    }

    private func secretKeyFinding() -> SecurityFinding {
        if let problem = secretKey.problem {
            return SecurityFinding(severity: deployment.isProduction ? .critical : .warning, subject: "SECRET_KEY", message: problem.message(for: "SECRET_KEY"), recommendation: KeyStrength.howToGenerate)
        }
        switch secretKey.origin {
        case .generated(let path, _):
            return SecurityFinding(severity: .warning, subject: "SECRET_KEY", message: "not set: using the development key generated in \(path)", recommendation: "set SECRET_KEY; \(KeyStrength.howToGenerate)")
        case .wouldGenerate(let path):
            return SecurityFinding(severity: .warning, subject: "SECRET_KEY", message: "not set: serve will generate a development key in \(path)", recommendation: "set SECRET_KEY; \(KeyStrength.howToGenerate)")
        case .environment, .missing:
            return .ok("SECRET_KEY", "set and strong")
        }
    }

    private func encryptionKeyFinding() -> SecurityFinding {
        let needed = !vault.secrets.isEmpty || referencesSecrets
        switch vault.keySource.origin {
        case .environment:
            if let problem = KeyStrength.problem(vault.keySource.passphrase) {
                return SecurityFinding(severity: deployment.isProduction ? .critical : .warning, subject: "ENCRYPTION_KEY", message: problem.message(for: "ENCRYPTION_KEY"), recommendation: KeyStrength.howToGenerate)
            }
            return .ok("ENCRYPTION_KEY", "set and strong")
        case .generated(let path, _):
            return SecurityFinding(severity: .warning, subject: "ENCRYPTION_KEY", message: "not set: secrets use the development key in \(path)", recommendation: "set ENCRYPTION_KEY and rotate to it with: atom-hub secrets rotate")
        case .absent:
            if deployment.isProduction {
                return SecurityFinding(
                    severity: needed ? .critical : .warning, subject: "ENCRYPTION_KEY",
                    message: needed ? "not set, but the configuration uses the secrets store" : "not set: the secrets store is disabled", recommendation: KeyStrength.howToGenerate)
            }
            return SecurityFinding(severity: .warning, subject: "ENCRYPTION_KEY", message: "not set: `secrets set` will generate a development key in the data dir", recommendation: "set ENCRYPTION_KEY; \(KeyStrength.howToGenerate)")
        }
    }

    private func adminTokenFinding() -> SecurityFinding {
        let token = environment["ADMIN_TOKEN"]
        switch KeyStrength.problem(token) {
        case nil: return .ok("ADMIN_TOKEN", "set and strong")
        case .missing?: return SecurityFinding(severity: .warning, subject: "ADMIN_TOKEN", message: "not set: the admin and security APIs answer 403", recommendation: "set ADMIN_TOKEN; \(KeyStrength.howToGenerate)")
        case let problem?: return SecurityFinding(severity: deployment.isProduction ? .critical : .warning, subject: "ADMIN_TOKEN", message: problem.message(for: "ADMIN_TOKEN"), recommendation: KeyStrength.howToGenerate)
        }
    }

    /// `METRICS_TOKEN` is optional, but when set it opens `/metrics` and must be as strong as the admin token.
    private func metricsTokenFindings() -> [SecurityFinding] {
        guard let token = environment["METRICS_TOKEN"], !token.isEmpty else { return [] }
        guard let problem = KeyStrength.problem(token) else { return [.ok("METRICS_TOKEN", "set and strong")] }
        return [SecurityFinding(severity: deployment.isProduction ? .critical : .warning, subject: "METRICS_TOKEN", message: problem.message(for: "METRICS_TOKEN"), recommendation: KeyStrength.howToGenerate)]
    }

    private func signatureFindings() -> [SecurityFinding] {
        guard let value = environment["ATOM_DEV_SKIP_SIGNATURES"], !value.isEmpty else { return [] }
        if deployment.isProduction {
            return [SecurityFinding(severity: .critical, subject: "ATOM_DEV_SKIP_SIGNATURES", message: "is set under production rules (it is ignored there)", recommendation: "remove ATOM_DEV_SKIP_SIGNATURES from the production environment")]
        }
        if skipsSignatureChecks {
            return [SecurityFinding(severity: .warning, subject: "ATOM_DEV_SKIP_SIGNATURES", message: "webhook signature checks are SKIPPED (each skip is logged and audited)", recommendation: "unset ATOM_DEV_SKIP_SIGNATURES")]
        }
        return [SecurityFinding(severity: .warning, subject: "ATOM_DEV_SKIP_SIGNATURES", message: "is ignored: it needs ENVIRONMENT=development (explicitly) and the value 1", recommendation: "unset ATOM_DEV_SKIP_SIGNATURES")]
    }

    private func storeFindings() -> [SecurityFinding] {
        var findings: [SecurityFinding] = []
        if case .unavailable(let error) = vault.status {
            findings.append(SecurityFinding(severity: .critical, subject: "secrets store", message: error.description, recommendation: "start with the ENCRYPTION_KEY the secrets were stored with"))
        }
        for (name, error) in vault.damaged.sorted(by: { $0.key < $1.key }) {
            findings.append(SecurityFinding(severity: .critical, subject: "secret \(name)", message: error.description, recommendation: "set it again with: atom-hub secrets set \(name)"))
        }
        return findings
    }

    private func providerFindings() -> [SecurityFinding] {
        providerTypes.compactMap { type in
            let id = type.descriptor.id
            guard configuration.providers[id]?.enabled == true else { return nil }
            if let reason = unresolvedSetting(of: type) {
                return SecurityFinding(severity: .critical, subject: "provider \(id)", message: reason, recommendation: "set it, or disable \(id) in plugins.json")
            }
            return .ok("provider \(id)", "enabled; required settings resolve")
        }
    }

    /// True when an enabled provider's settings reference `secret:`.
    private var referencesSecrets: Bool {
        configuration.providers.values.contains { entry in
            entry.enabled && entry.settings.members.contains { $0.value.stringValue?.hasPrefix("secret:") == true }
        }
    }
}
