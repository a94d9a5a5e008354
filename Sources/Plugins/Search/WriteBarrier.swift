import Synchronization

/// Runs index writes one at a time, in the order they began, and lets a search wait for the writes
/// that began before it.
///
/// A write commits to SQLite (where keyword search sees it at once) and only then updates the
/// vectors in memory. Without the barrier, a client that found a new document by keyword could
/// miss it by vector search moments later. A search that first waits here sees every write whose
/// commit any earlier answer reflected. Writes run one at a time so the vectors in memory change in
/// the order SQLite committed: two concurrent writes of one id could otherwise leave memory holding
/// the one SQLite replaced.
final class WriteBarrier: Sendable {
    private struct State {
        var next: UInt64 = 0
        var active: Set<UInt64> = []
        /// Searches and writes waiting until every write numbered below `mark` has ended.
        var waiters: [(mark: UInt64, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    /// Searches and writes now waiting for earlier writes (what a test observes before it ends a write).
    var waiting: Int { state.withLock { $0.waiters.count } }

    /// Runs `body` as one write, once every write begun before it has ended; later searches wait for it.
    func write<T>(_ body: () async throws -> T) async throws -> T {
        let ticket = state.withLock { state in
            defer { state.next += 1 }
            state.active.insert(state.next)
            return state.next
        }
        defer { end(ticket) }
        await waitForWrites(below: ticket)
        return try await body()
    }

    /// Returns once every write begun before this call has ended (at once when none is in progress).
    func waitForEarlierWrites() async {
        // Every write in progress has a ticket below `next`.
        guard let mark = state.withLock({ $0.active.isEmpty ? nil : $0.next }) else { return }
        await waitForWrites(below: mark)
    }

    /// Returns once no write with a ticket below `mark` is in progress.
    private func waitForWrites(below mark: UInt64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                guard Self.writesInProgress(below: mark, in: state) else { return true }
                state.waiters.append((mark, continuation))
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private func end(_ ticket: UInt64) {
        var released: [CheckedContinuation<Void, Never>] = []
        state.withLock { state in
            state.active.remove(ticket)
            let oldest = state.active.min()
            state.waiters.removeAll { waiter in
                if let oldest, oldest < waiter.mark { return false }
                released.append(waiter.continuation)
                return true
            }
        }
        for continuation in released { continuation.resume() }
    }

    private static func writesInProgress(below mark: UInt64, in state: State) -> Bool {
        state.active.contains { $0 < mark }
    }
}
