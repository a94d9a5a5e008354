/// How a provider's users connect their accounts with OAuth 2.0 (authorization code grant).
///
/// A provider declares it in its descriptor; the host runs the whole flow (authorize redirect, state,
/// PKCE, code exchange, encrypted token storage, refresh, revocation). Endpoint URLs may contain
/// placeholders such as `{tenant}`, filled from settings. Every URL can be overridden in settings
/// (`oauthAuthorizeURL`, `oauthTokenURL`, `oauthRevokeURL`), so tests point them at a local fake.
///
/// ```swift
/// oauth: OAuthSpec(
///     authorizeURL: "https://accounts.google.com/o/oauth2/v2/auth", tokenURL: "https://oauth2.googleapis.com/token",
///     scopes: ["https://www.googleapis.com/auth/gmail.readonly"], usesPKCE: true, environmentPrefix: "GMAIL")
/// ```
public struct OAuthSpec: Sendable {
    /// The authorization endpoint the user's browser is sent to.
    public var authorizeURL: String
    /// The token endpoint (code exchange and refresh).
    public var tokenURL: String
    /// How tokens are revoked when a connection is deleted; nil when the provider has no revocation endpoint.
    public var revocation: OAuthRevocation?
    /// Scopes requested unless the `oauthScopes` setting lists others.
    public var scopes: [String]
    /// How scopes are joined in the `scope` parameter (a space, or Slack's comma).
    public var scopeSeparator: String
    /// Whether the provider supports PKCE (RFC 7636); the host then always sends an S256 challenge.
    public var usesPKCE: Bool
    /// How the client authenticates at the token endpoint.
    public var clientAuthentication: OAuthClientAuthentication
    /// Whether code exchanges and refreshes repeat the `scope` (Microsoft identity platform v2 expects it).
    public var sendsScopeToTokenEndpoint: Bool
    /// Extra parameters of the authorize redirect (Google's `access_type=offline`).
    public var authorizeParameters: [OAuthParameter]
    /// Placeholders in the endpoint URLs and the settings that fill them.
    public var placeholders: [OAuthPlaceholder]
    /// The setting holding the client id (default `oauthClientID`).
    public var clientIDSetting: String
    /// The setting holding the client secret (default `oauthClientSecret`; HubSpot shares its webhook `clientSecret`).
    public var clientSecretSetting: String
    /// Prefix of the environment fallbacks: `SLACK` reads `SLACK_OAUTH_CLIENT_ID` and `SLACK_OAUTH_CLIENT_SECRET`.
    public var environmentPrefix: String

    public init(
        authorizeURL: String, tokenURL: String, revocation: OAuthRevocation? = nil, scopes: [String], scopeSeparator: String = " ",
        usesPKCE: Bool, clientAuthentication: OAuthClientAuthentication = .formBody, sendsScopeToTokenEndpoint: Bool = false,
        authorizeParameters: [OAuthParameter] = [],
        placeholders: [OAuthPlaceholder] = [], clientIDSetting: String = "oauthClientID", clientSecretSetting: String = "oauthClientSecret",
        environmentPrefix: String
    ) {
        self.authorizeURL = authorizeURL
        self.tokenURL = tokenURL
        self.revocation = revocation
        self.scopes = scopes
        self.scopeSeparator = scopeSeparator
        self.usesPKCE = usesPKCE
        self.clientAuthentication = clientAuthentication
        self.sendsScopeToTokenEndpoint = sendsScopeToTokenEndpoint
        self.authorizeParameters = authorizeParameters
        self.placeholders = placeholders
        self.clientIDSetting = clientIDSetting
        self.clientSecretSetting = clientSecretSetting
        self.environmentPrefix = environmentPrefix
    }

    /// The settings the OAuth flow reads; the descriptor adds those the provider does not declare itself.
    public var settingSpecs: [SettingSpec] {
        [
            SettingSpec(name: clientIDSetting, summary: "OAuth client id", environmentVariable: "\(environmentPrefix)_OAUTH_CLIENT_ID"),
            SettingSpec(
                name: clientSecretSetting, summary: "OAuth client secret (use env: or secret:)", isSecret: true,
                environmentVariable: "\(environmentPrefix)_OAUTH_CLIENT_SECRET"),
            SettingSpec(name: "oauthScopes", summary: "Scopes to request, separated by spaces or commas (default \(scopes.joined(separator: " ")))"),
            SettingSpec(name: "oauthAuthorizeURL", summary: "Authorization endpoint (default \(authorizeURL))"),
            SettingSpec(name: "oauthTokenURL", summary: "Token endpoint (default \(tokenURL))"),
            SettingSpec(name: "oauthRevokeURL", summary: "Revocation endpoint (default \(revocation?.url ?? "none"))"),
        ] + placeholders.map { SettingSpec(name: $0.setting, summary: "\($0.summary) (default \($0.defaultValue))") }
    }
}

/// A name and value of a query or form parameter.
public struct OAuthParameter: Sendable, Equatable {
    public var name: String
    public var value: String
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// A `{name}` in an endpoint URL, filled from a setting (letters, digits, `.` and `-` only).
public struct OAuthPlaceholder: Sendable {
    public var name: String
    public var setting: String
    public var defaultValue: String
    public var summary: String
    public init(name: String, setting: String, defaultValue: String, summary: String) {
        self.name = name
        self.setting = setting
        self.defaultValue = defaultValue
        self.summary = summary
    }
}

/// How the client proves itself at the token endpoint.
public enum OAuthClientAuthentication: Sendable {
    /// `Authorization: Basic` with the form-encoded id and secret (RFC 6749 §2.3.1, `client_secret_basic`).
    case basic
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    case formBody
}

/// A provider's token revocation endpoint and how it is called.
public struct OAuthRevocation: Sendable {
    public enum Style: Sendable {
        /// RFC 7009: `POST url` with the form `token=<refresh token, else access token>` (Google).
        case formToken
        /// `POST url` with `Authorization: Bearer <access token>` (Slack's `auth.revoke`).
        case bearerAccessToken
        /// `DELETE url/<refresh token>` (HubSpot's `oauth/v1/refresh_tokens/{token}`).
        case deleteRefreshToken
    }

    public var url: String
    public var style: Style
    public init(url: String, style: Style) {
        self.url = url
        self.style = style
    }
}
