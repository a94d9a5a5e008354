/// Whether a provider's signature checks are enforced. The host decides: always enforced, except
/// in development with `ATOM_DEV_SKIP_SIGNATURES=1`, where a failed check is reported and let through.
///
/// ```swift
/// try context.verification.check { try signature.verify(request) }
/// try await context.verification.check { try await token.verify(request) }
/// ```
public struct VerificationPolicy: Sendable {
    private let onSkip: (@Sendable (_ failure: HTTPError) -> Void)?
    private var onResult: (@Sendable (_ failure: HTTPError?) -> Void)? = nil

    /// Every failed check throws (the default, and the only policy in production).
    public static let enforced = VerificationPolicy(onSkip: nil)

    /// Development only: a failed check calls `onSkip` (the host logs and audits it) instead of throwing.
    public static func skipping(onSkip: @escaping @Sendable (_ failure: HTTPError) -> Void) -> VerificationPolicy {
        VerificationPolicy(onSkip: onSkip)
    }

    /// The same policy, also reporting every check's result to `observer` (nil: passed), for metrics.
    public func observed(by observer: @escaping @Sendable (_ failure: HTTPError?) -> Void) -> VerificationPolicy {
        var policy = self
        policy.onResult = observer
        return policy
    }

    /// True when failed checks throw.
    public var isEnforced: Bool { onSkip == nil }

    /// Runs a signature check; its failure is thrown unless this policy skips failures.
    public func check(_ verify: () throws(HTTPError) -> Void) throws(HTTPError) {
        do {
            try verify()
            onResult?(nil)
        } catch { try fail(error) }
    }

    /// Runs a check that waits (fetching a key set, say); its failure is thrown unless this policy skips failures.
    public func check(_ verify: () async throws(HTTPError) -> Void) async throws(HTTPError) {
        do {
            try await verify()
            onResult?(nil)
        } catch { try fail(error) }
    }

    private func fail(_ error: HTTPError) throws(HTTPError) {
        onResult?(error)
        guard let onSkip else { throw error }
        onSkip(error)
    }
}
