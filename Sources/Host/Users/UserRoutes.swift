import PluginAPI

/// The admin API over users (behind ``AdminGate``, as everything under `/api/admin/`).
///
/// - `POST /api/admin/users` `{"id": "alice", "display_name"?: "Alice"}` → 201 `{user}`; 409 when the id is taken.
/// - `GET /api/admin/users` → `{users: [...]}`.
struct UserRoutes {
    let users: UserStore
    let audit: AuditLog

    func register(in router: inout Router) throws(RouteConflictError) {
        let (users, audit) = (users, audit)
        try router.add(
            method: .POST, template: "/api/admin/users", maxBodyBytes: 4096,
            owner: .host { request in try await Self.create(request, users: users, audit: audit) }, declaredBy: "the host")
        try router.add(
            method: .GET, template: "/api/admin/users", maxBodyBytes: 0,
            owner: .host { _ in .json(["users": .array(try await users.users().map(\.json))]) }, declaredBy: "the host")
    }

    private static func create(_ request: Request, users: UserStore, audit: AuditLog) async throws -> Response {
        let body = try request.jsonBody()
        guard let object = body.objectValue else { throw HTTPError.badRequest("the body must be a JSON object such as {\"id\": \"alice\"}") }
        guard let id = body["id"]?.stringValue, UserStore.isValidID(id) else {
            throw HTTPError(status: 400, error: "invalid_user_id", detail: "id must match ^[A-Za-z0-9_-]{1,64}$")
        }
        if let unknown = object.members.map(\.key).first(where: { !["id", "display_name"].contains($0) }) {
            throw HTTPError.badRequest("unknown member '\(String(unknown.prefix(64)))'; a user has only id and display_name")
        }
        let displayName: String?
        switch body["display_name"] {
        case nil, .null?: displayName = nil
        case .string(let text)?:
            guard text.count <= 200, !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw HTTPError.badRequest("display_name must be at most 200 characters, without control characters")
            }
            displayName = text
        default: throw HTTPError.badRequest("display_name must be a string")
        }
        guard let user = try await users.create(id: id, displayName: displayName, temporary: false) else {
            throw HTTPError(status: 409, error: "user_exists", detail: "a user '\(id)' already exists")
        }
        var event = AuditEvent(.userCreated, severity: .info, request: request, details: ["user": .string(id)])
        event.userID = "admin"
        audit.record(event)
        return .json(["user": user.json], status: 201)
    }
}
