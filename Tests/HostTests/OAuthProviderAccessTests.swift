import Foundation
import PluginAPI
import PluginTesting
import Testing

@testable import Host

/// A provider that calls an API with the user's OAuth access token, as a real integration would.
final class OAuthProbeProvider: Provider {
    static let descriptor = ProviderDescriptor(
        id: "probe", displayName: "OAuth probe",
        routes: [
            .get("/api/probe/{user}/call") { (probe: OAuthProbeProvider, request) in try await probe.call(request) }
        ],
        oauth: OAuthSpec(
            authorizeURL: "https://probe.example/authorize", tokenURL: "https://probe.example/token", scopes: ["read"], usesPKCE: true,
            environmentPrefix: "PROBE"))

    let oauth: any OAuthTokenSource
    init(context: ProviderContext) throws { oauth = context.oauth }

    /// Stands for an outbound API call: it needs the user's token, and answers the typed error as a 409.
    func call(_ request: Request) async throws -> Response {
        do {
            let token = try await oauth.accessToken(userID: request.pathParameters["user"] ?? "")
            return .json(["called_with_token_of_length": .number(Double(token.count))])
        } catch {
            let code: String =
                switch error {
                case .notConnected: "not_connected"
                case .needsReauth: "needs_reauth"
                case .expired: "expired"
                case .notConfigured, .unavailable: "unavailable"
                }
            throw HTTPError(status: 409, error: code, detail: error.description)
        }
    }
}

/// A provider declaring a job kind with the name the host uses for its OAuth refresh.
final class ClashingRefreshProvider: Provider {
    static let descriptor = ProviderDescriptor(
        id: "clash", displayName: "Clash", routes: [], jobs: [.job("clash.oauth_refresh") { (_: ClashingRefreshProvider, _) in .success }],
        oauth: OAuthSpec(authorizeURL: "https://clash.example/a", tokenURL: "https://clash.example/t", scopes: [], usesPKCE: false, environmentPrefix: "CLASH"))
    init(context: ProviderContext) throws {}
}

@Suite("OAuth: providers reach tokens through their context")
struct OAuthProviderAccessTests {
    static let probe = OAuthCase(
        provider: "probe", secretVariable: "PROBE_OAUTH_CLIENT_SECRET", basicAuthentication: false, slackStyle: false, pkce: true, scope: "read",
        extraParameters: [:], settings: "")

    @Test("context.oauth hands out the access token, and after a refused refresh fails with needs_reauth")
    func contextAccessor() async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(Self.probe, clock: clock, providerTypes: [OAuthProbeProvider.self]) { hub, fake in
            let before = try await hub.request("GET", "/api/probe/alice/call")
            #expect(before.status == 409 && before.errorCode == "not_connected")
            _ = try await OAuthFixture.connect(hub, fake, Self.probe)
            let connected = try await hub.request("GET", "/api/probe/alice/call")
            #expect(try connected.status == 200 && connected.json()["called_with_token_of_length"]?.numberValue == Double(fake.latestAccessToken?.count ?? 0))

            fake.revokeAllRefreshTokens()
            clock.advance(by: 3300)
            _ = try await hub.hub.jobWorkers.runDueJobs()
            #expect(try await OAuthFixture.eventually { try await hub.request("GET", "/api/probe/alice/call").errorCode == "needs_reauth" })
            let refused = try await hub.request("GET", "/api/probe/alice/call")
            #expect(refused.text.contains("/oauth/probe/authorize"), "the error says how to fix it")
        }
    }

    @Test("A provider job kind named like the host's refresh kind stops startup, naming the provider")
    func refreshKindClash() throws {
        let error = #expect(throws: RouteConflictError.self) {
            _ = try TestHub(plugins: #"{"providers": {}}"#, providerTypes: [ClashingRefreshProvider.self])
        }
        #expect(error?.description.contains("provider 'clash'") == true && error?.description.contains("clash.oauth_refresh") == true)
    }
}
