import PluginAPI
import Synchronization

/// A clock the test moves by hand; starts at the system time unless given one.
///
/// ```swift
/// let clock = ManualClock(1_700_000_000)
/// clock.advance(by: 61)  // past a one-minute window
/// ```
public final class ManualClock: WallClock {
    private let time: Mutex<Double>

    /// A clock reading `time`, in seconds since 1970.
    public init(_ time: Double = SystemClock().now()) { self.time = Mutex(time) }

    public func now() -> Double { time.withLock { $0 } }

    /// Sets the time, in seconds since 1970.
    public func set(_ newTime: Double) { time.withLock { $0 = newTime } }

    /// Moves the time by `seconds` (backwards when negative).
    public func advance(by seconds: Double) { time.withLock { $0 += seconds } }
}
