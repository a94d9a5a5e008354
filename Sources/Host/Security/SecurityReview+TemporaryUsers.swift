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
            return [SecurityFinding(severity: .warning, subject: subject, message: "TEMPORARY USERS: any user_id at /oauth/{provider}/authorize is created on the fly (each one is logged and audited)", recommendation: "unset \(subject) and create users with POST /api/admin/users")]
        }
        return [SecurityFinding(severity: .warning, subject: subject, message: "is ignored: only the value true enables temporary users", recommendation: "unset \(subject)")]
    }
}
