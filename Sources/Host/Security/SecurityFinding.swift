import PluginAPI

/// One result of the security review: what was checked, how bad it is, and what to do.
struct SecurityFinding: Sendable {
    enum Severity: String, Sendable, Comparable {
        case ok, warning, critical

        private var rank: Int {
            switch self {
            case .ok: 0
            case .warning: 1
            case .critical: 2
            }
        }

        static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
    }

    let severity: Severity
    /// What was checked (`SECRET_KEY`, `provider slack`).
    let subject: String
    let message: String
    /// What to do about it; empty for `ok`.
    let recommendation: String

    static func ok(_ subject: String, _ message: String) -> SecurityFinding {
        SecurityFinding(severity: .ok, subject: subject, message: message, recommendation: "")
    }

    var json: JSONValue {
        ["severity": .string(severity.rawValue), "subject": .string(subject), "message": .string(message), "recommendation": .string(recommendation)]
    }
}
