import Foundation
import PluginAPI

/// Runs OAuth for every provider that declares ``OAuthSpec``: the authorize redirect, the callback
/// (state check, code exchange, encrypted token storage), background refresh, deletion with revocation,
/// and the access-token lookups providers make through their context.
///
/// Identity comes from `user_id`, which must name a user created by an admin (`POST /api/admin/users`);
/// never from a header. The browser only ever sees a redirect to an allowed URI with a status flag.
final class OAuthService: Sendable {
    /// A provider's declaration and how to read its settings.
    struct Declaration: Sendable {
        let spec: OAuthSpec
        let settings: @Sendable () -> ProviderSettings
    }

    /// The environment variable listing the URIs the browser may be sent back to (exact match).
    static let allowedRedirectsVariable = "OAUTH_ALLOWED_REDIRECT_URIS"

    /// Seconds before expiry a token is refreshed (at most half its lifetime).
    static let refreshMargin: Double = 300
    /// The earliest a refresh is queued for, in seconds from now.
    static let minimumRefreshDelay: Double = 60
    /// Attempts a refresh job gets. A transient failure (the provider unreachable, 5xx, …) is retried
    /// with the queue's backoff, at most an hour apart (its cap): 1,000 attempts keep trying for about
    /// six weeks, so an outage cannot leave a connection expired for good with nothing retrying it.
    static let refreshAttempts = 1000

    /// The job kind that refreshes `provider`'s tokens.
    static func refreshKind(_ provider: String) -> String { "\(provider).oauth_refresh" }

    let declarations: [String: Declaration]
    let store: OAuthStore
    let users: UserStore
    let keyring: TokenKeyring
    let jobQueue: JobQueue
    let audit: AuditLog
    let http: any HTTPClient
    let clock: any WallClock
    let logger: Logger
    let environment: HubEnvironment
    let publicBaseURL: String?
    let allowsTemporaryUsers: Bool
    /// Production rules: the hub's public URL must be https, since the callback carries authorization codes.
    let requiresHTTPS: Bool
    let isEnabled: @Sendable (String) -> Bool

    init(
        declarations: [String: Declaration], store: OAuthStore, users: UserStore, keyring: TokenKeyring, jobQueue: JobQueue, audit: AuditLog,
        http: any HTTPClient, clock: any WallClock, logger: Logger, environment: HubEnvironment, publicBaseURL: String?, allowsTemporaryUsers: Bool,
        requiresHTTPS: Bool, isEnabled: @escaping @Sendable (String) -> Bool
    ) {
        self.declarations = declarations
        self.store = store
        self.users = users
        self.keyring = keyring
        self.jobQueue = jobQueue
        self.audit = audit
        self.http = http
        self.clock = clock
        self.logger = logger
        self.environment = environment
        self.publicBaseURL = publicBaseURL
        self.allowsTemporaryUsers = allowsTemporaryUsers
        self.requiresHTTPS = requiresHTTPS
        self.isEnabled = isEnabled
    }

    /// The current time in milliseconds.
    var now: Int64 { Int64(clock.now() * 1000) }

    /// The refresh job kinds, one per provider declaring OAuth. They are run by ``jobOwner`` (registered
    /// under ``jobOwnerID``), never by the provider instance, so refresh works even when the provider
    /// itself cannot be created (an OAuth-only Teams setup has no webhook secret).
    var jobRegistrations: [JobWorkers.Registration] {
        declarations.keys.sorted().map { provider in
            JobWorkers.Registration(
                providerID: Self.jobOwnerID,
                kind: JobKind(name: Self.refreshKind(provider), maxAttempts: Self.refreshAttempts, summary: "Refresh \(provider) OAuth tokens before they expire") {
                    [self] _, payload in try await refresh(payload)
                })
        }
    }

    /// The id the refresh kinds are registered under; the hub's job workers get ``jobOwner`` for it.
    static let jobOwnerID = "host:oauth"

    /// What the job workers hand the refresh handlers (which need no provider instance).
    let jobOwner = OAuthJobOwner()

    /// The configured client of `provider`: 404 when it declares no OAuth, 503 when disabled or not configured.
    func client(_ provider: String) throws(HTTPError) -> OAuthClient {
        guard let declaration = declarations[provider] else {
            throw HTTPError(status: 404, error: "unknown_provider", detail: "no provider '\(provider)' with OAuth connections")
        }
        guard isEnabled(provider) else { throw .providerDisabled(provider) }
        return try OAuthClient.resolve(providerID: provider, spec: declaration.spec, settings: declaration.settings())
    }

    /// The hub's callback for `provider`, as registered with the provider: `<public URL>/oauth/<provider>/callback`.
    func callbackURL(_ provider: String) throws(HTTPError) -> String { try hubURL(provider, "callback") }

    /// `<public URL>/oauth/<provider>/<endpoint>`; 503 `oauth_not_configured` without a public URL, or
    /// with a plain http one under production rules (RFC 6749 §3.1.2.1: codes travel only over TLS).
    func hubURL(_ provider: String, _ endpoint: String) throws(HTTPError) -> String {
        guard var base = publicBaseURL, base.hasPrefix("https://") || base.hasPrefix("http://") else {
            throw HTTPError(
                status: 503, error: "oauth_not_configured", detail: "OAuth needs the hub's public URL for its callback: set --public-url or ATOM_PUBLIC_URL")
        }
        guard !requiresHTTPS || base.hasPrefix("https://") else {
            throw HTTPError(
                status: 503, error: "oauth_not_configured",
                detail: "under production rules the hub's public URL must be https: the OAuth callback carries authorization codes")
        }
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/oauth/\(provider)/\(endpoint)"
    }

    /// The URIs in `OAUTH_ALLOWED_REDIRECT_URIS` that may be used (see ``redirectURIs(_:)``).
    var allowedRedirectURIs: Set<String> { Self.redirectURIs(environment[Self.allowedRedirectsVariable]).allowed }

    /// The URIs listed in `value` (comma or space separated): absolute http(s) URLs without a fragment
    /// are allowed; the others are ignored (and reported by the security review).
    static func redirectURIs(_ value: String?) -> (allowed: Set<String>, ignored: [String]) {
        var allowed: Set<String> = []
        var ignored: [String] = []
        for entry in (value ?? "").split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" }).map(String.init) {
            let components = URLComponents(string: entry)
            if ["http", "https"].contains(components?.scheme?.lowercased() ?? ""), components?.host?.isEmpty == false, components?.fragment == nil {
                allowed.insert(entry)
            } else {
                ignored.append(entry)
            }
        }
        return (allowed, ignored)
    }
}
