import Dispatch
import PluginAPI

/// `GET /api/admin/providers` (id, name, enabled, state and failure reason) and
/// `PUT /api/admin/providers/{id}` `{"enabled": bool}`, which rewrites plugins.json atomically and
/// reloads it. Both sit behind the admin gate like everything under `/api/admin/`.
struct ProviderAdminRoutes {
    let registry: ProviderRegistry
    let reloader: ConfigurationReloader
    let audit: AuditLog
    let providerTypes: [any Provider.Type]
    /// File rewrites block (fsync), so they run here, one at a time, off the cooperative pool.
    private let fileQueue = DispatchQueue(label: "atom-hub.plugins-file")

    init(registry: ProviderRegistry, reloader: ConfigurationReloader, audit: AuditLog, providerTypes: [any Provider.Type]) {
        self.registry = registry
        self.reloader = reloader
        self.audit = audit
        self.providerTypes = providerTypes
    }

    private static let providerSchema = JSONSchema.object(
        [
            "id": JSONSchema.string(), "name": JSONSchema.string(), "enabled": JSONSchema.boolean(),
            "state": JSONSchema.string(description: "disabled, not_created, ready or failed"), "reason": JSONSchema.string(),
        ], required: ["id", "name", "enabled", "state"])

    func register(in router: inout Router) throws(RouteConflictError) {
        try router.add(
            method: .GET, template: "/api/admin/providers", maxBodyBytes: 0, owner: .host { [self] _ in .json(["providers": .array(list())]) },
            declaredBy: "the host", summary: "Providers with enabled flag and state",
            documentation: RouteDocumentation(responses: [200: .json(JSONSchema.object(["providers": JSONSchema.array(Self.providerSchema)], required: ["providers"]))]))
        try router.add(
            method: .PUT, template: "/api/admin/providers/{id}", maxBodyBytes: 4096, owner: .host { [self] request in try await setEnabled(request) },
            declaredBy: "the host", summary: "Switch a provider on or off (rewrites plugins.json and reloads it)",
            documentation: RouteDocumentation(
                request: .json(JSONSchema.object(["enabled": JSONSchema.boolean()], required: ["enabled"])),
                responses: [200: .json(JSONSchema.object(["provider": Self.providerSchema]))]))
    }

    private func list() -> [JSONValue] {
        let names = Dictionary(uniqueKeysWithValues: providerTypes.map { ($0.descriptor.id, $0.descriptor.displayName) })
        return registry.states().map { provider in
            let status = ProviderStatus(enabled: provider.enabled, state: provider.state)
            var object: JSONObject = [
                "id": .string(provider.id), "name": .string(names[provider.id] ?? provider.id), "enabled": .bool(provider.enabled), "state": .string(status.state),
            ]
            if let reason = status.reason { object["reason"] = .string(reason) }
            return .object(object)
        }
    }

    private func setEnabled(_ request: Request) async throws -> Response {
        let id = request.pathParameters["id"] ?? ""
        guard registry.slots[id] != nil else { throw HTTPError.notFound("no provider '\(id)'") }
        guard let enabled = try request.jsonBody()["enabled"]?.boolValue else { throw HTTPError.badRequest("expected {\"enabled\": true or false}") }
        let path = reloader.path
        let known = Array(registry.slots.keys)
        let running = Dictionary(uniqueKeysWithValues: registry.states().map { ($0.id, $0.enabled) })
        let reloader = reloader
        let failure: String? = await withCheckedContinuation { continuation in
            fileQueue.async {
                continuation.resume(
                    returning: reloader.rewriteAndReload {
                        _ = try PluginsFile.setEnabled(enabled, provider: id, path: path, knownProviders: known, running: running)
                    })
            }
        }
        if let failure { throw HTTPError(status: 409, error: "configuration_conflict", detail: failure) }
        var event = AuditEvent(.providerToggled, severity: .info, request: request, details: ["provider": .string(id), "enabled": .bool(enabled)])
        event.userID = "admin"
        audit.record(event)
        let provider = list().first { $0["id"]?.stringValue == id } ?? .null
        return .json(["provider": provider])
    }
}
