#if canImport(Glibc)
import Glibc
#endif

/// The time of day, as a provider sees it; tests inject a fixed one to check old signature vectors.
public protocol WallClock: Sendable {
    /// Seconds since 1970-01-01T00:00:00Z.
    func now() -> Double
}

/// The system's real-time clock.
public struct SystemClock: WallClock {
    public init() {}
    public func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}

/// A clock that always answers the same time.
public struct FixedClock: WallClock {
    public var time: Double
    public init(_ time: Double) { self.time = time }
    public func now() -> Double { time }
}
