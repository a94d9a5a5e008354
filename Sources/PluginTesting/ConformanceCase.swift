/// A refusal check of the conformance kit that a provider's scheme cannot pass by design.
///
/// Mark one with the reason, which is kept next to the test where a reviewer reads it:
///
/// ```swift
/// notApplicable: [.replay: "the clientState is a shared secret; it carries no timestamp"]
/// ```
public enum ConformanceCase: Hashable, Sendable, CustomStringConvertible {
    /// A delivery whose body changed after signing is refused: not for credentials that do not cover
    /// the body (a bearer token, a shared secret inside the body).
    case tamperedBody
    /// Deliveries signed far in the past or dated far ahead are refused: not for schemes without a
    /// signed timestamp.
    case replay

    public var description: String {
        switch self {
        case .tamperedBody: "tampered body"
        case .replay: "replay (stale and future-dated deliveries)"
        }
    }
}
