import Synchronization

/// A fixed-size array of lock-free counters, allocated once: the hot path adds with one relaxed atomic
/// instruction and never takes a lock.
final class AtomicCounters: @unchecked Sendable {  // Safe: the storage is allocated in init, never resized, and only touched through Atomic operations.
    let count: Int
    private let storage: UnsafeMutablePointer<Atomic<Int>>

    init(count: Int) {
        self.count = count
        storage = .allocate(capacity: max(count, 1))
        for index in 0..<count { (storage + index).initialize(to: Atomic(0)) }
    }

    deinit {
        storage.deinitialize(count: count)
        storage.deallocate()
    }

    /// Adds `amount` to counter `index`.
    func add(_ index: Int, _ amount: Int = 1) {
        (storage + index).pointee.wrappingAdd(amount, ordering: .relaxed)
    }

    /// The current value of counter `index`.
    subscript(index: Int) -> Int {
        (storage + index).pointee.load(ordering: .relaxed)
    }
}
