import PluginAPI
import Synchronization

/// Counts failures per address in fixed one-minute windows; an address that reaches the limit is
/// blocked for the rest of its window. Memory is bounded: when `maximumAddresses` are tracked,
/// finished windows are swept (at most once per window) and, if it is still full, new addresses
/// are not tracked until the next sweep.
final class FailureRateLimiter: Sendable {
    private struct Window {
        var start: Double
        var failures: Int
    }

    private struct State {
        var windows: [String: Window] = [:]
        var lastSweep = -Double.infinity
    }

    private let state = Mutex(State())
    /// Failures per window that block an address.
    let limit: Int
    private let windowSeconds: Double
    private let clock: any WallClock
    private let maximumAddresses: Int

    init(limit: Int = 10, windowSeconds: Double = 60, maximumAddresses: Int = 100_000, clock: any WallClock) {
        self.limit = limit
        self.windowSeconds = windowSeconds
        self.maximumAddresses = maximumAddresses
        self.clock = clock
    }

    /// Seconds until `address` may try again, or nil when it is not blocked.
    func retryAfter(_ address: String) -> Int? {
        let now = clock.now()
        return state.withLock { state in
            guard let window = state.windows[address], now - window.start < windowSeconds, window.failures >= limit else { return nil }
            return max(1, Int((window.start + windowSeconds - now).rounded(.up)))
        }
    }

    /// Records a failure; returns true when this one reached the limit (the address is now blocked).
    func recordFailure(_ address: String) -> Bool {
        let now = clock.now()
        return state.withLock { state in
            if state.windows.count >= maximumAddresses && now - state.lastSweep >= windowSeconds {
                state.windows = state.windows.filter { now - $0.value.start < windowSeconds }
                state.lastSweep = now
            }
            if state.windows[address] == nil && state.windows.count >= maximumAddresses { return false }
            var window = state.windows[address].flatMap { now - $0.start < windowSeconds ? $0 : nil } ?? Window(start: now, failures: 0)
            window.failures += 1
            state.windows[address] = window
            return window.failures == limit
        }
    }
}
