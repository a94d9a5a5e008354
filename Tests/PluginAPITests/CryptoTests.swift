import PluginAPI
import Testing

@Suite("Crypto primitives")
struct CryptoTests {
    @Test("SHA-256 known answers (FIPS 180-2)")
    func sha256() {
        #expect(Hex.encode(Digest.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Hex.encode(Digest.sha256([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test("HMAC-SHA256 RFC 4231 test cases 1, 2 and 6")
    func hmac() {
        #expect(Hex.encode(Digest.hmacSHA256(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8)))
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(Hex.encode(Digest.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(Hex.encode(Digest.hmacSHA256(key: [UInt8](repeating: 0xaa, count: 131), message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    @Test("Streaming HMAC equals one-shot HMAC, including an empty key")
    func streamingHMAC() {
        for key in [[UInt8](), Array("k".utf8), [UInt8](repeating: 7, count: 100)] {
            var mac = HMACSHA256(key: key)
            mac.update(Array("part one, ".utf8))
            mac.update([UInt8]())
            mac.update(Array("part two".utf8))
            #expect(mac.finalize() == Digest.hmacSHA256(key: key, message: Array("part one, part two".utf8)))
        }
    }

    @Test func constantTimeEquals() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([UInt8](), [UInt8]()))
        #expect(ConstantTime.equals("token", "token"))
        #expect(!ConstantTime.equals("token", "tokens"))
    }

    @Test func hexRoundTripAndStrictness() {
        let bytes: [UInt8] = [0, 1, 0xab, 0xff]
        #expect(Hex.encode(bytes) == "0001abff")
        #expect(Hex.decode("0001ABff") == bytes)
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.decode("0g") == nil)
        #expect(Hex.decode("") == [])
        #expect(Hex.decode("ab\u{e9}") == nil)
        // A substring (how signature headers are decoded after their "v0=" prefix), short and long.
        let header = "v0=" + String(repeating: "0001abff", count: 8)
        #expect(Hex.decode(header.dropFirst(3)) == Array(repeating: bytes, count: 8).flatMap { $0 })
        #expect(Hex.decode("v0=ff".dropFirst(3)) == [0xff])
    }

    @Test("base64: standard and URL-safe, padded or not; strict otherwise")
    func base64() {
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.encodeURLSafe([0xfb, 0xff]) == "-_8")
        #expect(Base64.decode("Zm8=") == Array("fo".utf8))
        #expect(Base64.decode("Zm8") == Array("fo".utf8))
        #expect(Base64.decode("-_8") == [0xfb, 0xff])
        #expect(Base64.decode("+/8=") == [0xfb, 0xff])
        #expect(Base64.decode("Zm9v!") == nil)
        #expect(Base64.decode("Z") == nil)
        #expect(Base64.decode("Zm9=") == nil, "non-zero trailing bits")
        for length in 0..<40 {
            let data = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Base64.encode(data)) == data)
            #expect(Base64.decode(Base64.encodeURLSafe(data)) == data)
        }
    }

    @Test func timestampWindow() throws {
        let window = TimestampWindow.fiveMinutes
        #expect(window.contains(1000, now: 1300))
        #expect(!window.contains(1000, now: 1301))
        #expect(!window.contains(1301, now: 1000))
        #expect(throws: HTTPError.self) { try window.check(header: "1e3", now: 1000) }
        #expect(throws: HTTPError.self) { try window.check(header: "1700000000000", unitsPerSecond: 1000, now: 1_700_000_400) }
        try window.check(header: "1700000000000", unitsPerSecond: 1000, now: 1_700_000_100)
    }
}

@Suite("Prepared HMAC keys")
struct HMACKeyTests {
    @Test("An HMACKey gives the same MAC as one-shot HMAC, every time, from many threads")
    func matchesOneShot() async {
        let key = HMACKey(Array("Jefe".utf8))
        let message = Array("what do ya want for nothing?".utf8)
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        await withTaskGroup(of: String.self) { group in
            for _ in 0..<32 { group.addTask { Hex.encode(key.authenticate(message)) } }
            for await mac in group { #expect(mac == expected) }
        }
        var streamed = key.start()
        streamed.update("what do ya ")
        streamed.update(Array("want for nothing?".utf8))
        #expect(Hex.encode(streamed.finalize()) == expected)
    }
}
