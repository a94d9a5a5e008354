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
    /// Background job workers: concurrency, lease and polling.
    var jobs = JobWorkers.Configuration()
    /// Backoff between a failed job's attempts.
    var jobRetry = RetryPolicy()
    /// Seconds shutdown waits for running jobs (given back to the queue after it), delivery attempts and subscription handlers.
    var jobShutdownDeadline: Double = 25
    /// Forwarding stored events to destinations: attempts, backoff, timeout.
    var deliveries = DeliveryWorker.Configuration()
    /// PBKDF2 iterations of a secrets key the hub itself creates (for OAuth tokens); stored with the key, so readers follow.
    var keyDerivationIterations = KeyDerivation.defaultIterations
    /// Log line format (`--log-format` or `LOG_FORMAT`).
    var logFormat = LogFormat.json
    /// The lowest level logged (`LOG_LEVEL`).
    var logLevel = LogLevel.info
    /// Bytes of zeros written to the event log's write-ahead log at start, so commits' fsyncs overwrite
    /// instead of extending the file (``WALPreallocation``); 0 turns it off.
    var walPreallocation = 64 << 20
}

/// The running hub: configuration, storage, provider registry, routes and HTTP server, wired once.
final class Hub: Sendable {
    let registry: ProviderRegistry
    let eventLog: EventLog
    let auditLog: AuditLog
    let jobQueue: JobQueue
    let jobWorkers: JobWorkers
    let deliveryWorker: DeliveryWorker
    let oauth: OAuthService
    let subscriptions: SubscriptionService
    let server: HTTPServer
    let logger: Logger
    /// Reloads plugins.json on SIGHUP, file change and admin API changes.
    let reloader: ConfigurationReloader
    private let readiness: Readiness
    private let jobShutdownDeadline: Double
    /// Work started with the hub that shutdown cancels and waits for (the OAuth refresh sweep).
    private let startupWork = Mutex<Task<Void, Never>?>(nil)

    /// Loads configuration, runs the security review, validates providers and routes, and opens storage.
    /// Throws `ConfigurationError` or `RouteConflictError` for configuration problems, and
    /// `StartupRefusal` for a critical security finding under production rules (all exit 78).
    init(
        options: HubOptions, environment: HubEnvironment = .process, clock: any WallClock = SystemClock(),
        logger: Logger, providerTypes: [any Provider.Type] = allProviders
    ) throws {
        try Self.checkUniqueIDs(providerTypes)
        let jobKinds = try JobWorkers.Registration.all(of: providerTypes)
        let subscriptionList = try SubscriptionService.Registration.all(of: providerTypes)
        let review = try SecurityReview.prepare(options: options, environment: environment, providerTypes: providerTypes, create: true)
        Self.announce(review, logger: logger)
        let forwarding = ForwardingTable(try review.forwardingTargets(of: review.configuration, file: options.pluginsPath))
        let deliveriesCreated = Doorbell()
        let eventLog = try EventLog(
            dataDirectory: options.dataDirectory, logger: logger.labelled("events"),
            fanOut: DeliveryFanOut(table: forwarding, maxAttempts: options.deliveries.maxAttempts, created: deliveriesCreated),
            walPreallocation: options.walPreallocation)
        let deliveryStore: DeliveryStore
        do {
            deliveryStore = DeliveryStore(
                database: eventLog, reader: DatabaseReader(connection: try Database.openReader(dataDirectory: options.dataDirectory), label: "atom-hub.deliveries.reader"),
                clock: clock, retryPolicy: options.deliveries.retryPolicy, maxAttempts: options.deliveries.maxAttempts, created: deliveriesCreated)
        } catch {
            eventLog.close()
            throw error
        }
        // Written through the event log's writer: the one writer connection to the database.
        let auditLog = AuditLog(database: eventLog, retentionDays: review.auditRetentionDays ?? 90, clock: clock, logger: logger.labelled("audit"))
        let critical = review.findings().filter { $0.severity == .critical }
        if review.deployment.isProduction && !critical.isEmpty {
            auditLog.record(
                AuditEvent(.configurationRefused, severity: .critical, details: ["findings": .array(critical.map { .string("\($0.subject): \($0.message)") })]))
            auditLog.close()
            eventLog.close()
            throw StartupRefusal(findings: critical)
        }
        let readiness = Readiness()
        let jobQueue = JobQueue(database: eventLog, clock: clock, retryPolicy: options.jobRetry)
        let oauth = OAuthService(
            review: review, options: options, eventLog: eventLog, jobQueue: jobQueue, audit: auditLog, clock: clock, logger: logger.labelled("oauth"))
        let registry: ProviderRegistry
        let responder: HubResponder
        let allJobKinds: [JobWorkers.Registration]
        let subscriptionStore: SubscriptionStore
        let reloader: ConfigurationReloader
        let metricsEndpoint: MetricsEndpoint
        let providerMetrics = ProviderMetrics(providers: providerTypes.map { $0.descriptor.id })
        // One gate (one failure count per address) for the admin prefixes and providers' admin-only routes.
        let gate = AdminGate(authentication: AdminAuthentication(environment: environment), limiter: FailureRateLimiter(clock: clock), audit: auditLog)
        do {
            allJobKinds = try oauth.jobRegistrations(adding: jobKinds)
            registry = Self.registry(
                review: review, options: options, environment: environment, eventLog: eventLog, auditLog: auditLog, gate: gate,
                jobs: (jobQueue, jobKinds), oauth: oauth, metrics: providerMetrics, clock: clock, logger: logger)
            var router = try Self.routes(
                providerTypes: providerTypes,
                hostRoutes: HostRoutes(eventLog: eventLog, isReady: { readiness.isReady }),
                securityRoutes: SecurityRoutes(review: review, registry: registry, audit: auditLog), jobRoutes: JobRoutes(queue: jobQueue),
                deliveryRoutes: DeliveryRoutes(store: deliveryStore, table: forwarding))
            try OAuthRoutes(service: oauth).register(in: &router)
            try UserRoutes(users: oauth.users, audit: auditLog).register(in: &router)
            metricsEndpoint = MetricsEndpoint(registry: registry, providerMetrics: providerMetrics, eventLog: eventLog, gate: gate, environment: environment)
            reloader = ConfigurationReloader(
                path: options.pluginsPath, isDefaultPath: options.pluginsPathIsDefault, knownProviders: providerTypes.map { $0.descriptor.id },
                forwarding: forwarding, resolveTargets: { [review, path = options.pluginsPath] configuration throws(ConfigurationError) in
                    try review.forwardingTargets(of: configuration, file: path)
                }, registry: registry, audit: auditLog, logger: logger.labelled("config"))
            try ProviderAdminRoutes(registry: registry, reloader: reloader, audit: auditLog, providerTypes: providerTypes).register(in: &router)
            try AdminPage.register(in: &router)
            let openAPI = OpenAPIEndpoint(registry: registry)
            try openAPI.register(in: &router)
            try metricsEndpoint.register(in: &router)
            let requestMetrics = RequestMetrics(router: router)
            metricsEndpoint.bind(requestMetrics)
            openAPI.bind(router)
            responder = HubResponder(
                router: router, registry: registry, defaultMaxBodyBytes: options.server.defaultMaxBodyBytes, gate: gate, audit: auditLog,
                logger: logger.labelled("http"), observer: RequestObserver(metrics: requestMetrics, logger: logger.labelled("http")))
            subscriptionStore = try SubscriptionStore(eventLog: eventLog, dataDirectory: options.dataDirectory)
        } catch {
            auditLog.close()
            eventLog.close()
            throw error
        }
        self.logger = logger
        self.eventLog = eventLog
        self.auditLog = auditLog
        self.registry = registry
        self.reloader = reloader
        self.readiness = readiness
        self.jobQueue = jobQueue
        self.oauth = oauth
        let instance: @Sendable (String) throws -> any Provider = { id in
            if id == OAuthService.jobOwnerID { return oauth.jobOwner }  // OAuth refresh runs without the provider instance.
            switch registry.provider(id) {
            case .ready(let provider): return provider
            case .disabled: throw ProviderSetupError("provider '\(id)' is disabled")
            case .unavailable(let reason): throw ProviderSetupError("provider '\(id)' is unavailable: \(reason)")
            }
        }
        // Only enabled providers' kinds are claimed (asked at every claim, so a reload applies): a disabled provider's jobs wait in the queue.
        jobWorkers = JobWorkers(
            queue: jobQueue, kinds: allJobKinds, provider: instance, configuration: options.jobs, logger: logger.labelled("jobs"),
            isEnabled: { id in id == OAuthService.jobOwnerID || registry.isEnabled(id) })
        // Every subscription has a loop; one whose provider is disabled waits for a reload to enable it.
        subscriptions = SubscriptionService(
            registrations: subscriptionList, store: subscriptionStore, provider: instance, isEnabled: { registry.isEnabled($0) },
            reloaded: registry.changed, logger: logger.labelled("subscriptions"))
        jobShutdownDeadline = options.jobShutdownDeadline
        deliveryWorker = DeliveryWorker(
            store: deliveryStore, table: forwarding, http: URLSessionHTTPClient(), clock: clock, configuration: options.deliveries,
            logger: logger.labelled("deliveries"))
        self.server = HTTPServer(configuration: options.server, responder: responder, logger: logger.labelled("http"))
        metricsEndpoint.bind(server)
    }

    /// The lazy provider registry; each provider's context resolves settings through the review's secrets
    /// and checks admin credentials through `gate`.
    private static func registry(
        review: SecurityReview, options: HubOptions, environment: HubEnvironment, eventLog: EventLog, auditLog: AuditLog, gate: AdminGate,
        jobs: (queue: JobQueue, kinds: [JobWorkers.Registration]), oauth: OAuthService, metrics: ProviderMetrics, clock: any WallClock, logger: Logger
    ) -> ProviderRegistry {
        let http = URLSessionHTTPClient()
        let publicBaseURL = options.publicBaseURL ?? environment["ATOM_PUBLIC_URL"]
        let verification = verificationPolicy(review: review, audit: auditLog, logger: logger)
        return ProviderRegistry(types: review.providerTypes, configuration: review.configuration, logger: logger.labelled("registry")) { type, entry in
            let id = type.descriptor.id
            let events = ProviderEventSink(provider: id, log: eventLog, metrics: metrics)
            return ProviderContext(
                providerID: id, settings: review.settings(for: type, entry: entry), events: events,
                logger: logger.labelled(id), clock: clock, http: http, publicBaseURL: publicBaseURL, storedEvents: events,
                requireAdmin: { request throws(HTTPError) in try gate.check(request) },
                refuseBlockedCaller: { request throws(HTTPError) in try gate.refuseBlocked(request) },
                verification: verification(id).observed { failure in metrics.recordVerification(provider: id, failure: failure?.error) },
                jobs: ProviderJobScheduler(provider: id, kinds: jobs.kinds.filter { $0.providerID == id }.map(\.kind), queue: jobs.queue),
                oauth: oauth.tokens(for: id),
                database: ScopedProviderDatabase(providerID: id, dataDirectory: options.dataDirectory, eventLog: eventLog))
        }
    }

    /// The route table: host and security routes, then every provider's declared routes (which may
    /// not use the admin gate's prefixes).
    private static func routes(
        providerTypes: [any Provider.Type], hostRoutes: HostRoutes, securityRoutes: SecurityRoutes, jobRoutes: JobRoutes, deliveryRoutes: DeliveryRoutes
    ) throws -> Router {
        var router = Router()
        try hostRoutes.register(in: &router)
        try securityRoutes.register(in: &router)
        try jobRoutes.register(in: &router)
        try deliveryRoutes.register(in: &router)
        for type in providerTypes {
            let descriptor = type.descriptor
            for route in descriptor.routes {
                if AdminGate.covers(route.path) {
                    throw RouteConflictError(description: "provider '\(descriptor.id)' declares \(route.path), under the host's admin prefixes \(AdminGate.prefixes)")
                }
                try router.add(
                    method: route.method, template: route.path, maxBodyBytes: route.maxBodyBytes,
                    owner: .provider(id: descriptor.id, route: route), declaredBy: "provider '\(descriptor.id)'", summary: route.summary,
                    documentation: route.documentation)
            }
        }
        return router
    }

    /// Logs the development banner, key-file notes and every finding that is not ok.
    private static func announce(_ review: SecurityReview, logger: Logger) {
        if review.deployment.declared == nil {
            logger.warning("**** DEVELOPMENT MODE: ENVIRONMENT is not set, so development rules apply (weak keys allowed, keys generated). Set ENVIRONMENT=production for any real deployment. ****")
        }
        if case .generated(let path, true) = review.secretKey.origin {
            logger.warning("SECRET_KEY is not set: generated a development key (mode 0600); restarts reuse it", [("path", path)])
        }
        for finding in review.findings() where finding.severity != .ok {
            let metadata = [("subject", finding.subject), ("recommendation", finding.recommendation)]
            if finding.severity == .critical {
                logger.error(finding.message, metadata)
            } else {
                logger.warning(finding.message, metadata)
            }
        }
    }

    /// Per provider: enforced, or (development with `ATOM_DEV_SKIP_SIGNATURES=1`) skipping with a warning and an audit row.
    private static func verificationPolicy(review: SecurityReview, audit: AuditLog, logger: Logger) -> @Sendable (String) -> VerificationPolicy {
        guard review.skipsSignatureChecks else { return { _ in .enforced } }
        return { provider in
            .skipping { failure in
                logger.warning("signature check SKIPPED (ATOM_DEV_SKIP_SIGNATURES=1)", [("provider", provider), ("failure", failure.error)])
                audit.record(
                    AuditEvent(.signatureCheckSkipped, severity: .warning, details: ["provider": .string(provider), "failure": .string(failure.error), "detail": .string(failure.detail)]))
            }
        }
    }

    /// Starts serving; returns the bound port.
    func start() throws -> Int {
        let port = try server.start()
        jobWorkers.start()
        deliveryWorker.start()
        subscriptions.start()
        reloader.startWatching()
        let oauth = oauth
        startupWork.withLock { $0 = Task { await oauth.scheduleMissingRefreshes() } }
        readiness.isReady = true
        return port
    }

    /// Graceful shutdown: not ready, stop accepting, finish in-flight requests, let running jobs,
    /// delivery attempts and subscription handlers finish (until one shared deadline; unfinished jobs
    /// go back to the queue, unrecorded attempts are sent again and unacknowledged events handled
    /// again at the next start), close storage.
    func shutdown() {
        readiness.isReady = false
        deliveryWorker.beginShutdown()
        reloader.stopWatching()
        server.shutdown()
        let start = System.monotonicNanoseconds()
        jobWorkers.shutdown(deadline: jobShutdownDeadline)
        deliveryWorker.shutdown(deadline: jobShutdownDeadline - Double(System.monotonicNanoseconds() - start) / 1e9)
        // Subscription handlers get what is left of the same deadline, and at least a second.
        subscriptions.shutdown(deadline: max(1, jobShutdownDeadline - Double(System.monotonicNanoseconds() - start) / 1e9))
        if let work = startupWork.withLock({ $0 }) {
            work.cancel()
            let finished = DispatchSemaphore(value: 0)
            Task { await work.value; finished.signal() }
            finished.wait()  // Short: it stops at the next connection, and each step is one queued write.
        }
        auditLog.close()  // First: its rows are committed through the event log's writer.
        eventLog.close()
    }

    private static func checkUniqueIDs(_ types: [any Provider.Type]) throws {
        var seen: [String: String] = [:]
        for type in types {
            let id = type.descriptor.id
            if let other = seen[id] {
                throw RouteConflictError(description: "provider id '\(id)' is used by both \(other) and \(type)")
            }
            // A provider's own tables are `<id>_…` (ScopedProviderDatabase): that must not reach a host table.
            if let table = Database.hostTables.first(where: { $0.hasPrefix(id + "_") }) {
                throw RouteConflictError(description: "provider id '\(id)' (\(type)) would own the host's table '\(table)'; choose another id")
            }
            seen[id] = "\(type)"
        }
    }
}

/// The event sink and reader a provider gets: the shared log, tagged with (and limited to) the provider's id.
struct ProviderEventSink: EventSink, EventReader {
    let provider: String
    let log: EventLog
    var metrics: ProviderMetrics?

    func append(_ events: [NewEvent]) async throws -> [AppendOutcome] {
        let outcomes = try await log.append(provider: provider, events: events)
        metrics?.recordAppends(provider: provider, outcomes)
        return outcomes
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
