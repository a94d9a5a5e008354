import Foundation
import PluginAPI
import Synchronization

/// `GET /metrics`: the Prometheus text exposition of ``RequestMetrics`` and ``ProviderMetrics``, provider states, queue depths by
/// state (from the database at scrape time), open connections per event loop and the process's RSS, open fds and uptime.
///
/// It is protected: it answers `Authorization: Bearer <METRICS_TOKEN>` when that variable is set (a
/// scrape-only credential for Prometheus), and otherwise the admin token through the admin gate.
final class MetricsEndpoint: Sendable {
    static let path = "/metrics"

    private let registry: ProviderRegistry
    private let providerMetrics: ProviderMetrics
    private let eventLog: EventLog
    private let gate: AdminGate
    private let metricsToken: String?
    /// Bound once the route table is complete (the metrics need every route, this one included).
    private let bound = Mutex<RequestMetrics?>(nil)
    /// Bound once the server exists (it needs the routes, this one included).
    private let server = Mutex<HTTPServer?>(nil)

    init(registry: ProviderRegistry, providerMetrics: ProviderMetrics, eventLog: EventLog, gate: AdminGate, environment: HubEnvironment) {
        self.registry = registry
        self.providerMetrics = providerMetrics
        self.eventLog = eventLog
        self.gate = gate
        metricsToken = environment["METRICS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Sets the metrics this endpoint exposes; called once, before the server starts.
    func bind(_ metrics: RequestMetrics) {
        bound.withLock { $0 = metrics }
    }

    /// Sets the server whose connections this endpoint counts; called once, before the server starts.
    func bind(_ server: HTTPServer) {
        self.server.withLock { $0 = server }
    }

    func register(in router: inout Router) throws(RouteConflictError) {
        try router.add(
            method: .GET, template: Self.path, maxBodyBytes: 0, owner: .host { [self] request in try await respond(request) }, declaredBy: "the host",
            summary: "Prometheus metrics (admin token or METRICS_TOKEN)",
            documentation: RouteDocumentation(responses: [200: RouteDocumentation.Body(contentType: "text/plain", schema: JSONSchema.string())], adminOnly: true))
    }

    private func respond(_ request: Request) async throws -> Response {
        try authorize(request)
        guard let metrics = bound.withLock({ $0 }) else { throw HTTPError(status: 503, error: "not_ready", detail: "metrics are not set up yet") }
        var text = PrometheusText()
        Self.render(metrics.snapshot(), into: &text)
        Self.render(providerMetrics.snapshot(), into: &text)
        renderProviders(into: &text)
        try await renderQueues(into: &text)
        if let server = server.withLock({ $0 }) { Self.renderConnections(server.connectionsPerLoop, into: &text) }
        Self.renderProcess(uptime: metrics.started.duration(to: .now), into: &text)
        return Response(status: 200, headers: ["Content-Type": PrometheusText.contentType], body: Array(text.text.utf8))
    }

    private func authorize(_ request: Request) throws(HTTPError) {
        try gate.refuseBlocked(request)  // A blocked address may not keep guessing the scrape token either.
        if let metricsToken, (try? AdminToken.authorize(request, expected: metricsToken)) != nil { return }  // nil: not the scrape token; the admin gate decides (and audits).
        try gate.check(request)
    }

    private static func render(_ snapshot: RequestMetrics.Snapshot, into text: inout PrometheusText) {
        text.family("atom_hub_http_requests_total", "counter", "HTTP requests answered, by provider, method, route template and status.")
        for sample in snapshot.requests {
            text.sample("atom_hub_http_requests_total", labels(sample.labels) + [("status", String(sample.status))], sample.count)
        }
        text.family(
            "atom_hub_http_rejected_total", "counter", "Requests the server answered before routing (malformed, too large, too slow, over capacity), by status.")
        for sample in snapshot.rejected {
            text.sample("atom_hub_http_rejected_total", [("status", String(sample.status))], sample.count)
        }
        text.family("atom_hub_http_request_duration_seconds", "histogram", "Time from parsed request head to response, by route template.")
        for latency in snapshot.latencies {
            var cumulative = 0
            for (bound, count) in zip(RequestMetrics.latencyBuckets, latency.buckets) {
                cumulative += count
                text.sample("atom_hub_http_request_duration_seconds_bucket", labels(latency.labels) + [("le", PrometheusText.format(bound))], cumulative)
            }
            text.sample("atom_hub_http_request_duration_seconds_bucket", labels(latency.labels) + [("le", "+Inf")], latency.count)
            text.sample("atom_hub_http_request_duration_seconds_sum", labels(latency.labels), latency.sumSeconds)
            text.sample("atom_hub_http_request_duration_seconds_count", labels(latency.labels), latency.count)
        }
    }

    private static func render(
        _ snapshot: (verifications: [(provider: String, result: String, count: Int)], events: [(provider: String, stored: Int, duplicates: Int)]),
        into text: inout PrometheusText
    ) {        text.family("atom_hub_verifications_total", "counter", "Webhook signature checks, by provider and result (ok or the refusal code).")
        for sample in snapshot.verifications {
            text.sample("atom_hub_verifications_total", [("provider", sample.provider), ("result", sample.result)], sample.count)
        }
        text.family("atom_hub_events_stored_total", "counter", "Events appended to the event log, by provider.")
        for sample in snapshot.events { text.sample("atom_hub_events_stored_total", [("provider", sample.provider)], sample.stored) }
        text.family("atom_hub_events_duplicate_total", "counter", "Events acknowledged as duplicates (same provider and external id), by provider.")
        for sample in snapshot.events { text.sample("atom_hub_events_duplicate_total", [("provider", sample.provider)], sample.duplicates) }
    }

    private static func labels(_ labels: RequestMetrics.RouteLabels) -> [(String, String)] {
        [("provider", labels.provider), ("method", labels.method.rawValue), ("route", labels.route)]
    }

    private func renderProviders(into text: inout PrometheusText) {
        text.family("atom_hub_provider_enabled", "gauge", "1 when the provider is enabled in plugins.json.")
        let states = registry.states()
        for provider in states { text.sample("atom_hub_provider_enabled", [("provider", provider.id)], provider.enabled ? 1 : 0) }
        text.family("atom_hub_provider_state", "gauge", "1 for the provider's current state: disabled, not_created, ready or failed.")
        for provider in states {
            let current = ProviderStatus(enabled: provider.enabled, state: provider.state).state
            for state in ProviderStatus.allStates {
                text.sample("atom_hub_provider_state", [("provider", provider.id), ("state", state)], state == current ? 1 : 0)
            }
        }
    }

    private func renderQueues(into text: inout PrometheusText) async throws {
        let counts = try await eventLog.stateCounts()
        for table in EventLog.stateTables {
            let rows = counts.filter { $0.table == table }
            guard !rows.isEmpty else { continue }
            let name = "atom_hub_\(table)"
            text.family(name, "gauge", "Rows of the \(table) table by state (queued and running are the queue depth; the rest are outcomes).")
            for row in rows { text.sample(name, (row.kind.map { [("kind", $0)] } ?? []) + [("state", row.state)], row.count) }
        }
    }

    private static func renderConnections(_ perLoop: [Int], into text: inout PrometheusText) {
        text.family("atom_hub_http_open_connections", "gauge", "Open client connections, by event loop (new ones go to the loop with the fewest).")
        for (loop, count) in perLoop.enumerated() { text.sample("atom_hub_http_open_connections", [("loop", String(loop))], count) }
    }

    private static func renderProcess(uptime: Duration, into text: inout PrometheusText) {
        let seconds = uptime.inSeconds
        if let rss = ProcessStatistics.residentBytes() {
            text.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
            text.sample("process_resident_memory_bytes", [], rss)
        }
        if let fds = ProcessStatistics.openFileDescriptors() {
            text.family("process_open_fds", "gauge", "Open file descriptors.")
            text.sample("process_open_fds", [], fds)
        }
        text.family("process_start_time_seconds", "gauge", "Start time of the hub since the Unix epoch, in seconds.")
        text.sample("process_start_time_seconds", [], (Date().timeIntervalSince1970 - seconds).rounded())
        text.family("atom_hub_uptime_seconds", "gauge", "Seconds since the hub started.")
        text.sample("atom_hub_uptime_seconds", [], seconds)
    }
}
