/// A replay window: a signed timestamp is fresh when it is within `tolerance` seconds of now,
/// in either direction (a clock ahead of ours is as suspicious as one behind).
public struct TimestampWindow: Sendable, Equatable {
    /// Allowed distance from now, in seconds.
    public var tolerance: Double

    /// The 5-minute window that Slack, HubSpot and Standard Webhooks document.
    public static let fiveMinutes = TimestampWindow(tolerance: 300)

    public init(tolerance: Double) { self.tolerance = tolerance }

    /// True when `timestamp` (seconds since 1970) is within the window around `now`.
    public func contains(_ timestamp: Double, now: Double) -> Bool {
        abs(now - timestamp) <= tolerance
    }
}
