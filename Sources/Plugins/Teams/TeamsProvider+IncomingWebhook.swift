import Foundation
import PluginAPI

/// Messages to a Teams incoming webhook: an admin queues `{text, title?, post_at?}`; the job
/// `teams.post_message` POSTs `{"text", "title"?}` to the configured URL, under the queue's retries.
///
/// The URL embeds a credential: only its host is ever logged or recorded as a job error.
extension TeamsProvider {
    static let postMessageKind = "teams.post_message"
    /// Teams refuses messages over about 28 KB; we refuse longer texts up front.
    static let maxTextLength = 28_000
    /// Answers no retry can fix: a bad payload, or the webhook removed.
    static let fatalStatuses: Set<Int> = [400, 404, 410]

    /// An answer or transport failure worth retrying with backoff; never contains the webhook URL.
    struct TeamsWebhookError: Error, CustomStringConvertible {
        let description: String
    }

    /// `POST /api/teams/messages` (admin token): validates and queues the message; 201 with the job id.
    /// An `Idempotency-Key` header (1–200 visible ASCII characters) queues at most one job per key:
    /// a repeated key answers with the first job's id.
    func queueMessage(_ request: Request) async throws -> Response {
        try requireAdmin(request)
        let body = try request.jsonBody()
        guard body.objectValue != nil else { throw HTTPError.badRequest("the body must be a JSON object {text, title?, post_at?}") }
        guard let text = body["text"]?.stringValue, !text.allSatisfy(\.isWhitespace) else {
            throw HTTPError.badRequest("text must be a non-empty string")
        }
        guard text.count <= Self.maxTextLength else {
            throw HTTPError.badRequest("text is \(text.count) characters; at most \(Self.maxTextLength) are allowed")
        }
        var payload: JSONObject = ["text": .string(text)]
        if let title = body["title"], title != .null {
            guard let value = title.stringValue else { throw HTTPError.badRequest("title must be a string") }
            payload["title"] = .string(value)
        }
        var runAt: Double?
        if let postAt = body["post_at"], postAt != .null {
            let (text, seconds) = try JobTime.parse(postAt, member: "post_at")
            runAt = seconds
            payload["post_at"] = .string(text)
        }
        var idempotencyKey: String?
        if let key = request.headers["Idempotency-Key"] {
            guard (1...200).contains(key.utf8.count), key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw HTTPError.badRequest("Idempotency-Key must be 1 to 200 visible ASCII characters")
            }
            idempotencyKey = "\(Self.postMessageKind):\(key)"  // Keys are unique across the queue: namespaced by kind.
        }
        let id = try await jobs.enqueue(Self.postMessageKind, payload: .object(payload), runAt: runAt, priority: 0, idempotencyKey: idempotencyKey)
        logger.info("queued a Teams message", [("job", String(id)), ("post_at", payload["post_at"]?.stringValue ?? "now")])
        return .json(["id": .number(Double(id))], status: 201)
    }

    /// The `teams.post_message` job: POSTs `{"text", "title"?}` to the incoming webhook URL.
    func postMessage(_ payload: JSONValue) async throws -> JobResult {
        guard let text = payload["text"]?.stringValue else { return .fatal("the job payload has no text") }
        let url: String
        do {
            guard let value = try settings.string("incomingWebhookURL") else {
                return .fatal("no Teams incoming webhook: set incomingWebhookURL in plugins.json or the environment variable TEAMS_INCOMING_WEBHOOK_URL")
            }
            url = value
        } catch {
            return .fatal("the Teams incoming webhook URL could not be read: \(error.reason)")
        }
        let host = Self.host(of: url)
        var message: JSONObject = ["text": .string(text)]
        if let title = payload["title"]?.stringValue { message["title"] = .string(title) }
        let response: OutboundResponse
        do {
            response = try await http.send(
                OutboundRequest(
                    method: .POST, url: url, headers: ["Content-Type": "application/json; charset=utf-8"],
                    body: Array(JSONValue.object(message).jsonString.utf8)))
        } catch let error as OutboundError {
            throw TeamsWebhookError(description: "the request to the Teams webhook at \(host) failed: \(error.reason.replacing(url, with: host))")
        } catch {
            throw TeamsWebhookError(description: "the request to the Teams webhook at \(host) failed")
        }
        return try Self.result(of: response, host: host)
    }

    /// How an incoming webhook's answer ends the job (thrown errors are retried with backoff).
    static func result(of response: OutboundResponse, host: String) throws -> JobResult {
        if (200..<300).contains(response.status) { return .success }
        if response.status == 429 { return .retry(after: response.retryAfter ?? 30) }
        if fatalStatuses.contains(response.status) {
            let reason = response.status == 400 ? "refused the message as malformed" : "no longer exists (the incoming webhook was removed)"
            return .fatal("the Teams webhook at \(host) answered HTTP \(response.status): it \(reason)")
        }
        throw TeamsWebhookError(description: "the Teams webhook at \(host) answered HTTP \(response.status)")
    }

    /// The host (and port) of `url`, without scheme, credentials, path or query; `<invalid URL>` otherwise.
    static func host(of url: String) -> String {
        guard let components = URLComponents(string: url), components.scheme != nil, let host = components.host, !host.isEmpty else {
            return "<invalid URL>"
        }
        return host + (components.port.map { ":\($0)" } ?? "")
    }
}
