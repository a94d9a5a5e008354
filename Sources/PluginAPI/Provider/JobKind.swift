/// One kind of background job a provider runs (posting a scheduled message, forwarding an event).
///
/// Declared in the descriptor like routes, so the host knows every kind at startup without creating
/// the provider. The handler receives the provider instance and the job's JSON payload:
///
/// ```swift
/// .job("post_message", maxAttempts: 8) { (slack: SlackProvider, payload) in
///     let response = try await slack.post(payload)
///     if response.status == 429 { return .retry(after: response.retryAfter ?? 30) }
///     return response.status == 404 ? .fatal("channel not found") : .success
/// }
/// ```
///
/// A job runs at least once: after a crash it can run again, so handlers should be idempotent.
/// A thrown error counts as a failed attempt, retried with exponential backoff and jitter.
public struct JobKind: Sendable {
    /// The handler, with the provider passed as an existential; made by ``job(_:maxAttempts:summary:_:)``.
    public typealias Handler = @Sendable (any Provider, JSONValue) async throws -> JobResult

    /// The kind's name, unique across providers (`slack.post_message`); jobs are queued under it.
    public var name: String
    /// Attempts before the job is dead, unless the enqueue says otherwise.
    public var maxAttempts: Int
    /// A one-line description for the admin page.
    public var summary: String
    public var handler: Handler

    public init(name: String, maxAttempts: Int = 5, summary: String = "", handler: @escaping Handler) {
        self.name = name
        self.maxAttempts = maxAttempts
        self.summary = summary
        self.handler = handler
    }

    /// A job kind whose handler receives the concrete provider type.
    public static func job<P: Provider>(
        _ name: String, maxAttempts: Int = 5, summary: String = "", _ handler: @escaping @Sendable (P, JSONValue) async throws -> JobResult
    ) -> JobKind {
        JobKind(name: name, maxAttempts: maxAttempts, summary: summary) { provider, payload in
            guard let typed = provider as? P else {
                throw ProviderSetupError("job kind \(name) belongs to \(P.self), not \(type(of: provider))")
            }
            return try await handler(typed, payload)
        }
    }
}

/// How one run of a job ended.
public enum JobResult: Sendable, Equatable {
    /// Done; the job is never run again.
    case success
    /// Try again no sooner than `after` seconds (a 429's `Retry-After`); counts as an attempt.
    case retry(after: Double)
    /// Never retry (the request can never succeed): the job is dead at once, with this reason.
    case fatal(String)
}

/// Queues background jobs of the provider's own declared kinds; reaches a provider through its context.
public protocol JobScheduler: Sendable {
    /// Queues a job of `kind` (one the provider declared) and returns its id. With an
    /// `idempotencyKey` already used, returns the existing job's id and queues nothing.
    /// - Parameters:
    ///   - runAt: seconds since 1970; nil runs it as soon as a worker is free.
    ///   - priority: higher runs first among due jobs.
    func enqueue(_ kind: String, payload: JSONValue, runAt: Double?, priority: Int, idempotencyKey: String?) async throws -> Int64

    /// The job `id` if it exists and is of a kind this provider declared (nil otherwise).
    func job(_ id: Int64) async throws -> JobStatus?

    /// Cancels the job `id` if it is queued or running and of a kind this provider declared; returns
    /// whether it did. A running handler is not interrupted, but its result is ignored.
    func cancel(_ id: Int64) async throws -> Bool
}

/// A queued job as a provider sees it.
public struct JobStatus: Sendable, Equatable {
    public var id: Int64
    public var kind: String
    /// `queued`, `running`, `succeeded`, `dead` or `cancelled`.
    public var state: String
    public var payload: JSONValue
    /// When it runs (or ran) next, seconds since 1970.
    public var runAt: Double
    /// Runs so far, including one running now.
    public var attempts: Int
    public var maxAttempts: Int
    public var lastError: String?

    public init(id: Int64, kind: String, state: String, payload: JSONValue, runAt: Double, attempts: Int, maxAttempts: Int, lastError: String?) {
        self.id = id
        self.kind = kind
        self.state = state
        self.payload = payload
        self.runAt = runAt
        self.attempts = attempts
        self.maxAttempts = maxAttempts
        self.lastError = lastError
    }

    /// Whether the job will not run again (succeeded, dead or cancelled).
    public var isFinished: Bool { ["succeeded", "dead", "cancelled"].contains(state) }
}

extension JobScheduler {
    /// Queues a job to run now, with default priority.
    @discardableResult
    public func enqueue(_ kind: String, payload: JSONValue, idempotencyKey: String? = nil) async throws -> Int64 {
        try await enqueue(kind, payload: payload, runAt: nil, priority: 0, idempotencyKey: idempotencyKey)
    }
}

/// The scheduler of a host without a job queue: every enqueue throws.
public struct NoJobScheduler: JobScheduler {
    public init() {}

    public func enqueue(_ kind: String, payload: JSONValue, runAt: Double?, priority: Int, idempotencyKey: String?) async throws -> Int64 {
        throw ProviderSetupError("this host has no job queue")
    }

    public func job(_ id: Int64) async throws -> JobStatus? { nil }

    public func cancel(_ id: Int64) async throws -> Bool { false }
}
