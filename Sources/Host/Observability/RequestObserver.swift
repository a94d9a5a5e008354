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
        let (template, provider): (String?, String) =
            if case .found(let entry, _) = match {
                (entry.template, { if case .provider(let id, _) = entry.owner { id } else { RequestMetrics.hostProvider } }())
            } else { (nil, RequestMetrics.hostProvider) }
        let method: HTTPMethod? = if case .found(let entry, _) = match { entry.method } else { nil }
        return { [metrics, logger] request in
            let requestID = RequestID.take(from: request.headers)
            var response = await respond(request)
            response.headers.replaceOrAdd(name: RequestID.header, value: requestID)
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            metrics.recordRequest(slot: metrics.slot(method: method ?? request.method, template: template), status: response.status, seconds: seconds)
            logger.log(
                response.status >= 500 ? .warning : .info, "request",
                [
                    ("request_id", requestID), ("method", request.method.rawValue), ("route", template ?? RequestMetrics.unmatchedRoute),
                    ("provider", provider), ("status", String(response.status)), ("duration_ms", String(Double(Int(seconds * 100_000)) / 100)),
                    ("bytes_in", String(request.body.count)), ("bytes_out", String(response.body.count)),
                ])
            return response
        }
    }
}
