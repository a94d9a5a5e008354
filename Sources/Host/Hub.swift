import Foundation
import PluginAPI
import Plugins
import Synchronization

/// Where and how the hub runs: everything `serve` takes from flags.
struct HubOptions: Sendable {
    var server = ServerConfiguration()
    var dataDirectory = URL(fileURLWithPath: "data")
    var pluginsPath = "plugins.json"
    /// Whether `pluginsPath` is the default (a missing default file enables every provider).
    var pluginsPathIsDefault = true
    /// The public base URL callers use (`--public-url` or `ATOM_PUBLIC_URL`), for URL-covering signatures.
    var publicBaseURL: String?
}

/// The running hub: configuration, storage, provider registry, routes and HTTP server, wired once.
final class Hub: Sendable {
    let registry: ProviderRegistry
    let eventLog: EventLog
    let server: HTTPServer
    let logger: Logger
    private let readiness: Readiness

    /// Loads configuration, validates providers and routes, and opens storage. Throws
    /// `ConfigurationError` or `RouteConflictError` for configuration problems (exit 78).
    init(
        options: HubOptions, environment: HubEnvironment = .process, clock: any WallClock = SystemClock(),
        logger: Logger, providerTypes: [any Provider.Type] = allProviders
    ) throws {
        try Self.checkUniqueIDs(providerTypes)
        let configuration = try PluginsConfiguration.load(
            path: options.pluginsPath, isDefaultPath: options.pluginsPathIsDefault, knownProviders: providerTypes.map { $0.descriptor.id })
        if configuration.isDefault {
            logger.warning("no plugins.json at the default path; every built-in provider is enabled with default settings", [("path", options.pluginsPath)])
        }
        try FileManager.default.createDirectory(at: options.dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let eventLog = try EventLog(dataDirectory: options.dataDirectory, logger: logger.labelled("events"))
        let http = URLSessionHTTPClient()
        let publicBaseURL = options.publicBaseURL ?? environment["ATOM_PUBLIC_URL"]
        let authentication = AdminAuthentication(environment: environment)
        let registry = ProviderRegistry(types: providerTypes, configuration: configuration, logger: logger.labelled("registry")) { type, entry in
            Self.context(
                for: type, entry: entry, environment: environment, eventLog: eventLog, clock: clock, logger: logger, http: http,
                publicBaseURL: publicBaseURL, authentication: authentication)
        }
        let readiness = Readiness()
        let router = try Self.routes(
            providerTypes: providerTypes,
            hostRoutes: HostRoutes(eventLog: eventLog, authentication: authentication, isReady: { readiness.isReady }))
        let responder = HubResponder(router: router, registry: registry, defaultMaxBodyBytes: options.server.defaultMaxBodyBytes, logger: logger.labelled("http"))
        self.logger = logger
        self.eventLog = eventLog
        self.registry = registry
        self.readiness = readiness
        self.server = HTTPServer(configuration: options.server, responder: responder, logger: logger.labelled("http"))
    }

    /// The route table: host routes, then every provider's declared routes.
    private static func routes(providerTypes: [any Provider.Type], hostRoutes: HostRoutes) throws -> Router {
        var router = Router()
        try hostRoutes.register(in: &router)
        for type in providerTypes {
            let descriptor = type.descriptor
            for route in descriptor.routes {
                try router.add(
                    method: route.method, template: route.path, maxBodyBytes: route.maxBodyBytes,
                    owner: .provider(id: descriptor.id, route: route), declaredBy: "provider '\(descriptor.id)'")
            }
        }
        return router
    }

    /// What a provider is created with.
    private static func context(
        for type: any Provider.Type, entry: ProviderEntry, environment: HubEnvironment, eventLog: EventLog, clock: any WallClock, logger: Logger,
        http: any HTTPClient, publicBaseURL: String?, authentication: AdminAuthentication
    ) -> ProviderContext {
        let id = type.descriptor.id
        let events = ProviderEventSink(provider: id, log: eventLog)
        return ProviderContext(
            providerID: id,
            settings: ProviderSettings(values: entry.settings, specs: type.descriptor.settings, environment: environment.lookup, secrets: noSecretStore),
            events: events,
            logger: logger.labelled(id),
            clock: clock,
            http: http,
            publicBaseURL: publicBaseURL,
            storedEvents: events,
            requireAdmin: { request throws(HTTPError) in try authentication.authorize(request) })
    }

    /// Starts serving; returns the bound port.
    func start() throws -> Int {
        let port = try server.start()
        readiness.isReady = true
        return port
    }

    /// Graceful shutdown: not ready, stop accepting, finish in-flight requests, close storage.
    func shutdown() {
        readiness.isReady = false
        server.shutdown()
        eventLog.close()
    }

    /// Until the encrypted secrets store exists, `secret:` references cannot resolve.
    @Sendable private static func noSecretStore(_ name: String) throws -> String? {
        throw ProviderSetupError("secret:\(name) needs the encrypted secrets store, which this build does not have yet")
    }

    private static func checkUniqueIDs(_ types: [any Provider.Type]) throws {
        var seen: [String: String] = [:]
        for type in types {
            let id = type.descriptor.id
            if let other = seen[id] {
                throw RouteConflictError(description: "provider id '\(id)' is used by both \(other) and \(type)")
            }
            seen[id] = "\(type)"
        }
    }
}

/// The event sink and reader a provider gets: the shared log, tagged with (and limited to) the provider's id.
struct ProviderEventSink: EventSink, EventReader {
    let provider: String
    let log: EventLog

    func append(_ events: [NewEvent]) async throws -> [AppendOutcome] {
        try await log.append(provider: provider, events: events)
    }

    func events(whereField field: String, equals value: String, limit: Int) async throws -> [RecordedEvent] {
        try await log.events(provider: provider, whereField: field, equals: value, limit: limit).map { event in
            RecordedEvent(
                id: event.id, externalID: event.externalID, type: event.type, occurredAt: event.occurredAt,
                receivedAt: Double(event.receivedAt) / 1000, payload: try JSONValue.parse(Array(event.payload.utf8)))
        }
    }
}

/// Whether the hub serves traffic: true from a successful start until shutdown begins.
final class Readiness: Sendable {
    private let flag = Atomic<Bool>(false)

    var isReady: Bool {
        get { flag.load(ordering: .relaxed) }
        set { flag.store(newValue, ordering: .relaxed) }
    }
}
