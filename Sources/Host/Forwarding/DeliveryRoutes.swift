import PluginAPI

/// The admin API over deliveries (behind ``AdminGate``, as everything under `/api/admin/`).
///
/// - `GET /api/admin/deliveries?destination=ID&state=dead&limit=N`: deliveries with their attempts, oldest first.
/// - `POST /api/admin/deliveries/{id}/retry`: send a dead delivery again (409 unless it is dead and its
///   destination still configured).
/// - `POST /api/admin/events/{id}/replay` with optional `{"destination": "ID"}`: queue the event again
///   to that destination, or to every destination that takes it; 202 with the new deliveries.
struct DeliveryRoutes {
    let store: DeliveryStore
    let table: ForwardingTable

    private var destinations: [Destination] { table.destinations }

    func register(in router: inout Router) throws(RouteConflictError) {
        let routes = self
        try router.add(
            method: .GET, template: "/api/admin/deliveries", maxBodyBytes: 0, owner: .host { request in try await routes.list(request) },
            declaredBy: "the host")
        try router.add(
            method: .POST, template: "/api/admin/deliveries/{id}/retry", maxBodyBytes: 0, owner: .host { request in try await routes.retry(request) },
            declaredBy: "the host")
        try router.add(
            method: .POST, template: "/api/admin/events/{id}/replay", maxBodyBytes: 4096, owner: .host { request in try await routes.replay(request) },
            declaredBy: "the host")
    }

    private func list(_ request: Request) async throws -> Response {
        let query = request.queryParameters
        let limit = try request.limitParameter(default: 100)
        let state = try request.enumParameter("state", as: DeliveryState.self)
        if let id = query["destination"] { _ = try destination(id) }
        let records = try await store.deliveries(destination: query["destination"], state: state, limit: limit)
        return .json(["deliveries": .array(records.map(\.json))])
    }

    private func retry(_ request: Request) async throws -> Response {
        guard let text = request.pathParameters["id"], let id = Int64(text), id > 0 else { throw HTTPError.notFound("no such delivery") }
        switch try await store.retryDead(id, configured: Set(destinations.map(\.id))) {
        case .retried(let destination):
            return .json(["delivery": ["id": .number(Double(id)), "destination": .string(destination), "state": "pending"]], status: 202)
        case .notFound:
            throw HTTPError.notFound("no delivery \(id)")
        case .notDead(let state):
            throw HTTPError(status: 409, error: "conflict", detail: "delivery \(id) is \(state); only a dead delivery can be retried")
        case .destinationGone(let destination):
            throw HTTPError(
                status: 409, error: "conflict",
                detail: "delivery \(id) is for destination '\(destination)', which is no longer configured; replay its event to another destination instead")
        }
    }

    private func replay(_ request: Request) async throws -> Response {
        guard let text = request.pathParameters["id"], let eventID = Int64(text), eventID > 0 else { throw HTTPError.notFound("no such event") }
        var named: String?
        if !request.body.isEmpty {
            let body = try request.jsonBody()
            guard let object = body.objectValue else { throw HTTPError.badRequest("the body must be a JSON object {\"destination\": \"ID\"} or empty") }
            for member in object.members where member.key != "destination" {
                throw HTTPError.badRequest("unknown key '\(member.key)'; expected only \"destination\"")
            }
            if let value = object["destination"] {
                guard let id = value.stringValue else { throw HTTPError.badRequest("destination must be a string") }
                named = id
            }
        }
        let chosen = try named.map { [try destination($0)] }
        guard let event = try await store.eventKind(eventID) else { throw HTTPError.notFound("no event \(eventID)") }
        let targets = (chosen ?? destinations).filter { $0.matches(provider: event.provider, type: event.type) }
        if let chosen = chosen?.first, targets.isEmpty {
            throw HTTPError.badRequest("destination '\(chosen.id)' does not take \(event.provider) events of type '\(event.type)'")
        }
        let ids = try await store.replay(eventID: eventID, destinations: targets.map(\.id))
        let created = zip(ids, targets).map { id, target -> JSONValue in ["id": .number(Double(id)), "destination": .string(target.id)] }
        return .json(["event_id": .number(Double(eventID)), "deliveries": .array(created)], status: 202)
    }

    private func destination(_ id: String) throws(HTTPError) -> Destination {
        guard let destination = destinations.first(where: { $0.id == id }) else { throw HTTPError.notFound("no destination '\(id)'") }
        return destination
    }
}
