/// Everything the host hands a provider when it creates it.
public struct ProviderContext: Sendable {
    /// The provider's id (`slack`).
    public var providerID: String
    /// Its settings from `plugins.json`, with `env:` and `secret:` references and environment fallbacks resolved on read.
    public var settings: ProviderSettings
    /// Where verified events go; each append is durable when it returns.
    public var events: any EventSink
    /// A logger labelled with the provider id.
    public var logger: Logger
    /// The wall clock (injected in tests).
    public var clock: any WallClock
    /// Outbound HTTP (provider APIs, key sets); base URLs come from settings so tests can use local fakes.
    public var http: any HTTPClient
    /// The hub's public base URL as its callers see it (`https://hooks.example.com`), for signatures
    /// that cover the URL; nil when not configured. Never derived from the Host header.
    public var publicBaseURL: String?
    /// The events this provider stored, for read models (insights); never another provider's.
    public var storedEvents: any EventReader
    /// Throws 401/403 unless `request` carries the hub's admin credentials; call it first in routes
    /// that return stored data. The hub checks through its admin gate, as for `/api/admin/*`: failures
    /// are audited and an address that keeps failing gets 429.
    public var requireAdmin: @Sendable (Request) throws(HTTPError) -> Void
    /// Throws 429 when the request's address is blocked for repeated failed authentications. A route
    /// that accepts a credential of its own besides the admin token calls this before comparing it,
    /// and ``requireAdmin`` when it does not match (which counts the failure toward the block).
    public var refuseBlockedCaller: @Sendable (Request) throws(HTTPError) -> Void
    /// Whether signature checks are enforced; run every check through ``VerificationPolicy/check(_:)``.
    public var verification: VerificationPolicy
    /// Queues background jobs of the kinds this provider declared.
    public var jobs: any JobScheduler
    /// Access tokens of the users who connected this provider with OAuth (see ``OAuthTokenSource``).
    public var oauth: any OAuthTokenSource
    /// The provider's own tables in the hub's database (only those named `<provider id>_…`).
    public var database: any ProviderDatabase

    /// A context; hosts without event reads or admin credentials keep the defaults, which refuse.
    public init(
        providerID: String, settings: ProviderSettings, events: any EventSink, logger: Logger, clock: any WallClock,
        http: any HTTPClient, publicBaseURL: String?, storedEvents: any EventReader = NoStoredEvents(),
        requireAdmin: @escaping @Sendable (Request) throws(HTTPError) -> Void = { request throws(HTTPError) in
            try AdminToken.authorize(request, expected: nil)
        },
        refuseBlockedCaller: @escaping @Sendable (Request) throws(HTTPError) -> Void = { _ throws(HTTPError) in },
        verification: VerificationPolicy = .enforced, jobs: any JobScheduler = NoJobScheduler(), oauth: (any OAuthTokenSource)? = nil,
        database: any ProviderDatabase = NoProviderDatabase()
    ) {
        self.providerID = providerID
        self.settings = settings
        self.events = events
        self.logger = logger
        self.clock = clock
        self.http = http
        self.publicBaseURL = publicBaseURL
        self.storedEvents = storedEvents
        self.requireAdmin = requireAdmin
        self.refuseBlockedCaller = refuseBlockedCaller
        self.verification = verification
        self.jobs = jobs
        self.oauth = oauth ?? NoOAuthTokens(provider: providerID)
        self.database = database
    }
}

/// A provider's settings. Values may be literals or references: `env:NAME` reads an environment
/// variable, `secret:NAME` reads the encrypted secrets store.
public struct ProviderSettings: Sendable {
    /// Resolves `env:` names and settings' environment fallbacks.
    public typealias EnvironmentLookup = @Sendable (String) -> String?
    /// Resolves `secret:` names; throws when the store cannot answer.
    public typealias SecretLookup = @Sendable (String) throws -> String?

    public let values: JSONObject
    public let specs: [SettingSpec]
    private let environment: EnvironmentLookup
    private let secrets: SecretLookup

    public init(values: JSONObject, specs: [SettingSpec], environment: @escaping EnvironmentLookup, secrets: @escaping SecretLookup) {
        self.values = values
        self.specs = specs
        self.environment = environment
        self.secrets = secrets
    }

    /// The raw JSON value of a setting, unresolved.
    public subscript(name: String) -> JSONValue? { values[name] }

    /// The string value of `name`, resolving references and the spec's environment fallback.
    /// Returns nil when it is not set anywhere, or set to an empty string (an empty secret must never
    /// verify anything: it counts as missing, so the provider fails closed); throws when it is set but
    /// cannot be resolved.
    public func string(_ name: String) throws(ProviderSetupError) -> String? {
        if let value = values[name] {
            guard case .string(let text) = value else {
                throw ProviderSetupError("setting '\(name)' must be a string")
            }
            let resolved = try resolve(text, setting: name)
            return resolved.isEmpty ? nil : resolved
        }
        if let variable = specs.first(where: { $0.name == name })?.environmentVariable,
            let value = environment(variable), !value.isEmpty
        {
            return value
        }
        return nil
    }

    /// A Boolean setting: JSON `true`/`false`, or the text `true`/`false` (after resolving references).
    /// Returns nil when it is not set; throws for any other value.
    public func bool(_ name: String) throws(ProviderSetupError) -> Bool? {
        switch values[name] {
        case .bool(let flag): return flag
        case nil, .string: break
        default: throw ProviderSetupError("setting '\(name)' must be true or false")
        }
        switch try string(name) {
        case nil: return nil
        case "true": return true
        case "false": return false
        default: throw ProviderSetupError("setting '\(name)' must be true or false")
        }
    }

    /// The value of a required setting; throws naming the setting and its environment variable when absent.
    public func required(_ name: String) throws(ProviderSetupError) -> String {
        if let value = try string(name), !value.isEmpty { return value }
        var reason = "missing setting '\(name)'"
        if let variable = specs.first(where: { $0.name == name })?.environmentVariable {
            reason += " (set it in plugins.json or the environment variable \(variable))"
        }
        throw ProviderSetupError(reason)
    }

    /// Checks that the setting `name` is present and that every reference in it resolves: a string
    /// (or its environment fallback), or an object whose string members are references or literals.
    /// Validation uses this for required settings of any shape.
    public func checkResolves(_ name: String) throws(ProviderSetupError) {
        guard case .object(let object)? = values[name] else {
            _ = try required(name)
            return
        }
        for member in object.members {
            if case .string(let text) = member.value { _ = try resolve(text, setting: "\(name).\(member.key)") }
        }
    }

    /// Resolves a value that may be an `env:` or `secret:` reference, such as one nested inside an
    /// object-valued setting; `setting` names it in errors.
    public func resolve(_ text: String, setting: String) throws(ProviderSetupError) -> String {
        if text.hasPrefix("env:") {
            let variable = String(text.dropFirst(4))
            guard let value = environment(variable), !value.isEmpty else {
                throw ProviderSetupError("setting '\(setting)' refers to the environment variable \(variable), which is not set")
            }
            return value
        }
        if text.hasPrefix("secret:") {
            let name = String(text.dropFirst(7))
            let value: String?
            do { value = try secrets(name) } catch {
                throw ProviderSetupError("setting '\(setting)' refers to secret '\(name)', which could not be read: \(error)")
            }
            guard let value else {
                throw ProviderSetupError("setting '\(setting)' refers to secret '\(name)', which is not in the secrets store")
            }
            return value
        }
        return text
    }
}
