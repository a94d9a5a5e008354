import PluginAPI
import PluginTesting
import Testing

@Suite("OAuth primitives: PKCE, form encoding, descriptor settings")
struct OAuthPrimitivesTests {
    @Test("PKCE S256 matches RFC 7636 Appendix B")
    func pkceVector() {
        #expect(PKCE.challenge(for: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
        #expect(PKCE.isValidVerifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"))
        #expect(!PKCE.isValidVerifier("too-short"))
        #expect(!PKCE.isValidVerifier(String(repeating: "a", count: 42) + "+"))
    }

    @Test("Form encoding escapes everything but unreserved characters and round-trips through the decoder")
    func formEncoding() {
        let pairs = [("scope", "chat:write,channels:read offline_access"), ("redirect_uri", "https://h.example/cb?a=1&b=2"), ("ü", "~._-")]
        let encoded = FormURLEncoded.encode(pairs)
        #expect(encoded == "scope=chat%3Awrite%2Cchannels%3Aread%20offline_access&redirect_uri=https%3A%2F%2Fh.example%2Fcb%3Fa%3D1%26b%3D2&%C3%BC=~._-")
        #expect(FormURLEncoded.decode(encoded).map { [$0.name, $0.value] } == pairs.map { [$0.0, $0.1] })
    }

    @Test("A descriptor with OAuth gains the OAuth settings it does not declare itself")
    func descriptorSettings() {
        let spec = OAuthSpec(authorizeURL: "https://a.example/auth", tokenURL: "https://a.example/token", scopes: ["x"], usesPKCE: true, clientSecretSetting: "clientSecret", environmentPrefix: "DEMO")
        let descriptor = ProviderDescriptor(id: "demo", displayName: "Demo", settings: [.secret("clientSecret", summary: "shared")], routes: [], oauth: spec)
        #expect(descriptor.settings.map(\.name) == ["clientSecret", "oauthClientID", "oauthScopes", "oauthAuthorizeURL", "oauthTokenURL", "oauthRevokeURL"])
        #expect(descriptor.settings.first { $0.name == "oauthClientID" }?.environmentVariable == "DEMO_OAUTH_CLIENT_ID")
    }

    @Test("A context without OAuth refuses with notConfigured; FixedOAuthTokens answers from its table")
    func tokenSources() async throws {
        let context = ProviderContext(
            providerID: "demo", settings: ProviderSettings(values: [:], specs: [], environment: { _ in nil }, secrets: { _ in nil }),
            events: RecordingEventLog(clock: SystemClock()).access(for: "demo"), logger: .disabled, clock: SystemClock(), http: NoHTTP(), publicBaseURL: nil)
        await #expect(throws: OAuthTokenError.notConfigured(provider: "demo")) { try await context.oauth.accessToken(userID: "alice") }
        let tokens = FixedOAuthTokens(provider: "demo", ["alice": .success("t"), "bob": .failure(.needsReauth(provider: "demo", userID: "bob", connectionID: 2))])
        #expect(try await tokens.accessToken(userID: "alice") == "t")
        await #expect(throws: OAuthTokenError.needsReauth(provider: "demo", userID: "bob", connectionID: 2)) { try await tokens.accessToken(userID: "bob") }
        await #expect(throws: OAuthTokenError.notConnected(provider: "demo", userID: "carol")) { try await tokens.accessToken(userID: "carol") }
    }
}

/// An HTTP client that never reaches anything.
private struct NoHTTP: HTTPClient {
    func send(_ request: OutboundRequest) async throws -> OutboundResponse { throw OutboundError(url: request.url, reason: "offline") }
}
