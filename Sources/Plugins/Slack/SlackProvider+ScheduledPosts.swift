import PluginAPI

/// Scheduled posts: an admin queues `{channel, text, post_at}`; the job `slack.post_message` sends it
/// with `chat.postMessage` at that time, under the queue's retries.
extension SlackProvider {
    static let postMessageKind = "slack.post_message"
    /// Slack truncates longer messages; we refuse them instead.
    static let maxTextLength = 40_000
    static let defaultAPIBaseURL = "https://slack.com/api"
    /// Slack errors no retry can fix: the job is dead at once.
    static let fatalErrors: Set<String> = [
        "channel_not_found", "not_in_channel", "invalid_auth", "account_inactive", "token_revoked", "no_text", "msg_too_long", "is_archived",
    ]

    /// An answer from Slack worth retrying with backoff (5xx, a retryable `ok: false`, an unreadable body).
    struct SlackAPIError: Error, CustomStringConvertible {
        let description: String
    }

    /// `POST /api/slack/scheduled-posts` (admin token): validates and queues the post; 201 with the job id.
    func schedulePost(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        let body = try request.jsonBody()
        guard body.objectValue != nil else { throw HTTPError.badRequest("the body must be a JSON object {channel, text, post_at}") }
        guard let channel = body["channel"]?.stringValue, !channel.allSatisfy(\.isWhitespace) else {
            throw HTTPError.badRequest("channel must be a non-empty string (a channel id such as C0123456789)")
        }
        guard let text = body["text"]?.stringValue, !text.allSatisfy(\.isWhitespace) else {
            throw HTTPError.badRequest("text must be a non-empty string")
        }
        guard text.count <= Self.maxTextLength else {
            throw HTTPError.badRequest("text is \(text.count) characters; at most \(Self.maxTextLength) are allowed")
        }
        let (postAtText, postAt) = try JobTime.parse(body["post_at"], member: "post_at")
        let id = try await jobs.enqueue(
            Self.postMessageKind, payload: ["channel": .string(channel), "text": .string(text), "post_at": .string(postAtText)], runAt: postAt, priority: 0, idempotencyKey: nil)
        logger.info("scheduled a Slack post", [("job", String(id)), ("channel", channel), ("post_at", postAtText)])
        return .json(["id": .number(Double(id)), "post_at": .string(postAtText), "state": "queued"], status: 201)
    }

    /// `GET /api/slack/scheduled-posts/{id}` (admin token): state, attempts and last error.
    func scheduledPost(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        let job = try await scheduledJob(request)
        return .json([
            "id": .number(Double(job.id)), "state": .string(job.state), "attempts": .number(Double(job.attempts)),
            "max_attempts": .number(Double(job.maxAttempts)), "last_error": job.lastError.map(JSONValue.string) ?? .null,
            "run_at": .number(job.runAt), "channel": job.payload["channel"] ?? .null, "post_at": job.payload["post_at"] ?? .null,
        ])
    }

    /// `DELETE /api/slack/scheduled-posts/{id}` (admin token): cancels it; 409 once it has finished.
    func cancelScheduledPost(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        let job = try await scheduledJob(request)
        guard try await jobs.cancel(job.id) else {
            let state = try await jobs.job(job.id)?.state ?? job.state
            throw HTTPError(status: 409, error: "conflict", detail: "scheduled post \(job.id) is \(state); only a queued or running post can be cancelled")
        }
        return .json(["id": .number(Double(job.id)), "state": "cancelled"])
    }

    /// The `slack.post_message` job named by the `{id}` path parameter; 404 otherwise.
    private func scheduledJob(_ request: Request) async throws -> JobStatus {
        guard let text = request.pathParameters["id"], let id = Int64(text), id > 0, let job = try await jobs.job(id), job.kind == Self.postMessageKind
        else { throw HTTPError.notFound("no such scheduled post") }
        return job
    }

    /// The `slack.post_message` job: `chat.postMessage` with the bot token (only `channel` and `text`
    /// of the payload are sent). Cancelling a post while it runs does not stop this send.
    func postMessage(_ payload: JSONValue) async throws -> JobResult {
        guard let channel = payload["channel"]?.stringValue, let text = payload["text"]?.stringValue else {
            return .fatal("the job payload has no channel or text")
        }
        let token: String
        do {
            guard let value = try settings.string("botToken") else {
                return .fatal("no Slack bot token: set botToken in plugins.json or the environment variable SLACK_BOT_TOKEN")
            }
            token = value
        } catch {
            return .fatal("the Slack bot token could not be read: \(error.reason)")
        }
        let base: String
        do { base = try settings.string("apiBaseURL") ?? Self.defaultAPIBaseURL } catch {
            return .fatal("the Slack apiBaseURL setting could not be read: \(error.reason)")
        }
        let url = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/chat.postMessage"
        let body: JSONValue = ["channel": .string(channel), "text": .string(text)]
        let response = try await http.send(
            OutboundRequest(
                method: .POST, url: url,
                headers: ["Authorization": "Bearer \(token)", "Content-Type": "application/json; charset=utf-8"],
                body: Array(body.jsonString.utf8)))
        return try Self.result(of: response)
    }

    /// How a `chat.postMessage` answer ends the job (thrown errors are retried with backoff).
    static func result(of response: OutboundResponse) throws -> JobResult {
        if response.status == 429 {
            return .retry(after: response.retryAfter ?? 30)
        }
        guard (200..<300).contains(response.status) else {
            throw SlackAPIError(description: "Slack answered HTTP \(response.status)")
        }
        guard let answer = try? JSONValue.parse(response.body), let ok = answer["ok"]?.boolValue else {
            throw SlackAPIError(description: "Slack answered HTTP \(response.status) without an ok field")
        }
        if ok { return .success }
        let error = answer["error"]?.stringValue ?? "unknown_error"
        if fatalErrors.contains(error) { return .fatal("Slack refused the message: \(error)") }
        throw SlackAPIError(description: "Slack answered ok: false, error: \(error)")
    }
}
