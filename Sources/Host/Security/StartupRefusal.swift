/// The hub will not start: production with a critical security finding (exit 78).
struct StartupRefusal: Error, CustomStringConvertible {
    let findings: [SecurityFinding]

    var description: String {
        "refusing to start:\n"
            + findings.map { "  - \($0.subject): \($0.message)" + ($0.recommendation.isEmpty ? "" : " (\($0.recommendation))") }.joined(separator: "\n")
    }
}
