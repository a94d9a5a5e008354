import PluginAPI
import Testing
import TestSupport

@Suite("RS256 JWT and JWKS")
struct JWTTests {
    static let key = RSATestKey(kid: "key-1")
    static let otherKey = RSATestKey(kid: "key-2")
    static let now = 1_700_000_000.0

    static var claims: JSONValue {
        ["iss": "https://accounts.google.com", "aud": "https://hooks.example.com/api/webhooks/gmail", "iat": .number(now), "exp": .number(now + 3600)]
    }

    static func publicKey(_ key: RSATestKey) throws -> RSAPublicKey {
        try RSAPublicKey(modulus: key.modulus, exponent: key.exponent)
    }

    @Test("A key built from n and e verifies OpenSSL's signature and nothing else")
    func rsaVerification() throws {
        let publicKey = try Self.publicKey(Self.key)
        #expect(publicKey.bits == 2048)
        let message = Array("header.payload".utf8)
        let signature = Self.key.sign(message)
        #expect(publicKey.verifyPKCS1SHA256(signature: signature, message: message))
        #expect(!publicKey.verifyPKCS1SHA256(signature: signature, message: Array("header.payloaD".utf8)))
        var flipped = signature
        flipped[10] ^= 1
        #expect(!publicKey.verifyPKCS1SHA256(signature: flipped, message: message))
        #expect(!publicKey.verifyPKCS1SHA256(signature: Array(signature.dropLast()), message: message))
        #expect(!publicKey.verifyPKCS1SHA256(signature: [], message: message))
        #expect(!(try Self.publicKey(Self.otherKey)).verifyPKCS1SHA256(signature: signature, message: message))
    }

    @Test("Keys that are too small, or have a bad exponent, are refused")
    func weakKeysRefused() {
        let small = RSATestKey(kid: "small", bits: 1024)
        #expect(throws: JWTError.self) { try RSAPublicKey(modulus: small.modulus, exponent: small.exponent) }
        #expect(throws: JWTError.self) { try RSAPublicKey(modulus: Self.key.modulus, exponent: [1]) }
        #expect(throws: JWTError.self) { try RSAPublicKey(modulus: Self.key.modulus, exponent: [0x01, 0x00, 0x00]) }
        #expect(throws: JWTError.self) { try RSAPublicKey(modulus: Self.key.modulus, exponent: []) }
        #expect(throws: JWTError.self) { try RSAPublicKey(modulus: [], exponent: Self.key.exponent) }
    }

    @Test("A signed token decodes and verifies; its claims are readable")
    func goodToken() throws {
        let token = try JWT(compact: Self.key.token(claims: Self.claims))
        #expect(token.algorithm == "RS256")
        #expect(try token.rs256KeyID() == "key-1")
        try token.verifySignature(with: Self.publicKey(Self.key))
        #expect(token.string("iss") == "https://accounts.google.com")
        try token.checkLifetime(now: Self.now, leeway: 300)
        try token.checkIssuer(["accounts.google.com", "https://accounts.google.com"])
        try token.checkAudience("https://hooks.example.com/api/webhooks/gmail")
        #expect(throws: JWTError.invalidSignature) { try token.verifySignature(with: Self.publicKey(Self.otherKey)) }
    }

    @Test("Tampering with the claims breaks the signature")
    func tamperedClaims() throws {
        let parts = Self.key.token(claims: Self.claims).split(separator: ".").map(String.init)
        var claims = Self.claims
        if case .object(var object) = claims {
            object["aud"] = "https://attacker.example"
            claims = .object(object)
        }
        let forged = parts[0] + "." + Base64.encodeURLSafe(claims.serialized()) + "." + parts[2]
        #expect(throws: JWTError.invalidSignature) { try JWT(compact: forged).verifySignature(with: Self.publicKey(Self.key)) }
    }

    @Test(
        "Malformed compact serializations are refused",
        arguments: [
            "", "a.b", "a.b.c.d", ".e30.", "e30..", "e30.e30", "W10.e30.", "e30.W10.", "e30.e30.AB==", "e30.e30.+/8", "e30=.e30.",
            "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.", String(repeating: "a", count: 20_000),
        ])
    func malformed(token: String) {
        #expect(throws: JWTError.self) { try JWT(compact: token) }
    }

    @Test("Only RS256 is accepted, and only with a kid and no crit header")
    func algorithmRules() throws {
        #expect(throws: JWTError.unsupportedAlgorithm("none")) { try JWT(compact: TestJWT.unsecured(claims: Self.claims, kid: "key-1")).rs256KeyID() }
        #expect(throws: JWTError.unsupportedAlgorithm("HS256")) { try JWT(compact: TestJWT.hs256(claims: Self.claims, publicKey: Self.key)).rs256KeyID() }
        for header: JSONValue in [["alg": "RS512", "kid": "key-1"], ["alg": "rs256", "kid": "key-1"], ["kid": "key-1"]] {
            #expect(throws: JWTError.self) { try JWT(compact: Self.key.token(claims: Self.claims, header: header)).rs256KeyID() }
        }
        #expect(throws: JWTError.missingKeyID) { try JWT(compact: Self.key.token(claims: Self.claims, header: ["alg": "RS256"])).rs256KeyID() }
        let longKid = JSONValue.string(String(repeating: "k", count: 257))
        #expect(throws: JWTError.self) { try JWT(compact: Self.key.token(claims: Self.claims, header: ["alg": "RS256", "kid": longKid])).rs256KeyID() }
        #expect(throws: JWTError.self) { try JWT(compact: Self.key.token(claims: Self.claims, header: ["alg": "RS256", "kid": "key-1", "crit": ["exp"]])).rs256KeyID() }
        let hs256 = try JWT(compact: TestJWT.hs256(claims: Self.claims, publicKey: Self.key))
        #expect(throws: JWTError.unsupportedAlgorithm("HS256")) { try hs256.verifySignature(with: Self.publicKey(Self.key)) }
    }

    @Test(
        "Lifetime: exp and iat required, 5 minutes of skew, nbf honoured",
        arguments: [
            (["iat": 1_700_000_000, "exp": 1_700_003_600], true),
            (["iat": 1_699_990_000, "exp": 1_699_999_701], true),  // expired 299 s ago: within skew
            (["iat": 1_699_990_000, "exp": 1_699_999_700], false),  // expired 300 s ago
            (["iat": 1_700_000_300, "exp": 1_700_003_600], true),  // issued 300 s ahead: within skew
            (["iat": 1_700_000_301, "exp": 1_700_003_600], false),
            (["iat": 1_700_000_000, "exp": 1_700_003_600, "nbf": 1_700_000_301], false),
            (["iat": 1_700_000_000, "exp": 1_700_003_600, "nbf": 1_700_000_200], true),
            (["iat": 1_700_000_000, "exp": 1_700_003_600, "nbf": "soon"], false),
            (["iat": 1_700_000_000], false),
            (["exp": 1_700_003_600], false),
            (["iat": 1_700_000_000, "exp": "1700003600"], false),
        ] as [(JSONValue, Bool)])
    func lifetime(claims: JSONValue, valid: Bool) throws {
        let token = try JWT(compact: Self.key.token(claims: claims))
        if valid {
            try token.checkLifetime(now: Self.now, leeway: 300)
        } else {
            #expect(throws: JWTError.self) { try token.checkLifetime(now: Self.now, leeway: 300) }
        }
    }

    @Test("Audience may be a string or an array; issuer must be listed")
    func audienceAndIssuer() throws {
        let array = try JWT(compact: Self.key.token(claims: ["aud": ["a", "b"], "iss": "accounts.google.com"]))
        try array.checkAudience("b")
        #expect(throws: JWTError.self) { try array.checkAudience("c") }
        try array.checkIssuer(["accounts.google.com"])
        #expect(throws: JWTError.self) { try array.checkIssuer(["https://accounts.google.com"]) }
        let none = try JWT(compact: Self.key.token(claims: [:]))
        #expect(throws: JWTError.self) { try none.checkAudience("a") }
        #expect(throws: JWTError.self) { try none.checkIssuer(["accounts.google.com"]) }
    }

    @Test("A key set keeps usable RSA signing keys and says why it skipped the others")
    func keySetParsing() throws {
        let good = Self.key.jwk
        let document: JSONValue = [
            "keys": [
                good,
                ["kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"],
                ["kty": "RSA", "kid": "enc", "use": "enc", "n": good["n"]!, "e": good["e"]!],
                ["kty": "RSA", "kid": "rs512", "alg": "RS512", "n": good["n"]!, "e": good["e"]!],
                ["kty": "RSA", "n": good["n"]!, "e": good["e"]!],
                ["kty": "RSA", "kid": "padded", "n": .string(Base64.encode(Self.key.modulus)), "e": "AQAB"],
                ["kty": "RSA", "kid": "dup", "n": good["n"]!, "e": good["e"]!],
                ["kty": "RSA", "kid": "dup", "n": good["n"]!, "e": good["e"]!],
                "not an object",
            ]
        ]
        let set = try JWKSet(json: document.serialized())
        #expect(set.keys.keys.sorted() == ["key-1"])
        #expect(set.skipped.count == 7)
        #expect(throws: JWTError.self) { try JWKSet(json: Array("{}".utf8)) }
        #expect(throws: JWTError.self) { try JWKSet(json: Array("not json".utf8)) }
    }
}
