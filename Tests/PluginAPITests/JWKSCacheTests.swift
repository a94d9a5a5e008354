import Foundation
import PluginAPI
import PluginTesting
import Synchronization
import Testing
import TestSupport

/// An HTTP client that answers from a settable key set document and counts requests.
final class KeySetServer: HTTPClient {
    private let state: Mutex<(document: [UInt8], status: Int, requests: Int)>

    /// When set, every fetch waits for it to open.
    let gate: Gate?

    init(_ keys: [RSATestKey], gate: Gate? = nil) {
        state = Mutex((RSATestKey.jwks(keys), 200, 0))
        self.gate = gate
    }

    var requests: Int { state.withLock { $0.requests } }

    func serve(_ keys: [RSATestKey], status: Int = 200) { state.withLock { $0.document = RSATestKey.jwks(keys); $0.status = status } }

    func send(_ request: OutboundRequest) async throws -> OutboundResponse {
        await gate?.wait()
        return state.withLock { state in
            state.requests += 1
            return OutboundResponse(status: state.status, body: state.document)
        }
    }
}

/// Opens once `count` callers have arrived; waiters suspend until then.
final class Gate: Sendable {
    private let state: Mutex<(remaining: Int, waiters: [CheckedContinuation<Void, Never>])>

    init(count: Int) { state = Mutex((count, [])) }

    func arrive() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.remaining -= 1
            guard state.remaining == 0 else { return [] }
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state in
                if state.remaining > 0 { state.waiters.append(continuation) }
                return state.remaining <= 0
            }
            if open { continuation.resume() }
        }
    }
}

@Suite("JWKS cache")
struct JWKSCacheTests {
    static let key1 = RSATestKey(kid: "key-1")
    static let key2 = RSATestKey(kid: "key-2")
    static let claims: JSONValue = ["iat": 1_700_000_000, "exp": 1_700_003_600]

    func cache(_ server: KeySetServer, clock: ManualClock) -> JWKSCache {
        JWKSCache(source: .url("https://keys.example/certs"), http: server, clock: clock, logger: .disabled)
    }

    @Test("Keys load on first use and are reused")
    func loadsOnceAndCaches() async throws {
        let server = KeySetServer([Self.key1])
        let cache = cache(server, clock: ManualClock(1_700_000_000))
        #expect(server.requests == 0)
        for _ in 0..<3 { try await cache.verifySignature(of: JWT(compact: Self.key1.token(claims: Self.claims))) }
        #expect(server.requests == 1)
    }

    @Test("An unknown kid refreshes the set at most once a minute")
    func unknownKidRateLimited() async throws {
        let server = KeySetServer([Self.key1])
        let clock = ManualClock(1_700_000_000)
        let cache = cache(server, clock: clock)
        let rotated = try JWT(compact: Self.key2.token(claims: Self.claims))
        try await cache.verifySignature(of: JWT(compact: Self.key1.token(claims: Self.claims)))
        await #expect(throws: JWTError.unknownKey("key-2")) { try await cache.verifySignature(of: rotated) }
        #expect(server.requests == 1, "the first load was less than a minute ago")

        server.serve([Self.key1, Self.key2])
        clock.advance(by: 59)
        await #expect(throws: JWTError.unknownKey("key-2")) { try await cache.verifySignature(of: rotated) }
        #expect(server.requests == 1)
        clock.advance(by: 1)
        try await cache.verifySignature(of: rotated)
        #expect(server.requests == 2)
        await #expect(throws: JWTError.unknownKey("key-3")) { try await cache.key(for: "key-3") }
        #expect(server.requests == 2)
    }

    @Test("Callers that arrive while the keys are being fetched wait for that fetch")
    func concurrentFirstUse() async throws {
        // The fetch is held until all 20 callers have started, so most of them find it in flight.
        let gate = Gate(count: 20)
        let server = KeySetServer([Self.key1], gate: gate)
        let cache = cache(server, clock: ManualClock(1_700_000_000))
        let token = try JWT(compact: Self.key1.token(claims: Self.claims))
        let verified = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    gate.arrive()
                    return (try? await cache.verifySignature(of: token)) != nil  // A failure is what this test counts.
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(verified == 20)
        #expect(server.requests == 1)
    }

    @Test("Other algorithms are refused before any key lookup")
    func algorithmCheckedFirst() async throws {
        let server = KeySetServer([Self.key1])
        let cache = cache(server, clock: ManualClock(1_700_000_000))
        await #expect(throws: JWTError.unsupportedAlgorithm("none")) {
            try await cache.verifySignature(of: JWT(compact: TestJWT.unsecured(claims: Self.claims, kid: "key-1")))
        }
        await #expect(throws: JWTError.unsupportedAlgorithm("HS256")) {
            try await cache.verifySignature(of: JWT(compact: TestJWT.hs256(claims: Self.claims, publicKey: Self.key1)))
        }
        #expect(server.requests == 0)
    }

    @Test("A failed load is 'unavailable'; later the previous keys stay in use")
    func failuresKeepPreviousKeys() async throws {
        let server = KeySetServer([Self.key1])
        server.serve([], status: 500)
        let clock = ManualClock(1_700_000_000)
        let cache = cache(server, clock: clock)
        let token = try JWT(compact: Self.key1.token(claims: Self.claims))
        await #expect(throws: JWTError.self) { try await cache.verifySignature(of: token) }
        #expect(try await Self.failure(cache, token)?.httpError.status == 503)

        server.serve([Self.key1])
        clock.advance(by: 60)
        try await cache.verifySignature(of: token)
        server.serve([Self.key1], status: 503)
        clock.advance(by: 7200)  // The keys are stale: refreshed on use; the refresh fails; the old key still verifies.
        try await cache.verifySignature(of: token)
        #expect(server.requests == 3)
    }

    @Test("Stale keys are refreshed, so a withdrawn key stops verifying")
    func withdrawnKey() async throws {
        let server = KeySetServer([Self.key1])
        let clock = ManualClock(1_700_000_000)
        let cache = cache(server, clock: clock)
        let token = try JWT(compact: Self.key1.token(claims: Self.claims))
        try await cache.verifySignature(of: token)
        server.serve([Self.key2])
        clock.advance(by: 3600)
        await #expect(throws: JWTError.unknownKey("key-1")) { try await cache.verifySignature(of: token) }
    }

    @Test("A key set file is read")
    func fileSource() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jwks-\(UUID().uuidString).json").path
        try Data(RSATestKey.jwks([Self.key1])).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }  // Best effort: a leftover temp file is harmless.
        let cache = JWKSCache(source: .file(path), http: KeySetServer([]), clock: ManualClock(1_700_000_000), logger: .disabled)
        try await cache.verifySignature(of: JWT(compact: Self.key1.token(claims: Self.claims)))
        let missing = JWKSCache(source: .file(path + ".missing"), http: KeySetServer([]), clock: ManualClock(1_700_000_000), logger: .disabled)
        #expect(try await Self.failure(missing, JWT(compact: Self.key1.token(claims: Self.claims))) == .keySetUnavailable("cannot read the key set file"))
    }

    static func failure(_ cache: JWKSCache, _ token: JWT) async throws -> JWTError? {
        do {
            try await cache.verifySignature(of: token)
            return nil
        } catch {
            return error
        }
    }
}
