import PluginAPI

/// The hub's request counters and latency histograms, kept lock-free: every route is known at startup
/// (from the route table), so each counter is one slot of an ``AtomicCounters`` array and the hot path
/// is a dictionary lookup plus relaxed atomic adds.
///
/// Labels are route templates, never raw paths: a request no route matches counts under
/// ``unmatchedRoute`` with its method.
final class RequestMetrics: Sendable {
    /// A route as the router declares it.
    struct RouteKey: Hashable, Sendable {
        let method: HTTPMethod
        let template: String
    }

    /// The labels of one route slot.
    struct RouteLabels: Sendable {
        let provider: String
        let method: HTTPMethod
        let route: String
    }

    /// The `route` label of requests no route matched (404 and 405).
    static let unmatchedRoute = "unmatched"
    /// The `route` label of requests the server answered before routing (`atom_hub_http_rejected_total`).
    static let rejectedRoute = "rejected"
    /// The `provider` label of host routes and unmatched requests.
    static let hostProvider = "host"
    /// Upper bounds (seconds) of the latency histogram buckets.
    static let latencyBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    /// Status codes 100...599 each get a slot per route.
    private static let statusRange = 100..<600

    let routes: [RouteLabels]
    /// Monotonic start, for uptime.
    let started = ContinuousClock.now
    private let routeIndex: [RouteKey: Int]
    private let statuses: AtomicCounters
    private let buckets: AtomicCounters
    private let latencyMicroseconds: AtomicCounters
    private let requestCounts: AtomicCounters
    /// Requests answered before routing, by status.
    private let rejections = AtomicCounters(count: RequestMetrics.statusRange.count)

    /// `routes` are the route table's entries with the provider that owns each (nil: the host).
    init(routes: [(key: RouteKey, provider: String?)]) {
        var labels = routes.map { RouteLabels(provider: $0.provider ?? Self.hostProvider, method: $0.key.method, route: $0.key.template) }
        var index: [RouteKey: Int] = [:]
        for (position, route) in routes.enumerated() { index[route.key] = position }
        labels += HTTPMethod.allCases.map { RouteLabels(provider: Self.hostProvider, method: $0, route: Self.unmatchedRoute) }
        self.routes = labels
        routeIndex = index
        statuses = AtomicCounters(count: labels.count * Self.statusRange.count)
        buckets = AtomicCounters(count: labels.count * Self.latencyBuckets.count)
        latencyMicroseconds = AtomicCounters(count: labels.count)
        requestCounts = AtomicCounters(count: labels.count)
    }

    /// The metrics for `router`'s entries.
    convenience init(router: Router) {
        self.init(
            routes: router.entries.map { entry in
                let provider: String? = if case .provider(let id, _) = entry.owner { id } else { nil }
                return (RouteKey(method: entry.method, template: entry.template), provider)
            })
    }

    /// The slot of a matched route, or of the unmatched route for `method`.
    func slot(method: HTTPMethod, template: String?) -> Int {
        if let template, let index = routeIndex[RouteKey(method: method, template: template)] { return index }
        return routeIndex.count + HTTPMethod.allCases.firstIndex(of: method)!
    }

    /// Counts one answered request.
    func recordRequest(slot: Int, status: Int, seconds: Double) {
        if Self.statusRange.contains(status) { statuses.add(slot * Self.statusRange.count + status - Self.statusRange.lowerBound) }
        if let bucket = Self.latencyBuckets.firstIndex(where: { seconds <= $0 }) { buckets.add(slot * Self.latencyBuckets.count + bucket) }
        latencyMicroseconds.add(slot, Int(seconds * 1_000_000))
        requestCounts.add(slot)
    }

    /// Counts one request the server answered before routing.
    func recordRejection(status: Int) {
        if Self.statusRange.contains(status) { rejections.add(status - Self.statusRange.lowerBound) }
    }

    /// A consistent-enough copy of every counter for one scrape (each value is read atomically).
    func snapshot() -> Snapshot {
        var requests: [(labels: RouteLabels, status: Int, count: Int)] = []
        var latencies: [(labels: RouteLabels, buckets: [Int], sumSeconds: Double, count: Int)] = []
        for (slot, labels) in routes.enumerated() {
            let count = requestCounts[slot]
            guard count > 0 else { continue }
            for status in Self.statusRange {
                let value = statuses[slot * Self.statusRange.count + status - Self.statusRange.lowerBound]
                if value > 0 { requests.append((labels, status, value)) }
            }
            let perBucket = Self.latencyBuckets.indices.map { buckets[slot * Self.latencyBuckets.count + $0] }
            latencies.append((labels, perBucket, Double(latencyMicroseconds[slot]) / 1_000_000, count))
        }
        let rejected = Self.statusRange.compactMap { status in
            let count = rejections[status - Self.statusRange.lowerBound]
            return count > 0 ? (status: status, count: count) : nil
        }
        return Snapshot(requests: requests, latencies: latencies, rejected: rejected)
    }

    /// Counter values read by ``snapshot()``.
    struct Snapshot {
        let requests: [(labels: RouteLabels, status: Int, count: Int)]
        /// Per route: non-cumulative bucket counts, sum and count.
        let latencies: [(labels: RouteLabels, buckets: [Int], sumSeconds: Double, count: Int)]
        /// Requests answered before routing, by status.
        let rejected: [(status: Int, count: Int)]
    }
}
