import PluginAPI

/// Routes each request to a host handler or a provider, and turns every failure into a JSON response.
struct HubResponder: HTTPResponder {
    let router: Router
    let registry: ProviderRegistry
    let defaultMaxBodyBytes: Int
    let logger: Logger

    func maxBodyBytes(method: HTTPMethod, path: String) -> Int {
        if case .found(let entry, _) = router.match(method: method, path: path) { return entry.maxBodyBytes }
        return defaultMaxBodyBytes
    }

    func respond(to request: Request) async -> Response {
        switch router.match(method: request.method, path: request.path) {
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
                        return HTTPError.providerDisabled(id).response
                    case .unavailable(let reason):
                        return HTTPError.providerUnavailable(id, reason: reason).response
                    case .ready(let provider):
                        return try await route.handler(provider, request)
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
}
