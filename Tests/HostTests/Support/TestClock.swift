import PluginAPI
import Synchronization

/// A wall clock a test moves by hand.
final class TestClock: WallClock {
    private let time: Mutex<Double>

    init(_ time: Double) { self.time = Mutex(time) }

    func now() -> Double { time.withLock { $0 } }

    func advance(by seconds: Double) { time.withLock { $0 += seconds } }
}
