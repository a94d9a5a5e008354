import PluginAPI

/// Any sender that signs with Standard Webhooks (standardwebhooks.com): one route per named source,
/// each with its own `whsec_` secret.
public final class GenericProvider: Provider {
    public static let descriptor = ProviderDescriptor(
        id: "generic",
        displayName: "Standard Webhooks",
        settings: [
            SettingSpec(
                name: "sources", summary: #"Each source's signing secret: {"billing": "whsec_..."}; values may be env:NAME"#, isSecret: true,
                isRequired: true)
        ],
        routes: [
            .post("/api/webhooks/generic/{source}", summary: "A Standard Webhooks delivery from a configured source") {
                (generic: GenericProvider, request) in
                try await generic.receive(request)
            }.documented(request: .json(), responses: [204: nil])
        ])

    private let signatures: [String: StandardWebhookSignature]
    private let clock: any WallClock
    private let events: any EventSink
    private let verification: VerificationPolicy

    public init(context: ProviderContext) throws {
        guard let value = context.settings["sources"] else {
            throw ProviderSetupError(#"missing setting 'sources' (an object of source names and secrets: {"billing": "whsec_..."})"#)
        }
        guard let sources = value.objectValue, !sources.members.isEmpty else {
            throw ProviderSetupError(#"setting 'sources' must be a non-empty object such as {"billing": "whsec_..."}"#)
        }
        var signatures: [String: StandardWebhookSignature] = [:]
        for (name, value) in sources.members {
            guard let text = value.stringValue else { throw ProviderSetupError("setting 'sources.\(name)' must be a string") }
            do {
                signatures[name] = try StandardWebhookSignature(secret: context.settings.resolve(text, setting: "sources.\(name)"))
            } catch let error as StandardWebhookSignature.SecretError {
                throw ProviderSetupError("setting 'sources.\(name)': \(error)")
            }
        }
        self.signatures = signatures
        clock = context.clock
        events = context.events
        verification = context.verification
    }

    /// `POST /api/webhooks/generic/{source}`: verify with the source's secret (under the hub's verification
    /// policy), then store the body once per `webhook-id`.
    func receive(_ request: Request) async throws -> Response {
        let source = request.pathParameters["source"] ?? ""
        guard let signature = signatures[source] else {
            throw HTTPError(status: 404, error: "unknown_source", detail: "no source named '\(source)' is configured for Standard Webhooks")
        }
        try verification.check { () throws(HTTPError) in try signature.verify(request, window: .fiveMinutes, now: clock.now()) }
        let body = try request.jsonBody()
        // Verified deliveries carry both signed headers; one let through unsigned (development only) may
        // lack them, and is then keyed by its content.
        let id = request.headers[StandardWebhookSignature.idHeader].flatMap { $0.isEmpty ? nil : $0 } ?? "sha256:" + Hex.encode(Digest.sha256(request.body))
        let event = NewEvent(
            externalID: "\(source)/\(id)", type: body["type"]?.stringValue ?? "webhook",
            occurredAt: request.headers[StandardWebhookSignature.timestampHeader].flatMap { Double($0) },
            rawBody: request.body, payload: ["source": .string(source), "webhook_id": .string(id), "body": body])
        _ = try await events.append([event])
        return .empty(204)
    }
}
