import PluginAPI

/// Slack: the Events API, slash commands and interactivity, each verified with Slack's v0 signing secret.
public final class SlackProvider: Provider {
    public static let descriptor = ProviderDescriptor(
        id: "slack",
        displayName: "Slack",
        settings: [
            .secret("signingSecret", summary: "The app's signing secret (Basic Information → App Credentials)", environmentVariable: "SLACK_SIGNING_SECRET"),
            SettingSpec(
                name: "botToken", summary: "Bot token (xoxb-…) for scheduled posts; needed only to send", isSecret: true,
                environmentVariable: "SLACK_BOT_TOKEN"),
            SettingSpec(name: "apiBaseURL", summary: "Slack Web API base URL (default https://slack.com/api)"),
        ],
        routes: [
            .post("/api/webhooks/slack", summary: "Slack Events API: url_verification (answered {\"challenge\"}) and event_callback (answered with an empty body)") {
                (slack: SlackProvider, request) in
                try await slack.receiveEvent(request)
            }.documented(
                request: .json(JSONSchema.object(["type": JSONSchema.string()], required: ["type"])),
                responses: [200: .json(JSONSchema.object(["challenge": JSONSchema.string()]))]),
            .post("/api/webhooks/slack/commands", summary: "Slack slash commands (form-encoded)") { (slack: SlackProvider, request) in
                try await slack.receiveCommand(request)
            }.documented(request: .form(JSONSchema.object(["command": JSONSchema.string(), "text": JSONSchema.string()])), responses: [200: .json()]),
            .post("/api/webhooks/slack/interactions", summary: "Slack interactivity: buttons, shortcuts, modals") { (slack: SlackProvider, request) in
                try await slack.receiveInteraction(request)
            }.documented(request: .form(JSONSchema.object(["payload": JSONSchema.string()], required: ["payload"])), responses: [200: nil]),
            .post("/api/slack/scheduled-posts", summary: "Schedule a message {channel, text, post_at} (admin token)") { (slack: SlackProvider, request) in
                try await slack.schedulePost(request)
            }.documented(
                request: .json(
                    JSONSchema.object(
                        ["channel": JSONSchema.string(), "text": JSONSchema.string(), "post_at": JSONSchema.string(format: "date-time")],
                        required: ["channel", "text", "post_at"])),
                responses: [201: .json(JSONSchema.object(["id": JSONSchema.integer(), "post_at": JSONSchema.string(), "state": JSONSchema.string()]))], adminOnly: true),
            .get("/api/slack/scheduled-posts/{id}", summary: "A scheduled post's state (admin token)") { (slack: SlackProvider, request) in
                try await slack.scheduledPost(request)
            }.documented(responses: [200: .json(JSONSchema.object())], adminOnly: true),
            .on(.DELETE, "/api/slack/scheduled-posts/{id}", maxBodyBytes: 0, summary: "Cancel a scheduled post (admin token)") {
                (slack: SlackProvider, request) in
                try await slack.cancelScheduledPost(request)
            }.documented(responses: [200: .json(JSONSchema.object())], adminOnly: true),
        ],
        verificationScheme: VerificationScheme(
            summary: "HMAC-SHA256 of v0:timestamp:body with the signing secret (X-Slack-Signature, X-Slack-Request-Timestamp)",
            replayWindow: .fiveMinutes),
        jobs: [
            .job(SlackProvider.postMessageKind, maxAttempts: 8, summary: "Post a message with chat.postMessage") { (slack: SlackProvider, payload) in
                try await slack.postMessage(payload)
            }
        ],
        oauth: OAuthSpec(
            authorizeURL: "https://slack.com/oauth/v2/authorize", tokenURL: "https://slack.com/api/oauth.v2.access",
            revocation: OAuthRevocation(url: "https://slack.com/api/auth.revoke", style: .bearerAccessToken),
            scopes: ["chat:write", "channels:read"], scopeSeparator: ",", usesPKCE: false, clientAuthentication: .basic, environmentPrefix: "SLACK"))

    let signature: SlackSignature
    let events: any EventSink
    let logger: Logger
    let verification: VerificationPolicy
    let settings: ProviderSettings
    let http: any HTTPClient
    let jobs: any JobScheduler
    let requireAdmin: @Sendable (Request) throws(HTTPError) -> Void

    public init(context: ProviderContext) throws {
        settings = context.settings
        http = context.http
        jobs = context.jobs
        requireAdmin = context.requireAdmin
        let secret = try context.settings.required("signingSecret")
        signature = SlackSignature(signingSecret: secret, clock: context.clock)
        events = context.events
        logger = context.logger
        verification = context.verification
    }

    /// `POST /api/webhooks/slack`: verify, then answer the URL challenge or store the event.
    func receiveEvent(_ request: Request) async throws -> Response {
        try verify(request)
        let envelope = try request.jsonBody()
        switch envelope["type"]?.stringValue {
        case "url_verification":
            guard let challenge = envelope["challenge"]?.stringValue else {
                throw HTTPError.badRequest("url_verification without a challenge")
            }
            return .json(["challenge": .string(challenge)])
        case "event_callback":
            let event = try Self.normalise(envelope, rawBody: request.body)
            _ = try await events.append([event])
            return .empty(200)
        case let other:
            // Slack also sends app_rate_limited and similar notices; acknowledge so it does not retry.
            logger.info("acknowledged Slack envelope without storing it", [("type", other ?? "<none>")])
            return .empty(200)
        }
    }

    /// Checks the v0 signature under the hub's verification policy (every Slack route calls this first).
    func verify(_ request: Request) throws(HTTPError) {
        try verification.check { () throws(HTTPError) in try signature.verify(request) }
    }

    /// The envelope members stored with the event (beside `event`); the deprecated `token` is not one.
    private static let keptMembers = ["team_id", "api_app_id", "event_time", "event_context", "authorizations", "is_ext_shared_channel"]

    /// Turns an `event_callback` envelope into a stored event, dropping the deprecated verification
    /// token from the normalised payload (the raw body is kept exactly as received, token included:
    /// it is what the signature covers, and no route returns it).
    static func normalise(_ envelope: JSONValue, rawBody: [UInt8]) throws(HTTPError) -> NewEvent {
        guard let eventID = envelope["event_id"]?.stringValue, !eventID.isEmpty else {
            throw .badRequest("event_callback without event_id")
        }
        guard let event = envelope["event"], let type = event["type"]?.stringValue else {
            throw .badRequest("event_callback without event.type")
        }
        var members: [(key: String, value: JSONValue)] = [("event", event)]
        members.reserveCapacity(keptMembers.count + 1)
        for key in keptMembers {
            if let value = envelope[key] { members.append((key, value)) }
        }
        return NewEvent(
            externalID: eventID, type: type, occurredAt: envelope["event_time"]?.numberValue,
            rawBody: rawBody, payload: .object(JSONObject(members)))
    }
}
