import Foundation
import PluginAPI

/// One provider's OAuth client as configured: its declared ``OAuthSpec`` with the settings filled in
/// (client id and secret, scopes, endpoint overrides, placeholders). Resolved on each use, so a
/// changed environment is seen without a restart, as for providers.
struct OAuthClient: Sendable {
    let providerID: String
    let spec: OAuthSpec
    let clientID: String
    let clientSecret: String
    let scopes: [String]
    let authorizeURL: String
    let tokenURL: String
    let revokeURL: String?

    /// Resolves `spec` with `settings`; 503 `oauth_not_configured` naming what is missing or invalid.
    static func resolve(providerID: String, spec: OAuthSpec, settings: ProviderSettings) throws(HTTPError) -> OAuthClient {
        do throws(ProviderSetupError) {
            let clientID = try settings.required(spec.clientIDSetting)
            let clientSecret = try settings.required(spec.clientSecretSetting)
            var scopes = spec.scopes
            if let text = try settings.string("oauthScopes") {
                scopes = text.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
            }
            var values: [String: String] = [:]
            for placeholder in spec.placeholders {
                let value = try settings.string(placeholder.setting) ?? placeholder.defaultValue
                guard (1...128).contains(value.utf8.count), value.utf8.allSatisfy({ FormURLEncoded.isUnreserved($0) && $0 != UInt8(ascii: "~") }) else {
                    throw ProviderSetupError("setting '\(placeholder.setting)' may hold only letters, digits, '.', '_' and '-'")
                }
                values[placeholder.name] = value
            }
            func endpoint(_ setting: String, _ declared: String?) throws(ProviderSetupError) -> String? {
                guard var url = try settings.string(setting) ?? declared else { return nil }
                for (name, value) in values { url = url.replacingOccurrences(of: "{\(name)}", with: value) }
                guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme?.lowercased() ?? ""),
                    components.host?.isEmpty == false
                else { throw ProviderSetupError("setting '\(setting)' must be an absolute http(s) URL") }
                return url
            }
            let authorizeURL = try endpoint("oauthAuthorizeURL", spec.authorizeURL) ?? spec.authorizeURL
            let tokenURL = try endpoint("oauthTokenURL", spec.tokenURL) ?? spec.tokenURL
            let revokeURL = try endpoint("oauthRevokeURL", spec.revocation?.url)
            return OAuthClient(
                providerID: providerID, spec: spec, clientID: clientID, clientSecret: clientSecret, scopes: scopes, authorizeURL: authorizeURL,
                tokenURL: tokenURL, revokeURL: revokeURL)
        } catch {
            throw HTTPError(
                status: 503, error: "oauth_not_configured", detail: "OAuth for '\(providerID)' is not configured: \(error.reason)",
                extra: ["provider": .string(providerID)])
        }
    }

    /// The browser redirect to the provider's consent page.
    func authorizationRedirect(callbackURL: String, state: String, codeChallenge: String?) -> String {
        var pairs: [(name: String, value: String)] = [
            ("response_type", "code"), ("client_id", clientID), ("redirect_uri", callbackURL),
            ("scope", scopes.joined(separator: spec.scopeSeparator)), ("state", state),
        ]
        if let codeChallenge { pairs += [("code_challenge", codeChallenge), ("code_challenge_method", "S256")] }
        pairs += spec.authorizeParameters.map { ($0.name, $0.value) }
        return authorizeURL + (authorizeURL.contains("?") ? "&" : "?") + FormURLEncoded.encode(pairs)
    }
}
