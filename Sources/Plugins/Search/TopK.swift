/// The `k` best (highest-scoring) items seen, kept in a min-heap: O(log k) per better item.
struct TopK {
    struct Entry: Comparable {
        var score: Float
        var slot: Int32
        static func < (a: Entry, b: Entry) -> Bool { a.score < b.score || (a.score == b.score && a.slot > b.slot) }
    }

    let k: Int
    private(set) var heap: [Entry] = []

    init(k: Int) {
        self.k = k
        heap.reserveCapacity(k)
    }

    /// The score an item must beat to enter (−∞ until `k` items are held).
    var threshold: Float { heap.count < k ? -.infinity : heap[0].score }

    mutating func insert(_ score: Float, _ slot: Int32) {
        let entry = Entry(score: score, slot: slot)
        if heap.count < k {
            heap.append(entry)
            siftUp(heap.count - 1)
        } else if heap[0] < entry {
            heap[0] = entry
            siftDown(0)
        }
    }

    mutating func merge(_ other: TopK) {
        for entry in other.heap { insert(entry.score, entry.slot) }
    }

    /// Best first; ties by lower slot (older document), so results are deterministic.
    func sorted() -> [Entry] { heap.sorted { $1 < $0 } }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && heap[left] < heap[smallest] { smallest = left }
            if right < heap.count && heap[right] < heap[smallest] { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
