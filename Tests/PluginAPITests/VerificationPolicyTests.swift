import PluginAPI
import Synchronization
import Testing

@Suite("Verification policy")
struct VerificationPolicyTests {
    @Test("Enforced rethrows a failed check; skipping reports it and lets the request through")
    func policies() throws {
        let failing: () throws(HTTPError) -> Void = { () throws(HTTPError) in throw HTTPError.invalidSignature() }
        #expect(VerificationPolicy.enforced.isEnforced)
        #expect(throws: HTTPError.self) { try VerificationPolicy.enforced.check(failing) }

        let skipped = Mutex<[String]>([])
        let skipping = VerificationPolicy.skipping { failure in skipped.withLock { $0.append(failure.error) } }
        #expect(!skipping.isEnforced)
        try skipping.check(failing)
        try skipping.check {}
        #expect(skipped.withLock { $0 } == ["invalid_signature"])
    }

    @Test("A check that waits runs under the policy the same way")
    func asyncChecks() async throws {
        let failing: () async throws(HTTPError) -> Void = { () async throws(HTTPError) in throw HTTPError.invalidSignature() }
        await #expect(throws: HTTPError.self) { try await VerificationPolicy.enforced.check(failing) }

        let skipped = Mutex<[String]>([])
        let skipping = VerificationPolicy.skipping { failure in skipped.withLock { $0.append(failure.error) } }
        try await skipping.check(failing)
        #expect(skipped.withLock { $0 } == ["invalid_signature"])
    }
}
