import PluginAPI
import Synchronization

/// A clock the test moves by hand; starts at the system time.
public final class ManualClock: WallClock {
    private let time: Mutex<Double>

    public init(_ time: Double = SystemClock().now()) { self.time = Mutex(time) }

    public func now() -> Double { time.withLock { $0 } }

    /// Sets the time, in seconds since 1970.
    public func set(_ newTime: Double) { time.withLock { $0 = newTime } }
}
