/// One HTTP route of a provider: method, path template and an async handler that receives the
/// provider instance, so the host can declare routes without creating the provider.
public struct Route: Sendable {
    /// The handler, with the provider passed as an existential; made by the typed factories below.
    public typealias Handler = @Sendable (any Provider, Request) async throws -> Response

    public var method: HTTPMethod
    /// The path template: literal segments and `{name}` parameters (`/api/hubspot/contacts/{id}/insight`).
    public var path: String
    /// The largest body accepted; larger requests get 413 before the body is read.
    public var maxBodyBytes: Int
    /// A one-line description for the OpenAPI document and the admin page.
    public var summary: String
    /// Request, query and response shapes for the OpenAPI document; empty unless ``documented(request:query:responses:adminOnly:)`` is used.
    public var documentation = RouteDocumentation()
    public var handler: Handler
    /// What the route answers while its provider is switched off in `plugins.json` (the provider is
    /// never created then); nil answers 503 `provider_disabled`. See ``answeringWhenDisabled(_:)``.
    public var whenDisabled: (@Sendable (Request) -> Response)?

    public init(method: HTTPMethod, path: String, maxBodyBytes: Int = Route.defaultMaxBodyBytes, summary: String = "", handler: @escaping Handler) {
        self.method = method
        self.path = path
        self.maxBodyBytes = maxBodyBytes
        self.summary = summary
        self.handler = handler
    }

    /// 1 MiB, the limit Slack documents for its payloads.
    public static let defaultMaxBodyBytes = 1 << 20

    /// A route whose handler receives the concrete provider type.
    public static func on<P: Provider>(
        _ method: HTTPMethod, _ path: String, maxBodyBytes: Int = Route.defaultMaxBodyBytes, summary: String = "",
        _ handler: @escaping @Sendable (P, Request) async throws -> Response
    ) -> Route {
        Route(method: method, path: path, maxBodyBytes: maxBodyBytes, summary: summary) { provider, request in
            guard let typed = provider as? P else {
                throw ProviderSetupError("route \(method) \(path) belongs to \(P.self), not \(type(of: provider))")
            }
            return try await handler(typed, request)
        }
    }

    /// A POST route (webhooks).
    public static func post<P: Provider>(
        _ path: String, maxBodyBytes: Int = Route.defaultMaxBodyBytes, summary: String = "",
        _ handler: @escaping @Sendable (P, Request) async throws -> Response
    ) -> Route {
        on(.POST, path, maxBodyBytes: maxBodyBytes, summary: summary, handler)
    }

    /// A GET route.
    public static func get<P: Provider>(
        _ path: String, summary: String = "", _ handler: @escaping @Sendable (P, Request) async throws -> Response
    ) -> Route {
        on(.GET, path, maxBodyBytes: 0, summary: summary, handler)
    }
}

extension Route {
    /// The route, answering `response` instead of 503 while its provider is disabled: for a status
    /// route that should say "disabled" rather than fail.
    public func answeringWhenDisabled(_ response: @escaping @Sendable (Request) -> Response) -> Route {
        var route = self
        route.whenDisabled = response
        return route
    }
}
