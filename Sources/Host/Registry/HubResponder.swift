import PluginAPI

/// Routes each request to a host handler or a provider, and turns every failure into a JSON response.
///
/// A class, so the per-request handler closure captures one reference rather than a copy of every field.
final class HubResponder: HTTPResponder {
    let router: Router
    let registry: ProviderRegistry
    let defaultMaxBodyBytes: Int
    let gate: AdminGate
    let audit: AuditLog
    let logger: Logger
    let observer: RequestObserver

    init(
        router: Router, registry: ProviderRegistry, defaultMaxBodyBytes: Int, gate: AdminGate, audit: AuditLog, logger: Logger,
        observer: RequestObserver
    ) {
        self.router = router
        self.registry = registry
        self.defaultMaxBodyBytes = defaultMaxBodyBytes
        self.gate = gate
        self.audit = audit
        self.logger = logger
        self.observer = observer
    }

    /// Matches the route once per request; the returned handler answers with that match.
    func route(method: HTTPMethod, path: String) -> HTTPRoute {
        let started = ContinuousClock.now
        let match = router.match(method: method, path: path)
        let maxBodyBytes = if case .found(let entry, _) = match { entry.maxBodyBytes } else { defaultMaxBodyBytes }
        return HTTPRoute(maxBodyBytes: maxBodyBytes, respond: observer.observe(match, started: started) { [self] request in await respond(to: request, match: match) })
    }

    func rejected(status: Int, reason: String, remoteAddress: String) {
        observer.observeRejection(status: status, reason: reason, remoteAddress: remoteAddress)
    }

    private func respond(to request: Request, match: Router.Match) async -> Response {
        if AdminGate.covers(request.path) {
            do { try gate.check(request) } catch { return error.response }
        }
        switch match {
        case .notFound:
            return HTTPError.noRoute(request.method, request.path).response
        case .methodNotAllowed(let allowed):
            return HTTPError.methodNotAllowed(request.path, allowed: allowed).response
        case .found(let entry, let parameters):
            var request = request
            request.pathParameters = parameters
            do {
                switch entry.owner {
                case .host(let handler):
                    return try await handler(request)
                case .provider(let id, let route):
                    switch registry.provider(id) {
                    case .disabled:
                        return route.whenDisabled?(request) ?? HTTPError.providerDisabled(id).response
                    case .unavailable(let reason):
                        return HTTPError.providerUnavailable(id, reason: reason).response
                    case .ready(let provider):
                        do { return try await route.handler(provider, request) } catch let error as HTTPError
                            where error.status == 401 && error.error != AdminToken.refusalCode  // The admin gate audits its own refusals.
                        {
                            auditRejectedWebhook(request, provider: id, error: error)
                            throw error
                        }
                    }
                }
            } catch let error as HTTPError {
                return error.response
            } catch {
                logger.error("handler failed", [("route", "\(entry.method.rawValue) \(entry.template)"), ("error", "\(error)")])
                return HTTPError.internalError.response
            }
        }
    }

    /// Audits a webhook the provider refused (401), at most one row per provider, address, kind and minute.
    private func auditRejectedWebhook(_ request: Request, provider: String, error: HTTPError) {
        let kind: AuditEvent.Kind = error.error == "stale_timestamp" ? .webhookStaleTimestamp : .webhookSignatureFailure
        let details: JSONObject = ["provider": .string(provider), "path": .string(request.path), "error": .string(error.error), "detail": .string(error.detail)]
        audit.recordThrottled(AuditEvent(kind, severity: .warning, request: request, details: details), key: "\(provider)|\(request.remoteAddress)")
    }
}
