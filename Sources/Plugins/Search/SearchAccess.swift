import PluginAPI

/// Who may query: the hub's admin token (every workspace) or a per-workspace token from the
/// `workspaceTokens` setting (that workspace only). Tokens are compared in constant time.
struct SearchAccess: Sendable {
    /// Workspace id and token.
    let workspaceTokens: [(workspace: String, token: String)]
    let requireAdmin: @Sendable (Request) throws(HTTPError) -> Void
    let refuseBlockedCaller: @Sendable (Request) throws(HTTPError) -> Void

    /// The workspace the caller is limited to, nil for the admin; 401/403 otherwise (admin failures
    /// go through the hub's admin gate, which audits them and rate-limits repeat offenders).
    func authorize(_ request: Request) throws(HTTPError) -> String? {
        try refuseBlockedCaller(request)  // Before comparing: a blocked address may not keep guessing workspace tokens.
        if let header = request.headers["Authorization"], header.count > 7, header.prefix(7).lowercased() == "bearer " {
            let presented = String(header.dropFirst(7))
            var match: String?
            for entry in workspaceTokens where ConstantTime.equals(presented, entry.token) { match = entry.workspace }
            if let match { return match }
        }
        try requireAdmin(request)
        return nil
    }

    /// The workspace a request may act on: the caller's own (when limited), or what it asked for.
    static func scope(_ requested: String?, allowed: String?) throws(HTTPError) -> String? {
        guard let allowed else { return requested }
        if let requested, requested != allowed {
            throw HTTPError(status: 403, error: "forbidden", detail: "this token is limited to workspace '\(allowed)'")
        }
        return allowed
    }

    /// Reads `workspaceTokens` (`{"W1": "env:TOKEN_W1", …}`), resolving references.
    static func tokens(from settings: ProviderSettings) throws(ProviderSetupError) -> [(workspace: String, token: String)] {
        guard let value = settings["workspaceTokens"] else { return [] }
        guard let object = value.objectValue else { throw ProviderSetupError("setting 'workspaceTokens' must be an object of workspace id → token") }
        var tokens: [(workspace: String, token: String)] = []
        for member in object.members {
            guard SearchValidation.isIdentifier(member.key) else { throw ProviderSetupError("setting 'workspaceTokens': '\(member.key)' is not a valid workspace id") }
            guard let text = member.value.stringValue else { throw ProviderSetupError("setting 'workspaceTokens.\(member.key)' must be a string") }
            let token = try settings.resolve(text, setting: "workspaceTokens.\(member.key)")
            guard token.utf8.count >= 16 else { throw ProviderSetupError("setting 'workspaceTokens.\(member.key)' must be at least 16 characters") }
            tokens.append((member.key, token))
        }
        return tokens
    }
}
