import PluginAPI

/// A way to reach providers under test: in memory (``InMemoryHost``) or through a real hub over a socket.
///
/// One protocol, two transports, so the same conformance checks run against both.
public protocol ProviderTransport: Sendable {
    /// Sends `request` (method, path, query, headers, body) and returns the response as a client would see it.
    func send(_ request: Request) async throws -> Response
    /// Every event stored for the provider `id`, oldest first.
    func storedEvents(provider id: String) async throws -> [RecordedEvent]
}

/// Starts hosts for the conformance checks: one per group of checks, torn down after it.
public protocol ProviderHosting: Sendable {
    /// Runs `body` with a transport to a host serving `setup`, and stops the host afterwards.
    func withTransport<T: Sendable>(_ setup: HostSetup, _ body: (any ProviderTransport) async throws -> T) async throws -> T
}

/// What a test host serves: which providers, enabled with which settings, and its environment and clock.
public struct HostSetup: Sendable {
    /// One enabled provider and its `plugins.json` settings.
    public struct Entry: Sendable {
        public var type: any Provider.Type
        public var settings: JSONObject
        public init(type: any Provider.Type, settings: JSONObject) {
            self.type = type
            self.settings = settings
        }
    }

    public var providers: [Entry]
    /// Environment variables (`env:` references, secret fallbacks, `ADMIN_TOKEN`).
    public var environment: [String: String]
    /// The clock providers read.
    public var clock: any WallClock
    /// The hub's public base URL, for signatures that cover the URL.
    public var publicBaseURL: String?

    public init(providers: [Entry], environment: [String: String], clock: any WallClock, publicBaseURL: String?) {
        self.providers = providers
        self.environment = environment
        self.clock = clock
        self.publicBaseURL = publicBaseURL
    }

    /// The setup as a `plugins.json` document: every listed provider enabled.
    public var pluginsJSON: String {
        let providers = JSONObject(providers.map { (key: $0.type.descriptor.id, value: ["enabled": true, "settings": .object($0.settings)]) })
        return JSONValue.object(["providers": .object(providers)]).jsonString
    }
}
