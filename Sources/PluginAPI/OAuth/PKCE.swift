/// Proof Key for Code Exchange (RFC 7636), S256 only: the host sends the challenge with the authorize
/// redirect and the verifier with the code exchange; a stolen code is useless without the verifier.
public enum PKCE {
    /// The S256 challenge of `verifier`: base64url(SHA-256(verifier)) without padding.
    public static func challenge(for verifier: String) -> String {
        Base64.encodeURLSafe(Digest.sha256(Array(verifier.utf8)))
    }

    /// Whether `verifier` is well formed: 43–128 characters of `A–Z a–z 0–9 - . _ ~`.
    public static func isValidVerifier(_ verifier: String) -> Bool {
        (43...128).contains(verifier.utf8.count) && verifier.utf8.allSatisfy(FormURLEncoded.isUnreserved)
    }
}
