import PluginAPI

/// HubSpot: webhook subscriptions (batches of CRM events, verified with the v3 signature) and a
/// contact insight computed from the events the hub stored.
public final class HubSpotProvider: Provider {
    public static let descriptor = ProviderDescriptor(
        id: "hubspot",
        displayName: "HubSpot",
        settings: [
            .secret("clientSecret", summary: "The app's client secret (app settings → Auth)", environmentVariable: "HUBSPOT_CLIENT_SECRET"),
            SettingSpec(name: "publicURL", summary: "The base URL HubSpot calls (defaults to the hub's --public-url); v3 signatures cover it"),
            SettingSpec(name: "allowLegacySignatures", summary: "Also accept v1/v2 signatures, which carry no timestamp (default false)"),
        ],
        routes: [
            .post("/api/webhooks/hubspot", summary: "HubSpot webhook subscriptions: a batch of up to 100 events") {
                (hubspot: HubSpotProvider, request) in
                try await hubspot.receiveWebhook(request)
            }.documented(request: .json(JSONSchema.array(JSONSchema.object())), responses: [200: nil]),
            .get("/api/hubspot/contacts/{id}/insight", summary: "Engagement of a contact, from stored events (admin token)") {
                (hubspot: HubSpotProvider, request) in
                try await hubspot.contactInsight(request)
            }.documented(responses: [200: .json(JSONSchema.object())], adminOnly: true),
        ],
        // The app's client secret both signs webhooks and authenticates the app at the token endpoint.
        oauth: OAuthSpec(
            authorizeURL: "https://app.hubspot.com/oauth/authorize", tokenURL: "https://api.hubapi.com/oauth/v1/token",
            revocation: OAuthRevocation(url: "https://api.hubapi.com/oauth/v1/refresh_tokens", style: .deleteRefreshToken),
            scopes: ["oauth", "crm.objects.contacts.read"], usesPKCE: false, clientSecretSetting: "clientSecret", environmentPrefix: "HUBSPOT"))

    /// HubSpot sends at most this many events in one request.
    static let maximumBatch = 100

    let signature: HubSpotSignature
    /// The configured public base URL, without a trailing slash; the signed URI is this plus the request target.
    let publicBaseURL: String
    let events: any EventSink
    let storedEvents: any EventReader
    let requireAdmin: @Sendable (Request) throws(HTTPError) -> Void
    let clock: any WallClock
    let verification: VerificationPolicy

    public init(context: ProviderContext) throws {
        let secret = try context.settings.required("clientSecret")
        guard var base = try context.settings.string("publicURL") ?? context.publicBaseURL,
            base.hasPrefix("https://") || base.hasPrefix("http://")
        else {
            throw ProviderSetupError(
                "HubSpot signs the full URL: set 'publicURL' or the hub's public URL (--public-url / ATOM_PUBLIC_URL) to an http(s) URL")
        }
        while base.hasSuffix("/") { base.removeLast() }
        publicBaseURL = base
        signature = HubSpotSignature(
            clientSecret: Array(secret.utf8), allowLegacy: try context.settings.bool("allowLegacySignatures") ?? false,
            window: .fiveMinutes, clock: context.clock)
        events = context.events
        storedEvents = context.storedEvents
        requireAdmin = context.requireAdmin
        clock = context.clock
        verification = context.verification
    }

    /// `POST /api/webhooks/hubspot`: verify against the public URL (never the Host header), then store
    /// each event of the batch once. The signature check runs under the hub's verification policy.
    func receiveWebhook(_ request: Request) async throws -> Response {
        try verification.check { () throws(HTTPError) in try signature.verify(request, uri: publicBaseURL + request.target) }
        _ = try await events.append(try Self.normalise(try request.jsonBody()))
        return .empty(200)
    }

    /// Splits a batch into events, deduplicated on eventId, subscriptionId, occurredAt and objectId.
    static func normalise(_ body: JSONValue) throws(HTTPError) -> [NewEvent] {
        guard let batch = body.arrayValue else { throw .badRequest("a HubSpot webhook body is a JSON array of events") }
        guard batch.count <= maximumBatch else {
            throw HTTPError(
                status: 400, error: "batch_too_large", detail: "HubSpot sends at most \(maximumBatch) events per request; this one has \(batch.count)"
            )
        }
        var events: [NewEvent] = []
        for (index, event) in batch.enumerated() {
            guard event.objectValue != nil, let eventID = event["eventId"] else {
                throw .badRequest("event \(index) is not an object with an eventId")
            }
            guard let type = event["subscriptionType"]?.stringValue ?? event["eventType"]?.stringValue else {
                throw .badRequest("event \(index) has neither subscriptionType nor eventType")
            }
            let key = [eventID, event["subscriptionId"], event["occurredAt"], event["objectId"]].map { $0.map(keyText) ?? "" }
            // Each event keeps its own element as raw body: the signature covered the batch, which would
            // otherwise be stored once per event.
            events.append(
                NewEvent(
                    externalID: key.joined(separator: ":"), type: type, occurredAt: event["occurredAt"]?.numberValue.map { $0 / 1000 },
                    rawBody: event.serialized(), payload: event))
        }
        return events
    }

    /// A dedupe key part: strings as they are, whole numbers without a fraction.
    private static func keyText(_ value: JSONValue) -> String {
        if case .number(let number) = value, number == number.rounded(), abs(number) < 1e15 { return String(Int64(number)) }
        return value.stringValue ?? value.jsonString
    }
}
