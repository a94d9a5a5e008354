import PluginAPI

/// The admin API over the job queue (behind ``AdminGate``, as everything under `/api/admin/`).
///
/// - `GET /api/admin/jobs?state=dead&limit=N`: jobs, oldest first.
/// - `GET /api/admin/jobs/{id}`: one job.
/// - `POST /api/admin/jobs/{id}/retry`: queue a dead job again (409 unless it is dead).
/// - `POST /api/admin/jobs/{id}/cancel`: cancel a queued or running job (409 otherwise).
struct JobRoutes {
    let queue: JobQueue

    func register(in router: inout Router) throws(RouteConflictError) {
        let queue = queue
        try router.add(
            method: .GET, template: "/api/admin/jobs", maxBodyBytes: 0, owner: .host { request in try await Self.list(request, queue: queue) },
            declaredBy: "the host", summary: "Background jobs, oldest first",
            documentation: RouteDocumentation(
                query: [.init("state"), .init("limit", schema: JSONSchema.integer(minimum: 1, maximum: 1000))],
                responses: [200: .json(JSONSchema.object(["jobs": JSONSchema.array(JSONSchema.object())], required: ["jobs"]))]))
        try router.add(
            method: .GET, template: "/api/admin/jobs/{id}", maxBodyBytes: 0,
            owner: .host { request in
                let id = try Self.id(request)
                guard let job = try await queue.job(id) else { throw HTTPError.notFound("no job \(id)") }
                return .json(["job": Self.json(job)])
            }, declaredBy: "the host", summary: "One job", documentation: RouteDocumentation(responses: [200: .json(JSONSchema.object())]))
        for (action, allowed) in [("retry", "dead"), ("cancel", "queued or running")] {
            try router.add(
                method: .POST, template: "/api/admin/jobs/{id}/\(action)", maxBodyBytes: 0,
                owner: .host { request in
                    let id = try Self.id(request)
                    let changed = action == "retry" ? try await queue.retryDead(id) : try await queue.cancel(id)
                    guard let job = try await queue.job(id) else { throw HTTPError.notFound("no job \(id)") }
                    guard changed else {
                        throw HTTPError(
                            status: 409, error: "conflict", detail: "job \(id) is \(job.state.rawValue); only a \(allowed) job can be \(action == "retry" ? "retried" : "cancelled")")
                    }
                    return .json(["job": Self.json(job)])
                }, declaredBy: "the host", summary: action == "retry" ? "Queue a dead job again" : "Cancel a queued or running job",
                documentation: RouteDocumentation(responses: [200: .json(JSONSchema.object())]))
        }
    }

    private static func list(_ request: Request, queue: JobQueue) async throws -> Response {
        let limit = try request.limitParameter(default: 100)
        let state = try request.enumParameter("state", as: JobState.self)
        return .json(["jobs": .array(try await queue.jobs(state: state, limit: limit).map(json))])
    }

    private static func id(_ request: Request) throws(HTTPError) -> Int64 {
        guard let text = request.pathParameters["id"], let id = Int64(text), id > 0 else { throw HTTPError.notFound("no such job") }
        return id
    }

    /// A job as the admin API shows it; times in seconds since 1970.
    static func json(_ job: JobRecord) -> JSONValue {
        func seconds(_ milliseconds: Int64?) -> JSONValue { milliseconds.map { .number(Double($0) / 1000) } ?? .null }
        return [
            "id": .number(Double(job.id)), "kind": .string(job.kind), "state": .string(job.state.rawValue), "payload": job.payload,
            "priority": .number(Double(job.priority)), "run_at": seconds(job.runAt), "attempts": .number(Double(job.attempts)),
            "max_attempts": .number(Double(job.maxAttempts)), "idempotency_key": job.idempotencyKey.map(JSONValue.string) ?? .null,
            "lease_owner": job.leaseOwner.map(JSONValue.string) ?? .null, "lease_expires_at": seconds(job.leaseExpiresAt),
            "last_error": job.lastError.map(JSONValue.string) ?? .null, "created_at": seconds(job.createdAt), "updated_at": seconds(job.updatedAt),
        ]
    }
}
