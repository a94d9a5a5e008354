import PluginAPI

/// The `state` of an authorization: 32 random bytes (base64url), single use, stored only as its SHA-256.
///
/// The PKCE verifier is sealed (AES-256-GCM) under a key derived from the state by HMAC, so the
/// database row alone cannot reveal it, and the state alone (which the browser sees) is not the verifier.
enum OAuthState {
    /// How long an authorization may take, in seconds.
    static let lifetime: Double = 600

    /// A new random state.
    static func make() -> String { Base64.encodeURLSafe(SecureRandom.bytes(32)) }

    /// A new random PKCE verifier (43 characters).
    static func makeVerifier() -> String { Base64.encodeURLSafe(SecureRandom.bytes(32)) }

    /// What is stored to find the state again: hex SHA-256.
    static func hash(_ state: String) -> String { Hex.encode(Digest.sha256(Array(state.utf8))) }

    static func sealVerifier(_ verifier: String, state: String) -> AESGCM.Sealed {
        AESGCM.seal(Array(verifier.utf8), key: verifierKey(state), associatedData: Array(hash(state).utf8))
    }

    /// The verifier sealed with `state`; nil when it does not open (never for a state found by its hash).
    static func openVerifier(_ sealed: AESGCM.Sealed, state: String) -> String? {
        guard let bytes = try? AESGCM.open(sealed, key: verifierKey(state), associatedData: Array(hash(state).utf8)) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func verifierKey(_ state: String) -> [UInt8] {
        Digest.hmacSHA256(key: Array(state.utf8), message: Array("atom-hub oauth pkce verifier".utf8))
    }
}
