import PluginAPI

/// Counts and logs every routed request: one structured log line (`msg=request`) and the request
/// metrics, labelled with the route template and provider, never the raw path, query or headers.
struct RequestObserver: Sendable {
    let metrics: RequestMetrics
    /// The access log (label `http`); lines are written at info, 5xx at warning.
    let logger: Logger

    /// Wraps `respond` so the answer carries `X-Request-ID` and is counted and logged.
    /// `started` is when the request head was parsed.
    func observe(
        _ match: Router.Match, started: ContinuousClock.Instant, respond: @escaping @Sendable (Request) async -> Response
    ) -> @Sendable (Request) async -> Response {
        let (method, template, provider) = Self.labels(of: match)
        return { [metrics, logger] request in
            let requestID = RequestID.take(from: request.headers)
            var response = await respond(request)
            response.headers.replaceOrAdd(name: RequestID.header, value: requestID)
            let seconds = (ContinuousClock.now - started).inSeconds
            metrics.recordRequest(slot: metrics.slot(method: method ?? request.method, template: template), status: response.status, seconds: seconds)
            let level: LogLevel = response.status >= 500 ? .warning : .info
            guard level >= logger.minimumLevel else { return response }
            logger.log(
                level, "request",
                [
                    ("request_id", requestID), ("method", request.method.rawValue), ("route", template ?? RequestMetrics.unmatchedRoute),
                    ("provider", provider), ("status", String(response.status)), ("duration_ms", Self.milliseconds(seconds)),
                    ("bytes_in", String(request.body.count)), ("bytes_out", String(response.body.count)),
                ])
            return response
        }
    }

    /// Counts and logs a request the server answered before routing (`route=rejected`, a fresh request
    /// id, the reason; no method or path, which may be what was malformed).
    func observeRejection(status: Int, reason: String, remoteAddress: String) {
        metrics.recordRejection(status: status)
        guard LogLevel.info >= logger.minimumLevel else { return }
        logger.log(
            .info, "request",
            [
                ("request_id", RequestID.generate()), ("route", RequestMetrics.rejectedRoute), ("provider", RequestMetrics.hostProvider),
                ("status", String(status)), ("reason", reason), ("remote", remoteAddress),
            ])
    }

    /// `seconds` as milliseconds with two decimals (`1.25`), without formatting a Double.
    static func milliseconds(_ seconds: Double) -> String {
        let hundredths = max(0, Int((seconds * 100_000).rounded()))
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// The matched route's method, template and provider (`host` for host routes and unmatched requests).
    private static func labels(of match: Router.Match) -> (method: HTTPMethod?, template: String?, provider: String) {
        guard case .found(let entry, _) = match else { return (nil, nil, RequestMetrics.hostProvider) }
        if case .provider(let id, _) = entry.owner { return (entry.method, entry.template, id) }
        return (entry.method, entry.template, RequestMetrics.hostProvider)
    }
}
