/// A JSON Web Key Set (RFC 7517 §5) reduced to the RSA signing keys usable for RS256, by `kid`.
///
/// A key is kept when `kty` is `RSA`, it has a `kid`, `use` is absent or `sig`, `alg` is absent or
/// `RS256`, and `n` and `e` make a valid key. Other entries are skipped (with the reason in
/// ``skipped``) rather than failing the whole set, as a set may hold keys for other algorithms.
public struct JWKSet: Sendable {
    /// The usable keys by `kid`.
    public let keys: [String: RSAPublicKey]
    /// One line per skipped entry saying why, for the log.
    public let skipped: [String]

    /// Parses a key set document; throws when it is not JSON with a `keys` array.
    public init(json bytes: [UInt8]) throws(JWTError) {
        let document: JSONValue
        do { document = try JSONValue.parse(bytes) } catch { throw .keySetUnavailable("the key set is not valid JSON: \(error)") }
        guard let entries = document["keys"]?.arrayValue else { throw .keySetUnavailable("the key set has no keys array") }
        var keys: [String: RSAPublicKey] = [:]
        var skipped: [String] = []
        var duplicates: Set<String> = []
        for (index, entry) in entries.enumerated() {
            do {
                let (kid, key) = try Self.key(entry)
                if keys[kid] != nil || duplicates.contains(kid) {
                    // Two keys under one kid: refuse both rather than guess which one is meant.
                    keys[kid] = nil
                    duplicates.insert(kid)
                    skipped.append("keys[\(index)]: kid '\(kid)' appears more than once")
                } else {
                    keys[kid] = key
                }
            } catch {
                skipped.append("keys[\(index)]: \(error)")
            }
        }
        self.keys = keys
        self.skipped = skipped
    }

    private static func key(_ entry: JSONValue) throws(JWTError) -> (String, RSAPublicKey) {
        guard entry["kty"]?.stringValue == "RSA" else { throw .invalidKey("kty is not RSA") }
        guard let kid = entry["kid"]?.stringValue, !kid.isEmpty else { throw .invalidKey("no kid") }
        if let use = entry["use"], use.stringValue != "sig" { throw .invalidKey("use is not sig") }
        if let alg = entry["alg"], alg.stringValue != "RS256" { throw .invalidKey("alg is not RS256") }
        guard let n = entry["n"]?.stringValue.flatMap(Base64.decodeURLSafeUnpadded),
            let e = entry["e"]?.stringValue.flatMap(Base64.decodeURLSafeUnpadded)
        else { throw .invalidKey("n and e must be unpadded base64url") }
        return (kid, try RSAPublicKey(modulus: n, exponent: e))
    }
}
