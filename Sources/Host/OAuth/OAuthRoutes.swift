import PluginAPI

/// The OAuth routes: the browser flow and the admin API over connections (behind ``AdminGate``).
///
/// - `POST /api/admin/users/{id}/oauth-links` → a single-use authorize link for the user's browser.
/// - `GET /oauth/{provider}/authorize?user_id=…&redirect_uri=…&link=…` → 302 to the provider.
/// - `GET /oauth/{provider}/callback?code=…&state=…` → 302 back to the allowed `redirect_uri`.
/// - `GET /api/admin/connections?provider=&user_id=&status=` → connections, never tokens.
/// - `DELETE /api/admin/connections/{id}` → revoke at the provider where supported, then delete.
///
/// Every answer of the two browser routes, errors included, carries `Cache-Control: no-store` and
/// `Referrer-Policy: no-referrer`: their URLs hold a link token, a code or a state.
struct OAuthRoutes {
    let service: OAuthService

    func register(in router: inout Router) throws(RouteConflictError) {
        let service = service
        try router.add(
            method: .POST, template: "/api/admin/users/{id}/oauth-links", maxBodyBytes: 4096, owner: .host { request in try await service.issueLink(request) },
            declaredBy: "the host")
        try router.add(
            method: .GET, template: "/oauth/{provider}/authorize", maxBodyBytes: 0,
            owner: .host { request in try await Self.withPrivateHeaders(logger: service.logger) { try await service.authorize(request) } }, declaredBy: "the host")
        try router.add(
            method: .GET, template: "/oauth/{provider}/callback", maxBodyBytes: 0,
            owner: .host { request in try await Self.withPrivateHeaders(logger: service.logger) { try await service.callback(request) } }, declaredBy: "the host")
        try router.add(
            method: .GET, template: "/api/admin/connections", maxBodyBytes: 0, owner: .host { request in try await Self.list(request, service: service) },
            declaredBy: "the host")
        try router.add(
            method: .DELETE, template: "/api/admin/connections/{id}", maxBodyBytes: 0,
            owner: .host { request in
                guard let id = request.pathParameters["id"].flatMap({ Int64($0) }), id > 0 else { throw HTTPError.notFound("no such connection") }
                return .json(.object(try await service.deleteConnection(id, request: request)))
            }, declaredBy: "the host")
    }

    /// The headers every browser-facing OAuth answer carries.
    static let privateHeaders: HTTPHeaders = ["Cache-Control": "no-store", "Referrer-Policy": "no-referrer"]

    /// `body`'s response, or its ``HTTPError``, with ``privateHeaders``. Any other failure is logged
    /// here and answered as a 500 that carries them too (the generic 500 would not).
    static func withPrivateHeaders(logger: Logger, _ body: () async throws -> Response) async throws(HTTPError) -> Response {
        do {
            var response = try await body()
            for field in privateHeaders { response.headers.replaceOrAdd(name: field.name, value: field.value) }
            return response
        } catch var error as HTTPError {
            for field in privateHeaders { error.headers.replaceOrAdd(name: field.name, value: field.value) }
            throw error
        } catch {
            logger.error("an OAuth browser route failed", [("error", "\(error)")])
            var failure = HTTPError.internalError
            for field in privateHeaders { failure.headers.replaceOrAdd(name: field.name, value: field.value) }
            throw failure
        }
    }

    private static func list(_ request: Request, service: OAuthService) async throws -> Response {
        let query = request.queryParameters
        var status: OAuthConnection.Status?
        if let text = query["status"] {
            guard let value = OAuthConnection.Status(rawValue: text) else { throw HTTPError.badRequest("status must be active or needs_reauth") }
            status = value
        }
        let connections = try await service.store.connections(provider: query["provider"], userID: query["user_id"], status: status)
        return .json(["connections": .array(connections.map(\.json))])
    }
}
