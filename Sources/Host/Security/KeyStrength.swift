/// Strength rules for `SECRET_KEY`, `ENCRYPTION_KEY` and `ADMIN_TOKEN`: long enough, not a placeholder.
enum KeyStrength {
    /// The shortest acceptable key, in bytes (what `openssl rand -hex 32` gives is 64).
    static let minimumBytes = 32

    /// How to make a good key, quoted in every message about a weak one.
    static let howToGenerate = "generate one with: openssl rand -hex 32"

    /// Values copied from examples and templates; compared case-insensitively.
    static let placeholders: Set<String> = [
        "atom-secret-key-change-in-production", "your-secret-key-here-change-in-production", "your-secret-key-here",
        "your-secret-key", "your-encryption-key-here", "your-admin-token-here", "changeme", "change-me", "change_me",
        "secret", "secret-key", "secretkey", "password", "default", "test", "dev", "development", "production",
        "admin", "token", "key", "insecure", "example",
    ]

    enum Problem: Sendable, Equatable {
        case missing
        case placeholder
        case tooShort(bytes: Int)
        /// Fewer than 8 distinct characters (`aaaa…`, `0101…`).
        case lowVariety

        /// A sentence about `name` with this problem.
        func message(for name: String) -> String {
            switch self {
            case .missing: "\(name) is not set"
            case .placeholder: "\(name) is a known placeholder value"
            case .tooShort(let bytes): "\(name) is \(bytes) bytes; at least \(KeyStrength.minimumBytes) are required"
            case .lowVariety: "\(name) has fewer than 8 distinct characters"
            }
        }
    }

    /// What is wrong with `value`, or nil when it is acceptable.
    static func problem(_ value: String?) -> Problem? {
        guard let value, !value.isEmpty else { return .missing }
        let lowered = value.lowercased()
        if placeholders.contains(lowered) || lowered.contains("change-in-production") || lowered.contains("changeme") {
            return .placeholder
        }
        if value.utf8.count < minimumBytes { return .tooShort(bytes: value.utf8.count) }
        if Set(value.utf8).count < 8 { return .lowVariety }
        return nil
    }
}
