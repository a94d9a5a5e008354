import PluginAPI

/// Slack: the Events API webhook, verified with Slack's v0 signing secret.
public final class SlackProvider: Provider {
    public static let descriptor = ProviderDescriptor(
        id: "slack",
        displayName: "Slack",
        settings: [
            .secret("signingSecret", summary: "The app's signing secret (Basic Information → App Credentials)", environmentVariable: "SLACK_SIGNING_SECRET")
        ],
        routes: [
            .post("/api/webhooks/slack", summary: "Slack Events API: url_verification and event_callback") { (slack: SlackProvider, request) in
                try await slack.receiveEvent(request)
            }
        ],
        verificationScheme: VerificationScheme(
            summary: "HMAC-SHA256 of v0:timestamp:body with the signing secret (X-Slack-Signature, X-Slack-Request-Timestamp)",
            replayWindow: .fiveMinutes))

    private let signature: SlackSignature
    private let events: any EventSink
    private let logger: Logger
    private let verification: VerificationPolicy

    public init(context: ProviderContext) throws {
        let secret = try context.settings.required("signingSecret")
        signature = SlackSignature(signingSecret: Array(secret.utf8), window: .fiveMinutes, clock: context.clock)
        events = context.events
        logger = context.logger
        verification = context.verification
    }

    /// `POST /api/webhooks/slack`: verify, then answer the URL challenge or store the event.
    func receiveEvent(_ request: Request) async throws -> Response {
        try verification.check { () throws(HTTPError) in try signature.verify(request) }
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

    /// Turns an `event_callback` envelope into a stored event, dropping the deprecated verification token.
    static func normalise(_ envelope: JSONValue, rawBody: [UInt8]) throws(HTTPError) -> NewEvent {
        guard let eventID = envelope["event_id"]?.stringValue, !eventID.isEmpty else {
            throw .badRequest("event_callback without event_id")
        }
        guard let event = envelope["event"], let type = event["type"]?.stringValue else {
            throw .badRequest("event_callback without event.type")
        }
        var payload: JSONObject = ["event": event]
        for key in ["team_id", "api_app_id", "event_time", "event_context", "authorizations", "is_ext_shared_channel"] {
            if let value = envelope[key] { payload[key] = value }
        }
        return NewEvent(
            externalID: eventID, type: type, occurredAt: envelope["event_time"]?.numberValue,
            rawBody: rawBody, payload: .object(payload))
    }
}
