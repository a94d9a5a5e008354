/// Why the secrets store refused or failed; every case is loud, none yields empty data.
enum SecretStoreError: Error, CustomStringConvertible, Equatable {
    /// Production without `ENCRYPTION_KEY`: nothing is stored or read.
    case noEncryptionKey
    /// Under production rules, a key that is a placeholder, too short or too uniform.
    case weakKey(variable: String, problem: KeyStrength.Problem)
    /// A command needs a variable that is not set (`OLD_ENCRYPTION_KEY` for rotation).
    case missingVariable(String, purpose: String)
    /// `ENCRYPTION_KEY` (or `OLD_ENCRYPTION_KEY`) does not unlock the store's key `keyID`.
    case wrongKey(keyID: String, variable: String)
    /// A stored value failed authentication: its bytes, nonce or name were altered.
    case tampered(name: String)
    /// A value names a key the store does not hold.
    case unknownKey(name: String, keyID: String)
    /// Rotation needs an existing key to rotate from.
    case nothingToRotate
    /// The store changed while the command ran (another `secrets` command); run it again.
    case concurrentChange
    case invalidName(String)
    case notUTF8(name: String)

    var description: String {
        switch self {
        case .noEncryptionKey:
            "ENCRYPTION_KEY is not set; in production the secrets store needs it (\(KeyStrength.howToGenerate))"
        case .weakKey(let variable, let problem):
            "\(problem.message(for: variable)); production rules refuse it (\(KeyStrength.howToGenerate))"
        case .missingVariable(let variable, let purpose):
            "\(variable) is not set; it must hold \(purpose)"
        case .wrongKey(let keyID, let variable):
            "\(variable) does not unlock the secrets store (key \(keyID)); it is not the key the secrets were encrypted with"
        case .tampered(let name):
            "secret '\(name)' failed authentication: its stored bytes were altered or belong to another name"
        case .unknownKey(let name, let keyID):
            "secret '\(name)' is encrypted with key \(keyID), which is not in the store"
        case .nothingToRotate:
            "the store has no key yet, so there is nothing to rotate"
        case .concurrentChange:
            "the secrets store changed while this command ran; run it again"
        case .invalidName(let name):
            "'\(name.prefix(64))' is not a valid secret name (1–128 of A–Z a–z 0–9 _ . -)"
        case .notUTF8(let name):
            "secret '\(name)' is not valid UTF-8"
        }
    }

    /// True for errors an operator fixes in the environment (exit 78 rather than 1).
    var isConfiguration: Bool {
        switch self {
        case .noEncryptionKey, .weakKey, .missingVariable, .wrongKey: true
        default: false
        }
    }

    /// Checks a secret name: 1–128 ASCII letters, digits, `_`, `.`, `-`.
    static func validate(name: String) throws(SecretStoreError) {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
        guard allowed, (1...128).contains(name.utf8.count) else { throw .invalidName(name) }
    }
}
