import PluginAPI

extension OAuthService {
    /// The service the hub runs: every provider declaring OAuth, its settings as the review resolves them,
    /// users and connections in the hub's database, tokens sealed with the secrets store's key.
    convenience init(
        review: SecurityReview, options: HubOptions, eventLog: EventLog, jobQueue: JobQueue, audit: AuditLog, clock: any WallClock, logger: Logger
    ) {
        var declarations: [String: Declaration] = [:]
        for type in review.providerTypes {
            guard let spec = type.descriptor.oauth else { continue }
            let id = type.descriptor.id
            let entry = review.configuration.providers[id] ?? ProviderEntry(enabled: false, settings: [:])
            declarations[id] = Declaration(spec: spec, settings: { review.settings(for: type, entry: entry) })
        }
        let configuration = review.configuration
        self.init(
            declarations: declarations, store: OAuthStore(database: eventLog), users: UserStore(database: eventLog, clock: clock),
            keyring: TokenKeyring(
                vault: review.vault, deployment: review.deployment, environment: review.environment, dataDirectory: options.dataDirectory, database: eventLog,
                iterations: options.keyDerivationIterations, clock: clock),
            jobQueue: jobQueue, audit: audit, http: URLSessionHTTPClient(), clock: clock, logger: logger, environment: review.environment,
            publicBaseURL: options.publicBaseURL ?? review.environment["ATOM_PUBLIC_URL"], allowsTemporaryUsers: review.allowsTemporaryUsers,
            requiresHTTPS: review.deployment.isProduction, isEnabled: { configuration.providers[$0]?.enabled == true })
    }

    /// `existing` job kinds plus the refresh kinds of enabled providers (a disabled provider's refresh
    /// jobs wait in the queue, as its own jobs do); throws when a provider declared a kind with a refresh kind's name.
    func jobRegistrations(adding existing: [JobWorkers.Registration]) throws(RouteConflictError) -> [JobWorkers.Registration] {
        let refresh = jobRegistrations
        if let clash = existing.first(where: { kind in refresh.contains { $0.kind.name == kind.kind.name } }) {
            throw RouteConflictError(description: "provider '\(clash.providerID)' declares the job kind '\(clash.kind.name)', which the host uses for OAuth refresh")
        }
        return existing + refresh.filter { registration in declarations.keys.contains { Self.refreshKind($0) == registration.kind.name && isEnabled($0) } }
    }
}

/// The stand-in provider instance the job workers pass to the OAuth refresh handlers, which ignore it:
/// the workers give every handler an instance, and refresh must not depend on the provider's own setup.
final class OAuthJobOwner: Provider {
    static let descriptor = ProviderDescriptor(id: OAuthService.jobOwnerID, displayName: "OAuth refresh (host)", routes: [])

    init() {}

    /// Never used: the host makes its one instance with ``init()``.
    init(context: ProviderContext) throws { throw ProviderSetupError("the host's OAuth job owner is not a configurable provider") }
}
