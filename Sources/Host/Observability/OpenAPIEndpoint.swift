import PluginAPI
import Synchronization

/// `GET /openapi.json`: the OpenAPI 3.1 document of the host and every currently enabled provider
/// (built per request, so a reload of plugins.json shows at once). Public, like the routes it lists.
final class OpenAPIEndpoint: Sendable {
    static let path = "/openapi.json"

    private let registry: ProviderRegistry
    /// Bound once the route table is complete (the document lists every route, this one included).
    private let entries = Mutex<[Router.Entry]>([])

    init(registry: ProviderRegistry) {
        self.registry = registry
    }

    /// Sets the routes the document describes; called once, before the server starts.
    func bind(_ router: Router) {
        entries.withLock { $0 = router.entries }
    }

    func register(in router: inout Router) throws(RouteConflictError) {
        try router.add(
            method: .GET, template: Self.path, maxBodyBytes: 0,
            owner: .host { [self] _ in
                let document = OpenAPIDocument(entries: entries.withLock { $0 }, version: CommandLineInterface.version)
                return .json(document.json(isEnabled: registry.isEnabled))
            }, declaredBy: "the host", summary: "This OpenAPI 3.1 document",
            documentation: RouteDocumentation(responses: [200: .json(JSONSchema.object())]))
    }
}
