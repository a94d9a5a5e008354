import PluginAPI
import Synchronization

/// Counts failures per address in fixed one-minute windows; an address that reaches the limit is
/// blocked for the rest of its window. IPv6 addresses count by their /64 (``ClientAddress/limitKey(_:)``).
/// Memory is bounded: when `maximumAddresses` are tracked, finished windows are swept (at most once
/// per window) and, if it is still full, the failures of addresses not tracked are counted together
/// in one overflow window, which blocks all of them once it reaches the limit. (Failing closed: an
/// attacker spread over more addresses than the table holds blocks new addresses, not itself.)
final class FailureRateLimiter: Sendable {
    private struct Window {
        var start: Double
        var failures: Int
    }

    private struct State {
        var windows: [String: Window] = [:]
        /// The failures of addresses that found the table full.
        var overflow: Window?
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
        let key = ClientAddress.limitKey(address)
        return state.withLock { state in
            guard let window = state.windows[key] ?? state.overflow, now - window.start < windowSeconds, window.failures >= limit else { return nil }
            return max(1, Int((window.start + windowSeconds - now).rounded(.up)))
        }
    }

    /// Records a failure; returns true when this one reached the limit (the address is now blocked).
    func recordFailure(_ address: String) -> Bool {
        let now = clock.now()
        let key = ClientAddress.limitKey(address)
        return state.withLock { state in
            if state.windows.count >= maximumAddresses && now - state.lastSweep >= windowSeconds {
                state.windows = state.windows.filter { now - $0.value.start < windowSeconds }
                state.lastSweep = now
            }
            let overflowing = state.windows[key] == nil && state.windows.count >= maximumAddresses
            var window = (overflowing ? state.overflow : state.windows[key]).flatMap { now - $0.start < windowSeconds ? $0 : nil } ?? Window(start: now, failures: 0)
            window.failures += 1
            if overflowing { state.overflow = window } else { state.windows[key] = window }
            return window.failures == limit
        }
    }
}
