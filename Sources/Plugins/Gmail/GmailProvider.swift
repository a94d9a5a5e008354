import Foundation
import PluginAPI

/// Gmail: push notifications (`users.watch`) delivered by a Cloud Pub/Sub push subscription,
/// authenticated by the subscription's OIDC token.
///
/// Malformed envelopes are answered 400; Pub/Sub redelivers any non-2xx answer until the message
/// expires, which is acceptable for input that is malformed (it is logged and never stored).
public final class GmailProvider: Provider {
    static let path = "/api/webhooks/gmail"
    static let googleKeySet = "https://www.googleapis.com/oauth2/v3/certs"

    public static let descriptor = ProviderDescriptor(
        id: "gmail",
        displayName: "Gmail",
        settings: [
            SettingSpec(
                name: "serviceAccountEmail", summary: "The service account the push subscription authenticates as (its OIDC token's email)",
                environmentVariable: "GMAIL_PUSH_SERVICE_ACCOUNT", isRequired: true),
            SettingSpec(
                name: "audience", summary: "The push subscription's OIDC audience; defaults to the public URL of this endpoint",
                environmentVariable: "GMAIL_PUSH_AUDIENCE"),
            SettingSpec(name: "jwksURL", summary: "Where Google's signing keys are fetched (default \(googleKeySet))"),
            SettingSpec(name: "jwksFile", summary: "A local JWKS file used instead of jwksURL"),
            SettingSpec(
                name: "verificationToken", summary: "Optional legacy shared token, checked against ?token= in the push URL when set", isSecret: true,
                environmentVariable: "GMAIL_PUSH_VERIFICATION_TOKEN"),
            SettingSpec(name: "allowTokenOnly", summary: "true: accept the shared token alone, without the OIDC token (not recommended)"),
        ],
        routes: [
            .post(path, maxBodyBytes: 64 * 1024, summary: "Gmail push notification (Cloud Pub/Sub push)") { (gmail: GmailProvider, request) in
                try await gmail.receive(request)
            }.documented(
                request: .json(JSONSchema.object(["message": JSONSchema.object(["data": JSONSchema.string()]), "subscription": JSONSchema.string()])),
                responses: [204: nil])
        ],
        // Google OAuth 2.0: offline access and consent, so every connection gets a refresh token.
        oauth: OAuthSpec(
            authorizeURL: "https://accounts.google.com/o/oauth2/v2/auth", tokenURL: "https://oauth2.googleapis.com/token",
            revocation: OAuthRevocation(url: "https://oauth2.googleapis.com/revoke", style: .formToken),
            scopes: ["https://www.googleapis.com/auth/gmail.readonly"], usesPKCE: true,
            authorizeParameters: [OAuthParameter("access_type", "offline"), OAuthParameter("prompt", "consent"), OAuthParameter("include_granted_scopes", "true")],
            environmentPrefix: "GMAIL"))

    private let verificationToken: [UInt8]?
    private let pushToken: GooglePushToken?
    private let events: any EventSink
    private let logger: Logger
    private let verification: VerificationPolicy

    public init(context: ProviderContext) throws {
        let settings = context.settings
        verificationToken = try settings.string("verificationToken").map { Array($0.utf8) }
        events = context.events
        logger = context.logger
        verification = context.verification
        if try settings.bool("allowTokenOnly") == true {
            guard verificationToken != nil else {
                throw ProviderSetupError("allowTokenOnly needs verificationToken (or GMAIL_PUSH_VERIFICATION_TOKEN)")
            }
            pushToken = nil
            logger.warning("Gmail push requests are authenticated by the shared token alone (allowTokenOnly); prefer the OIDC token")
        } else {
            pushToken = GooglePushToken(
                keys: JWKSCache(source: try Self.keySource(settings), http: context.http, clock: context.clock, logger: context.logger.labelled("gmail.jwks")),
                audience: try Self.audience(settings, publicBaseURL: context.publicBaseURL, hasVerificationToken: verificationToken != nil),
                serviceAccountEmail: try settings.required("serviceAccountEmail"),
                clock: context.clock)
        }
    }

    private static func keySource(_ settings: ProviderSettings) throws(ProviderSetupError) -> JWKSCache.Source {
        switch (try settings.string("jwksURL"), try settings.string("jwksFile")) {
        case (.some, .some): throw ProviderSetupError("set jwksURL or jwksFile, not both")
        case (_, .some(let path)): return .file(path)
        case (let url, nil):
            let url = url ?? googleKeySet
            guard url.hasPrefix("https://") || isLoopback(url) else {
                throw ProviderSetupError("setting 'jwksURL' must be an https URL (plain http only to localhost): keys fetched in clear could be replaced in transit")
            }
            return .url(url)
        }
    }

    /// True for `http://127.0.0.1…`, `http://localhost…` and `http://[::1]…` (local key servers and tests).
    /// The URL is parsed, so `http://127.0.0.1:1@evil.example/` (userinfo, then another host) is not loopback.
    private static func isLoopback(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "http",
            components.user == nil, components.password == nil, let host = components.host?.lowercased()
        else { return false }
        return ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
    }

    private static func audience(_ settings: ProviderSettings, publicBaseURL: String?, hasVerificationToken: Bool) throws(ProviderSetupError) -> String {
        if let audience = try settings.string("audience"), !audience.isEmpty { return audience }
        // Pub/Sub's own default audience is the whole push URL, `?token=` included; the default below
        // would refuse every push. Make the operator say which audience the subscription uses.
        guard !hasVerificationToken else {
            throw ProviderSetupError(
                "with 'verificationToken' set, set 'audience' (or GMAIL_PUSH_AUDIENCE) too, to the push subscription's audience: a subscription without one uses its whole push URL, ?token= included"
            )
        }
        guard var base = publicBaseURL, !base.isEmpty else {
            throw ProviderSetupError(
                "missing setting 'audience' (set it, or GMAIL_PUSH_AUDIENCE, to the push subscription's audience; or configure the hub's public URL so it defaults to <public URL>\(path))"
            )
        }
        while base.hasSuffix("/") { base.removeLast() }
        return base + path
    }

    /// `POST /api/webhooks/gmail`: authenticate (under the hub's verification policy), decode, store
    /// once per Pub/Sub message id, answer 204.
    func receive(_ request: Request) async throws -> Response {
        try await verification.check { () async throws(HTTPError) in
            if let verificationToken {
                guard let token = request.queryParameters["token"], ConstantTime.equals(Array(token.utf8), verificationToken) else {
                    throw HTTPError.unauthorized("invalid_token", "the token query parameter is missing or wrong")
                }
            }
            try await pushToken?.verify(request)
        }
        let notification: GmailNotification
        do {
            notification = try GmailNotification(envelope: try request.jsonBody())
        } catch {
            logger.warning("refused a malformed Pub/Sub push", [("detail", error.detail)])
            throw error
        }
        _ = try await events.append([notification.event(rawBody: request.body)])
        return .empty(204)
    }
}
