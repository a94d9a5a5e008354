/// An integration: one provider owns its webhook verification and its routes.
///
/// A minimal provider declares a descriptor and an initializer:
///
/// ```swift
/// final class EchoProvider: Provider {
///     static let descriptor = ProviderDescriptor(
///         id: "echo", displayName: "Echo",
///         routes: [.post("/api/webhooks/echo") { (echo: EchoProvider, request) in .empty(204) }])
///     init(context: ProviderContext) throws {}
/// }
/// ```
///
/// The host builds its route table from `descriptor` at startup without creating the provider, and
/// calls `init(context:)` once, on the first request that needs it. If `init` throws, the provider's
/// routes answer 503 and creation is tried again on a later request.
public protocol Provider: AnyObject, Sendable {
    /// Static facts about the provider: id, settings, routes.
    static var descriptor: ProviderDescriptor { get }

    /// Creates the provider from its resolved settings and host services.
    /// Throw (for example ``ProviderSetupError``) when it cannot work, such as when a secret is missing.
    init(context: ProviderContext) throws
}

/// What the host needs to know about a provider before creating it.
public struct ProviderDescriptor: Sendable {
    /// A stable identifier, used in `plugins.json`, event records and metrics (`slack`).
    public var id: String
    /// A human-readable name (`Slack`).
    public var displayName: String
    /// Settings the provider reads; secrets among them are never logged or returned.
    public var settings: [SettingSpec]
    /// The provider's HTTP routes.
    public var routes: [Route]
    /// How its webhooks are authenticated, for the security report; nil when not described.
    public var verificationScheme: VerificationScheme?
    /// The background job kinds it runs; names are unique across providers.
    public var jobs: [JobKind]
    /// How users connect their accounts with OAuth; the host runs the flow. Nil: no OAuth connections.
    public var oauth: OAuthSpec?
    /// Its standing interests in the event log, each run by the host with its own cursor.
    public var subscriptions: [EventSubscription]

    /// A descriptor; with `oauth`, the OAuth settings the provider does not declare itself are added to `settings`.
    public init(
        id: String, displayName: String, settings: [SettingSpec] = [], routes: [Route], verificationScheme: VerificationScheme? = nil,
        jobs: [JobKind] = [], oauth: OAuthSpec? = nil, subscriptions: [EventSubscription] = []
    ) {
        self.id = id
        self.displayName = displayName
        self.settings = settings + (oauth?.settingSpecs ?? []).filter { spec in !settings.contains { $0.name == spec.name } }
        self.oauth = oauth
        self.routes = routes
        self.verificationScheme = verificationScheme
        self.jobs = jobs
        self.subscriptions = subscriptions
    }
}

/// One setting a provider reads from its `plugins.json` entry.
public struct SettingSpec: Sendable {
    /// The key under `settings` in `plugins.json`.
    public var name: String
    /// What it is for, shown by `validate-config` and the admin page.
    public var summary: String
    /// Whether the value is a secret (never logged, never returned by any API).
    public var isSecret: Bool
    /// An environment variable used when the setting is absent (`SLACK_SIGNING_SECRET`).
    public var environmentVariable: String?
    /// Whether the provider cannot be created without it.
    public var isRequired: Bool

    public init(name: String, summary: String, isSecret: Bool = false, environmentVariable: String? = nil, isRequired: Bool = false) {
        self.name = name
        self.summary = summary
        self.isSecret = isSecret
        self.environmentVariable = environmentVariable
        self.isRequired = isRequired
    }

    /// A required secret with an environment fallback.
    public static func secret(_ name: String, summary: String, environmentVariable: String? = nil) -> SettingSpec {
        SettingSpec(name: name, summary: summary, isSecret: true, environmentVariable: environmentVariable, isRequired: true)
    }
}

/// Why a provider could not be created; the host answers its routes 503 with `reason`.
public struct ProviderSetupError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
