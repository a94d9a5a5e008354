import PluginAPI
import Synchronization

/// Counts failures per address in fixed one-minute windows; an address that reaches the limit is
/// blocked for the rest of its window. Memory is bounded: finished windows are dropped as it grows.
final class FailureRateLimiter: Sendable {
    private struct Window {
        var start: Double
        var failures: Int
    }

    private let windows = Mutex<[String: Window]>([:])
    let limit: Int
    private let windowSeconds: Double
    private let clock: any WallClock
    private let maximumAddresses = 100_000

    init(limit: Int = 10, windowSeconds: Double = 60, clock: any WallClock) {
        self.limit = limit
        self.windowSeconds = windowSeconds
        self.clock = clock
    }

    /// Seconds until `address` may try again, or nil when it is not blocked.
    func retryAfter(_ address: String) -> Int? {
        let now = clock.now()
        return windows.withLock { windows in
            guard let window = windows[address], now - window.start < windowSeconds, window.failures >= limit else { return nil }
            return max(1, Int((window.start + windowSeconds - now).rounded(.up)))
        }
    }

    /// Records a failure; returns true when this one reached the limit (the address is now blocked).
    func recordFailure(_ address: String) -> Bool {
        let now = clock.now()
        return windows.withLock { windows in
            if windows.count >= maximumAddresses {
                windows = windows.filter { now - $0.value.start < windowSeconds }
            }
            var window = windows[address].flatMap { now - $0.start < windowSeconds ? $0 : nil } ?? Window(start: now, failures: 0)
            window.failures += 1
            windows[address] = window
            return window.failures == limit
        }
    }
}
