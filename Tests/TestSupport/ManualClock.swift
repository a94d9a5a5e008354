import PluginAPI
import Synchronization

/// A wall clock that tests move by hand.
public final class ManualClock: WallClock {
    private let time: Mutex<Double>

    public init(_ time: Double) { self.time = Mutex(time) }

    public func now() -> Double { time.withLock { $0 } }

    /// Moves the clock forward by `seconds`.
    public func advance(by seconds: Double) { time.withLock { $0 += seconds } }
}
