import PluginAPI

/// Routes the host itself answers: health, readiness and the admin API (behind ``AdminGate``).
struct HostRoutes {
    let eventLog: EventLog
    let isReady: @Sendable () -> Bool

    /// Adds the host's routes to `router`.
    func register(in router: inout Router) throws(RouteConflictError) {
        try router.add(method: .GET, template: "/healthz", maxBodyBytes: 0, owner: .host { _ in .json(["status": "ok"]) }, declaredBy: "the host",
            summary: "Liveness: 200 while the process runs", documentation: RouteDocumentation(responses: [200: .json(JSONSchema.object())]))
        let isReady = isReady
        try router.add(
            method: .GET, template: "/readyz", maxBodyBytes: 0,
            owner: .host { _ in isReady() ? .json(["status": "ready"]) : .json(["status": "not_ready"], status: 503) },
            declaredBy: "the host", summary: "Readiness: 200 once storage and configuration are ready, 503 while shutting down",
            documentation: RouteDocumentation(responses: [200: .json(JSONSchema.object())]))
        let events = eventLog
        try router.add(
            method: .GET, template: "/api/admin/events", maxBodyBytes: 0,
            owner: .host { request in try await Self.listEvents(request, eventLog: events) }, declaredBy: "the host",
            summary: "Stored events, newest first",
            documentation: RouteDocumentation(
                query: [.init("provider"), .init("limit", schema: JSONSchema.integer(minimum: 1, maximum: 1000))],
                responses: [200: .json(JSONSchema.object(["events": JSONSchema.array(JSONSchema.object())], required: ["events"]))]))
    }

    /// `GET /api/admin/events?provider=ID&limit=N`: newest first.
    static func listEvents(_ request: Request, eventLog: EventLog) async throws -> Response {
        let limit = try request.limitParameter(default: 50)
        let events = try await eventLog.recent(provider: request.queryParameters["provider"], limit: limit)
        let items: [JSONValue] = events.map { event in
            [
                "id": .number(Double(event.id)), "provider": .string(event.provider), "type": .string(event.type),
                "external_id": .string(event.externalID), "received_at": .number(Double(event.receivedAt) / 1000),
                "occurred_at": event.occurredAt.map(JSONValue.number) ?? .null,
                "payload": event.payloadJSON,
            ]
        }
        return .json(["events": .array(items)])
    }
}
