import Foundation
import PluginAPI
import Synchronization

/// A local OAuth 2.0 provider on a ``FakeServer``: an authorization endpoint that consents at once and
/// redirects with a code; a token endpoint that checks the client's credentials (Basic or form), the
/// code, its `redirect_uri` and the PKCE verifier against the challenge (S256), and refreshes; and a
/// revocation endpoint in the three styles the hub uses. Paths end in `/authorize`, `/token`, `/revoke`.
final class FakeOAuthServer: Sendable {
    struct Configuration: Sendable {
        var clientID: String
        var clientSecret: String
        /// Basic auth (Slack) instead of form credentials.
        var basicAuthentication = false
        /// Errors as Slack sends them: 200 with `{"ok": false, "error": ...}`.
        var slackStyle = false
        var expiresIn: Int? = 3600
        var issuesRefreshTokens = true
    }

    /// One code exchange the token endpoint accepted.
    struct Exchange: Sendable {
        let clientID: String
        /// True when a challenge was sent and the verifier matched it; nil when no challenge was sent.
        let pkceVerified: Bool?
    }

    struct Grant {
        let clientID: String
        let redirectURI: String
        let challenge: String?
        var used = false
    }

    struct State {
        var codes: [String: Grant] = [:]
        var validRefreshTokens: Set<String> = []
        var issued: [String] = []
        var verifiers: [String] = []
        var exchanges: [Exchange] = []
        var refreshes = 0
        var revoked: [String] = []
        var authorizePaths: [String] = []
        /// The `scope` of each token request (nil when absent).
        var tokenRequestScopes: [String?] = []
        /// When set, the token endpoint answers every request with this instead.
        var tokenAnswer: Response?
    }

    let configuration: Configuration
    private let core: Core
    private let server: FakeServer

    init(_ configuration: Configuration) throws {
        self.configuration = configuration
        let core = Core(configuration)
        self.core = core
        server = try FakeServer { request in core.handle(request) }
    }

    func url(_ path: String) -> String { server.url(path) }
    var port: Int { server.port }
    func stop() async { await server.stop() }

    /// Every access and refresh token issued so far.
    var issuedTokens: [String] { core.state.withLock { $0.issued } }
    /// Every PKCE verifier received.
    var receivedVerifiers: [String] { core.state.withLock { $0.verifiers } }
    var exchanges: [Exchange] { core.state.withLock { $0.exchanges } }
    var refreshCount: Int { core.state.withLock { $0.refreshes } }
    var revokedTokens: [String] { core.state.withLock { $0.revoked } }
    var authorizePaths: [String] { core.state.withLock { $0.authorizePaths } }
    var tokenRequestScopes: [String?] { core.state.withLock { $0.tokenRequestScopes } }
    /// The newest access token issued.
    var latestAccessToken: String? { core.state.withLock { $0.issued.last { $0.hasPrefix("fake-access-") } } }

    /// Makes the token endpoint answer every request with `response` (nil: behave again).
    func answerTokenRequests(with response: Response?) { core.state.withLock { $0.tokenAnswer = response } }

    /// The user revokes the app: every refresh token stops working.
    func revokeAllRefreshTokens() { core.state.withLock { $0.validRefreshTokens.removeAll() } }
}

/// The fake's endpoints and their state, shared with the server's handler.
private final class Core: Sendable {
    let configuration: FakeOAuthServer.Configuration
    let state = Mutex(FakeOAuthServer.State())

    init(_ configuration: FakeOAuthServer.Configuration) { self.configuration = configuration }

    func handle(_ request: Request) -> Response {
        if request.path.hasSuffix("/authorize") { return authorize(request) }
        if request.path.hasSuffix("/token") { return token(request) }
        if request.path.contains("/revoke") { return revoke(request) }
        return .empty(404)
    }

    /// Consents at once: 302 to `redirect_uri` with a new code and the state.
    private func authorize(_ request: Request) -> Response {
        let query = request.queryParameters
        guard query["client_id"] == configuration.clientID, let redirectURI = query["redirect_uri"], let state = query["state"] else {
            return .json(["error": "invalid_request"], status: 400)
        }
        let code = "fake-code-\(UUID().uuidString)"
        let challenge = query["code_challenge_method"] == "S256" ? query["code_challenge"] : nil
        self.state.withLock {
            $0.codes[code] = FakeOAuthServer.Grant(clientID: configuration.clientID, redirectURI: redirectURI, challenge: challenge)
            $0.authorizePaths.append(request.path)
        }
        let location = redirectURI + "?" + FormURLEncoded.encode([("code", code), ("state", state)])
        return Response(status: 302, headers: ["Location": location])
    }

    private func token(_ request: Request) -> Response {
        if let answer = state.withLock({ $0.tokenAnswer }) { return answer }
        let form = Dictionary(FormURLEncoded.decode(String(decoding: request.body, as: UTF8.self)).map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        guard authenticated(request, form: form) else { return failure("invalid_client", status: 401) }
        state.withLock { $0.tokenRequestScopes.append(form["scope"]) }
        switch form["grant_type"] {
        case "authorization_code":
            let outcome: Result<FakeOAuthServer.Exchange, TokenFailure> = state.withLock { state in
                guard let code = form["code"], var grant = state.codes[code], !grant.used else { return .failure(TokenFailure(code: "invalid_grant")) }
                guard form["redirect_uri"] == grant.redirectURI else { return .failure(TokenFailure(code: "invalid_grant")) }
                var verified: Bool?
                if let challenge = grant.challenge {
                    guard let verifier = form["code_verifier"], PKCE.isValidVerifier(verifier), PKCE.challenge(for: verifier) == challenge else {
                        return .failure(TokenFailure(code: "invalid_grant"))
                    }
                    state.verifiers.append(verifier)
                    verified = true
                }
                grant.used = true
                state.codes[code] = grant
                let exchange = FakeOAuthServer.Exchange(clientID: grant.clientID, pkceVerified: verified)
                state.exchanges.append(exchange)
                return .success(exchange)
            }
            if case .failure(let failure) = outcome { return self.failure(failure.code, status: 400) }
            return issue()
        case "refresh_token":
            let valid = state.withLock { state in
                guard let token = form["refresh_token"], state.validRefreshTokens.contains(token) else { return false }
                state.refreshes += 1
                return true
            }
            return valid ? issue() : failure(configuration.slackStyle ? "invalid_refresh_token" : "invalid_grant", status: 400)
        default:
            return failure("unsupported_grant_type", status: 400)
        }
    }

    struct TokenFailure: Error {
        let code: String
    }

    private func authenticated(_ request: Request, form: [String: String]) -> Bool {
        if configuration.basicAuthentication {
            guard let header = request.headers["Authorization"], header.hasPrefix("Basic "), let decoded = Base64.decode(header.dropFirst(6)) else { return false }
            let parts = String(decoding: decoded, as: UTF8.self).split(separator: ":", maxSplits: 1).map { FormURLEncoded.percentDecode($0, plusAsSpace: true) }
            return parts == [configuration.clientID, configuration.clientSecret] && form["client_secret"] == nil
        }
        return form["client_id"] == configuration.clientID && form["client_secret"] == configuration.clientSecret
    }

    private func issue() -> Response {
        let access = "fake-access-\(UUID().uuidString)"
        let refresh = configuration.issuesRefreshTokens ? "fake-refresh-\(UUID().uuidString)" : nil
        state.withLock { state in
            state.issued.append(access)
            if let refresh {
                state.issued.append(refresh)
                state.validRefreshTokens.insert(refresh)
            }
        }
        var body: JSONObject = ["access_token": .string(access), "token_type": "Bearer", "scope": "granted.scope"]
        if configuration.slackStyle { body["ok"] = true }
        if let refresh { body["refresh_token"] = .string(refresh) }
        if let expiresIn = configuration.expiresIn { body["expires_in"] = .number(Double(expiresIn)) }
        return .json(.object(body))
    }

    private func failure(_ code: String, status: Int) -> Response {
        configuration.slackStyle ? .json(["ok": false, "error": .string(code)]) : .json(["error": .string(code)], status: status)
    }

    /// `POST …/revoke` with `token=` or a bearer token, or `DELETE …/revoke/<token>`.
    private func revoke(_ request: Request) -> Response {
        let form = Dictionary(FormURLEncoded.decode(String(decoding: request.body, as: UTF8.self)).map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        let token: String? =
            if request.method == .DELETE { FormURLEncoded.percentDecode(request.path.split(separator: "/").last ?? "", plusAsSpace: false) }
            else if let bearer = request.headers["Authorization"], bearer.hasPrefix("Bearer ") { String(bearer.dropFirst(7)) }
            else { form["token"] }
        guard let token else { return .json(["error": "invalid_request"], status: 400) }
        state.withLock { state in
            state.revoked.append(token)
            state.validRefreshTokens.remove(token)
        }
        return configuration.slackStyle ? .json(["ok": true, "revoked": true]) : .empty(request.method == .DELETE ? 204 : 200)
    }
}
