import PluginAPI

/// Microsoft Teams: outgoing webhooks (HMAC-signed, answered synchronously), Microsoft Graph
/// change notifications (trusted by their `clientState`), and messages posted to an incoming webhook.
///
/// Each route needs its own secret. The provider is created when at least one is configured; a
/// route whose secret is missing answers 503 and never accepts anything unverified.
public final class TeamsProvider: Provider {
    public static let descriptor = ProviderDescriptor(
        id: "teams",
        displayName: "Microsoft Teams",
        settings: [
            SettingSpec(
                name: "outgoingWebhookSecret", summary: "The outgoing webhook's security token (base64), shown once when it is created", isSecret: true,
                environmentVariable: "TEAMS_OUTGOING_WEBHOOK_SECRET"),
            SettingSpec(
                name: "clientState", summary: "The clientState given when creating Graph subscriptions", isSecret: true,
                environmentVariable: "TEAMS_CLIENT_STATE"),
            SettingSpec(
                name: "incomingWebhookURL", summary: "The incoming webhook URL messages are posted to (it embeds a credential: only its host is logged)",
                isSecret: true, environmentVariable: "TEAMS_INCOMING_WEBHOOK_URL"),
            SettingSpec(name: "replyText", summary: "The text of the reply to an outgoing webhook message (default \"\(defaultReply)\")"),
        ],
        routes: [
            .post("/api/webhooks/teams", summary: "Teams outgoing webhook: store the activity and reply") { (teams: TeamsProvider, request) in
                try await teams.receiveOutgoingWebhook(request)
            }.documented(request: .json(JSONSchema.object(["type": JSONSchema.string(), "text": JSONSchema.string()])), responses: [200: .json()]),
            .post("/api/webhooks/teams/notifications", summary: "Microsoft Graph change notifications and their validation handshake") {
                (teams: TeamsProvider, request) in
                try await teams.receiveNotifications(request)
            }.documented(
                request: .json(JSONSchema.object(["value": JSONSchema.array(JSONSchema.object())])), query: [.init("validationToken")],
                responses: [200: .init(contentType: "text/plain"), 202: nil]),
            .post("/api/teams/messages", summary: "Queue a message {text, title?, post_at?} for the incoming webhook (admin token)") {
                (teams: TeamsProvider, request) in
                try await teams.queueMessage(request)
            }.documented(
                request: .json(
                    JSONSchema.object(
                        ["text": JSONSchema.string(), "title": JSONSchema.string(), "post_at": JSONSchema.string(format: "date-time")], required: ["text"])),
                responses: [201: .json(JSONSchema.object(["id": JSONSchema.integer()]))], adminOnly: true),
        ],
        jobs: [
            .job(TeamsProvider.postMessageKind, maxAttempts: 8, summary: "Post a message to the Teams incoming webhook") { (teams: TeamsProvider, payload) in
                try await teams.postMessage(payload)
            }
        ],
        // Microsoft identity platform v2 (Graph): no revocation endpoint for tokens.
        oauth: OAuthSpec(
            authorizeURL: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
            tokenURL: "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
            scopes: ["offline_access", "https://graph.microsoft.com/User.Read", "https://graph.microsoft.com/ChannelMessage.Send"], usesPKCE: true,
            sendsScopeToTokenEndpoint: true, authorizeParameters: [OAuthParameter("response_mode", "query")],
            placeholders: [
                OAuthPlaceholder(
                    name: "tenant", setting: "oauthTenant", defaultValue: "common",
                    summary: "Microsoft Entra tenant: common, organizations, consumers or a tenant id")
            ],
            environmentPrefix: "TEAMS"))

    static let defaultReply = "Received."
    /// Graph's validation tokens are about 200 characters; anything far longer is not one.
    static let maximumValidationTokenBytes = 1024

    private let outgoingSignature: TeamsOutgoingSignature?
    private let clientState: [UInt8]?
    private let replyText: String
    private let events: any EventSink
    let logger: Logger
    private let verification: VerificationPolicy
    let settings: ProviderSettings
    let http: any HTTPClient
    let jobs: any JobScheduler
    let requireAdmin: @Sendable (Request) throws(HTTPError) -> Void

    public init(context: ProviderContext) throws {
        let settings = context.settings
        outgoingSignature = try settings.string("outgoingWebhookSecret").map { secret throws(ProviderSetupError) in try TeamsOutgoingSignature(securityToken: secret) }
        clientState = try settings.string("clientState").map { Array($0.utf8) }
        let hasIncomingWebhook = try settings.string("incomingWebhookURL") != nil
        guard outgoingSignature != nil || clientState != nil || hasIncomingWebhook else {
            throw ProviderSetupError(
                "set outgoingWebhookSecret (TEAMS_OUTGOING_WEBHOOK_SECRET), clientState (TEAMS_CLIENT_STATE), incomingWebhookURL (TEAMS_INCOMING_WEBHOOK_URL), or several")
        }
        replyText = try settings.string("replyText") ?? Self.defaultReply
        events = context.events
        logger = context.logger
        verification = context.verification
        self.settings = settings
        http = context.http
        jobs = context.jobs
        requireAdmin = context.requireAdmin
    }

    /// `POST /api/webhooks/teams`: verify the HMAC (under the hub's verification policy), store the
    /// activity, reply with a message.
    func receiveOutgoingWebhook(_ request: Request) async throws -> Response {
        guard let outgoingSignature else { throw Self.notConfigured("outgoingWebhookSecret", "TEAMS_OUTGOING_WEBHOOK_SECRET") }
        try verification.check { () throws(HTTPError) in try outgoingSignature.verify(request) }
        let activity = try request.jsonBody()
        guard let id = activity["id"]?.stringValue, !id.isEmpty else { throw HTTPError.badRequest("the activity has no id") }
        guard let type = activity["type"]?.stringValue, !type.isEmpty else { throw HTTPError.badRequest("the activity has no type") }
        let sent = activity["timestamp"]?.stringValue.flatMap(RFC3339.parse)  // When the user sent the message.
        _ = try await events.append([NewEvent(externalID: id, type: type, occurredAt: sent, rawBody: request.body, payload: activity)])
        return .json(["type": "message", "text": .string(replyText)])
    }

    /// `POST /api/webhooks/teams/notifications`: answer Graph's validation handshake, or store the
    /// items whose `clientState` matches (the others are dropped and logged, or let through when the
    /// hub's verification policy skips failed checks) and answer 202.
    func receiveNotifications(_ request: Request) async throws -> Response {
        guard let clientState else { throw Self.notConfigured("clientState", "TEAMS_CLIENT_STATE") }
        if let token = request.queryParameters["validationToken"] {
            return try Self.validationResponse(token)
        }
        let notifications = try GraphNotification.batch(try request.jsonBody())
        let matching = notifications.filter { $0.hasClientState(clientState) }
        var trusted = matching
        if matching.count < notifications.count {
            // One check, one log line and one metric per request, however many items failed: the body is
            // unauthenticated, and a batch of a million empty items must not become a million log lines.
            let dropped = notifications.filter { !$0.hasClientState(clientState) }
            do {
                try verification.check { () throws(HTTPError) in
                    throw .invalidSignature("\(dropped.count) of \(notifications.count) notifications' clientState does not match")
                }
                trusted = notifications  // The policy lets failed checks through (development only).
            } catch {
                logger.warning(
                    "dropped Graph notifications whose clientState does not match",
                    [
                        ("dropped", String(dropped.count)), ("of", String(notifications.count)),
                        ("first_subscriptionId", dropped[0].string("subscriptionId") ?? "<none>"), ("first_type", dropped[0].type),
                    ])
            }
        }
        guard !trusted.isEmpty || notifications.isEmpty else {
            throw HTTPError.invalidSignature("no notification carries the configured clientState")
        }
        if !trusted.isEmpty { _ = try await events.append(trusted.map(\.event)) }
        return .empty(202)
    }

    /// Graph's subscription handshake: echo the decoded token as plain text within 10 seconds.
    static func validationResponse(_ token: String) throws(HTTPError) -> Response {
        guard !token.isEmpty, token.utf8.count <= maximumValidationTokenBytes else {
            throw .badRequest("validationToken must be 1 to \(maximumValidationTokenBytes) bytes")
        }
        var response = Response.text(token)
        response.headers.add(name: "X-Content-Type-Options", value: "nosniff")  // The token is reflected: never let it be sniffed as HTML.
        return response
    }

    private static func notConfigured(_ setting: String, _ variable: String) -> HTTPError {
        HTTPError(
            status: 503, error: "provider_unavailable", detail: "this route needs the setting '\(setting)' (or the environment variable \(variable))",
            extra: ["provider": "teams"])
    }
}
