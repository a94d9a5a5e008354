/// The security review's checks of the OAuth configuration.
extension SecurityReview {
    /// The variable that lets OAuth create unknown users on the fly (development only).
    static let temporaryUsersVariable = "ALLOW_DEV_TEMP_USERS"

    /// True only with `ALLOW_DEV_TEMP_USERS=true` under development rules.
    var allowsTemporaryUsers: Bool { !deployment.isProduction && environment[Self.temporaryUsersVariable] == "true" }

    /// Critical under production rules whatever its value (startup is refused); a loud warning in development.
    func temporaryUserFindings() -> [SecurityFinding] {
        guard let value = environment[Self.temporaryUsersVariable], !value.isEmpty else { return [] }
        let subject = Self.temporaryUsersVariable
        if deployment.isProduction {
            return [SecurityFinding(severity: .critical, subject: subject, message: "is set under production rules: users must be created by an admin", recommendation: "remove \(subject) from the production environment")]
        }
        if allowsTemporaryUsers {
            return [SecurityFinding(severity: .warning, subject: subject, message: "TEMPORARY USERS: /oauth/{provider}/authorize accepts a bare user_id without an admin-issued link, and creates unknown users on the fly (each is logged and audited)", recommendation: "unset \(subject) and create users with POST /api/admin/users")]
        }
        return [SecurityFinding(severity: .warning, subject: subject, message: "is ignored: only the value true enables temporary users", recommendation: "unset \(subject)")]
    }

    /// A warning when providers have OAuth clients configured but tokens could not be stored
    /// (production rules without `ENCRYPTION_KEY`): their authorize routes answer 503.
    func oauthKeyFindings() -> [SecurityFinding] {
        guard deployment.isProduction, vault.keySource.passphrase == nil else { return [] }
        let configured = providerTypes.filter { type in
            guard let spec = type.descriptor.oauth, let entry = configuration.providers[type.descriptor.id], entry.enabled else { return false }
            return (try? settings(for: type, entry: entry).string(spec.clientIDSetting)) != nil  // Unresolvable counts as not configured.
        }
        guard !configured.isEmpty else { return [] }
        return [
            SecurityFinding(
                severity: .warning, subject: "OAuth",
                message: "\(configured.map { $0.descriptor.id }.joined(separator: ", ")) \(configured.count == 1 ? "has" : "have") OAuth clients, but without ENCRYPTION_KEY no token can be stored: /oauth/*/authorize answers 503",
                recommendation: "set ENCRYPTION_KEY; \(KeyStrength.howToGenerate)")
        ]
    }

    /// A warning for entries of `OAUTH_ALLOWED_REDIRECT_URIS` that can never match (not absolute http(s), or with a fragment).
    func redirectURIFindings() -> [SecurityFinding] {
        let ignored = OAuthService.redirectURIs(environment[OAuthService.allowedRedirectsVariable]).ignored
        guard !ignored.isEmpty else { return [] }
        return [
            SecurityFinding(
                severity: .warning, subject: OAuthService.allowedRedirectsVariable,
                message: "ignores \(ignored.count) entr\(ignored.count == 1 ? "y" : "ies") that \(ignored.count == 1 ? "is" : "are") not an absolute http(s) URL without a fragment: \(ignored.map { String($0.prefix(80)) }.joined(separator: ", "))",
                recommendation: "list the exact URIs your app returns users to, such as https://app.example.com/settings/connected")
        ]
    }
}
