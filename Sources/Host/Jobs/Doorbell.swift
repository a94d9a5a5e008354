import Synchronization

/// Wakes waiting tasks when there may be new work (a job was queued), without a lost wake-up: a
/// waiter passes the ``generation`` it read before looking for work and returns at once if the
/// bell rang since.
final class Doorbell: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Increases on every ring.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Wakes every waiter.
    func ring() {
        let waiters = state.withLock { state in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the bell has rung after `generation` was read, or when the task is cancelled.
    func wait(since generation: UInt64) async {
        let id = state.withLock { state in
            defer { state.nextWaiter &+= 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    // Checked under the lock: a cancellation handler that already ran found no waiter to resume.
                    if state.generation != generation || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    /// Like ``wait(since:)``, but also returns after `timeout`.
    func wait(since generation: UInt64, timeout: Duration) async {
        await Self.first { try? await Task.sleep(for: timeout) } or: { await self.wait(since: generation) }
    }

    /// Like ``wait(since:)``, but also returns when `other` rings after `otherGeneration`.
    func wait(since generation: UInt64, or other: Doorbell, since otherGeneration: UInt64) async {
        await Self.first { await other.wait(since: otherGeneration) } or: { await self.wait(since: generation) }
    }

    /// Runs both until the first returns, then cancels the other.
    private static func first(_ one: @escaping @Sendable () async -> Void, or another: @escaping @Sendable () async -> Void) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await one() }
            group.addTask { await another() }
            await group.next()
            group.cancelAll()
        }
    }
}
