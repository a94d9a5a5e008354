import Dispatch
import Foundation
import Glibc
import PluginAPI
import Synchronization

/// The event log's de-duplication: which (provider, external id) pairs it already holds.
///
/// A unique index on `events` costs one index page per stored event, because external ids are
/// scattered (Slack's are random): each commit writes one 4 KiB page per event to the write-ahead log,
/// and the checkpoint writes it again. At 12 KiB per event the disk, not the CPU, bounded ingest.
/// So `events` has no unique constraint, and every stored key is in one of two places:
///
/// - `event_keys`, a sorted table, holds the keys of all events up to `event_keys_merged.through_event`;
/// - two sets in memory hold the keys of every later event (rebuilt from `events` at start): `frozen`,
///   the keys of the merge in progress, and `active`, the keys stored since that merge began.
///
/// Once `active` holds `mergeThreshold` keys it becomes `frozen` (a fresh `active` takes the new
/// keys); its keys are sorted on another thread and then inserted into `event_keys` in key order, one
/// chunk inside each following commit, so an index page is written about once per merge instead of
/// once per event. The last chunk's commit advances `through_event`; only then is `frozen` dropped.
/// Sets are swapped and dropped whole, never copied or subtracted on the writer (32,768 keys take
/// milliseconds to rehash and tens to subtract, which every waiting request would feel). A crash at
/// any point leaves both places consistent: the keys of a merge cut short are still above
/// `through_event`, loaded again at start, and merged again (`INSERT OR IGNORE`).
///
/// Most new keys are in neither place, and a lookup in `event_keys` costs about 7 µs; a Bloom filter
/// (``KeyFilter``) of the table's keys answers "not there" without it. Another thread reads the table
/// into a new filter at start, and into one twice the size when the table has outgrown it; until that
/// filter is in, every key is looked up. Keys merged while it reads are kept in a list and added to the
/// filter when it comes in (the scan may have missed them), so the writer never builds or copies a
/// whole filter. A scan that fails is tried again after the next merge.
///
/// Confined to the event log's writer thread. Only one event log may write to a database at a time,
/// which ``DataDirectoryLock`` ensures.
final class EventKeys: @unchecked Sendable {  // Safe: handed to the writer thread once, then confined to it.
    /// An event's identity for de-duplication, compared byte for byte as SQLite compares text (Swift's
    /// `String ==` would take "é" and "e" + U+0301 for one id, which SQLite and the sender do not).
    struct Key: Hashable, Sendable {
        let provider: String
        let externalID: String

        static func == (lhs: Key, rhs: Key) -> Bool {
            sameBytes(lhs.externalID, rhs.externalID) && sameBytes(lhs.provider, rhs.provider)
        }

        private static func sameBytes(_ a: String, _ b: String) -> Bool {
            guard a.utf8.count == b.utf8.count else { return false }
            let compared = a.utf8.withContiguousStorageIfAvailable { a in
                b.utf8.withContiguousStorageIfAvailable { b in
                    guard let first = a.baseAddress, let second = b.baseAddress else { return true }  // Both empty.
                    return memcmp(first, second, a.count) == 0
                }
            }
            return (compared ?? nil) ?? a.utf8.elementsEqual(b.utf8)
        }

        /// True when `a` sorts before `b` by UTF-8 bytes (SQLite's BINARY collation), by `memcmp`:
        /// the generic comparison of two UTF-8 views took 0.7 s of CPU to sort 150,000 ids that share
        /// their first 16 bytes.
        static func bytesPrecede(_ a: String, _ b: String) -> Bool {
            let compared = a.utf8.withContiguousStorageIfAvailable { a in
                b.utf8.withContiguousStorageIfAvailable { b in
                    let common = min(a.count, b.count)
                    guard common > 0, let first = a.baseAddress, let second = b.baseAddress else { return a.count < b.count }
                    let order = memcmp(first, second, common)
                    return order != 0 ? order < 0 : a.count < b.count
                }
            }
            return (compared ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
        }

        func hash(into hasher: inout Hasher) {
            Self.combine(provider, into: &hasher)
            Self.combine(externalID, into: &hasher)
        }

        private static func combine(_ text: String, into hasher: inout Hasher) {
            hasher.combine(text.utf8.count)
            let contiguous: Void? = text.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            if contiguous == nil {
                for byte in text.utf8 { hasher.combine(byte) }
            }
        }
    }

    /// `keys` in SQLite's BINARY order (provider, then external id, by UTF-8 bytes). Sorts on the
    /// first 16 bytes of each id as integers and compares whole ids only on a tie: a third of the
    /// time of comparing `String`s, which would take a tenth of a second for 32,768 keys.
    static func sorted(_ keys: Set<Key>) -> [Key] {
        var order: [Key] = []
        order.reserveCapacity(keys.count)
        let byProvider = Dictionary(grouping: keys) { $0.provider }
        for provider in byProvider.keys.sorted(by: Key.bytesPrecede) {
            let group = byProvider[provider] ?? []
            let prefixes = group.map { key in
                var words: (UInt64, UInt64) = (0, 0)
                for (index, byte) in key.externalID.utf8.prefix(16).enumerated() {
                    if index < 8 { words.0 |= UInt64(byte) << (56 - 8 * UInt64(index)) } else { words.1 |= UInt64(byte) << (56 - 8 * UInt64(index - 8)) }
                }
                return words
            }
            let indices = group.indices.sorted { a, b in
                if prefixes[a] != prefixes[b] { return prefixes[a] < prefixes[b] }
                return Key.bytesPrecede(group[a].externalID, group[b].externalID)
            }
            order.append(contentsOf: indices.lazy.map { group[$0] })
        }
        return order
    }

    /// A merge in progress: `keys` sorted, all of events up to `throughEvent`, inserted up to `next`.
    fileprivate struct Merge: Sendable {
        let keys: [Key]
        let throughEvent: Int64
        var next = 0
    }

    /// What a merge step did inside a transaction, applied once that transaction has committed.
    struct MergeStep {
        fileprivate let next: Int
        fileprivate let finished: Bool
    }

    /// Fewest keys one step merges, so a merge also finishes when commits are small. Small steps keep
    /// each commit short: 256 keys a step put p99 above 10 ms on the ingest bench, 64 kept it near 9.
    private static let minimumChunk = 64

    let mergeThreshold: Int
    private let dataDirectory: URL
    private let logger: Logger
    /// The Bloom filter of `event_keys`; nil while a scan fills the next one.
    private var filter: KeyFilter?
    /// Keys merged while a scan runs, added to its filter when it comes in.
    private var mergedDuringScan: [Key] = []
    /// The last scan failed; the next finished merge starts another.
    private var scanFailed = false
    /// Bits of the filter the running (or next) scan fills.
    private var filterBits: Int
    /// The running scan's filter, once it is read.
    private let filterScan = BackgroundResult<Result<KeyFilter, any Error>>()
    /// Keys in `event_keys`, about (what sizes the filter).
    private var tableKeys: Int
    /// Lookups in `event_keys` so far (what a test reads to see the filter at work).
    private(set) var tableLookups = 0
    private var active: Set<Key>
    private var frozen: Set<Key> = []
    private var latestEvent: Int64
    private var merge: Merge?
    /// Where the sorting thread leaves a merge; `sorting` while it works.
    private let sorted = BackgroundResult<Merge>()
    private var sorting = false

    /// Loads the keys above `through_event` from `connection` (the writer's), and starts reading the
    /// table's keys into the filter (of at least `minimumFilterBits`) from `dataDirectory`.
    init(connection: SQLiteConnection, mergeThreshold: Int, dataDirectory: URL, logger: Logger, minimumFilterBits: Int = 1 << 24) throws {
        self.mergeThreshold = mergeThreshold
        self.dataDirectory = dataDirectory
        self.logger = logger
        active = Self.emptySet(for: mergeThreshold)
        let through = try connection.prepare("SELECT through_event FROM event_keys_merged WHERE id = 1")
        defer { through.reset() }
        guard try through.step() else {
            throw SQLiteError(code: 0, message: "event_keys_merged has no row: the database was not migrated", sql: through.sql)
        }
        latestEvent = through.int64(0)
        tableKeys = Int(latestEvent)  // Event ids are dense and never deleted: one key per event up to through_event.
        filterBits = KeyFilter.bits(forKeys: tableKeys, minimum: minimumFilterBits)
        let rows = try connection.prepare("SELECT id, provider, external_id FROM events WHERE id > ? ORDER BY id")
        defer { rows.reset() }
        try rows.bind(1, latestEvent)
        while try rows.step() {
            latestEvent = rows.int64(0)
            active.insert(Key(provider: rows.text(1) ?? "", externalID: rows.text(2) ?? ""))
        }
        startFilterScan()
    }

    /// Starts reading `event_keys` into a filter of `filterBits` bits on another thread.
    private func startFilterScan() {
        let (dataDirectory, bits, logger) = (dataDirectory, filterBits, logger)
        filterScan.start {
            let outcome = Result { try FilterScan.read(dataDirectory: dataDirectory, bits: bits).filter }
            if case .failure(let error) = outcome {
                logger.warning(
                    "could not read event_keys into the de-duplication filter; new events are looked up in the table until the next try",
                    [("error", "\(error)")])
            }
            return outcome
        }
    }

    /// Whether the filter is in (what a test waits for).
    var filterIsReady: Bool { filter != nil }

    /// An empty set with room for a whole merge and the keys that arrive while it runs, so it never rehashes on the writer.
    private static func emptySet(for threshold: Int) -> Set<Key> { Set(minimumCapacity: threshold + threshold / 2) }

    /// Whether an event with `key` was stored by an earlier commit.
    func contains(_ key: Key, on connection: SQLiteConnection) throws -> Bool {
        if active.contains(key) || frozen.contains(key) { return true }
        if let filter, !filter.mightContain(key) { return false }
        tableLookups += 1
        let lookup = try connection.prepare("SELECT 1 FROM event_keys WHERE provider = ? AND external_id = ?")
        defer { lookup.reset() }
        try lookup.bind(1, key.provider)
        try lookup.bind(2, key.externalID)
        return try lookup.step()
    }

    /// Inside the writer's open transaction: inserts the next chunk of a merge into `event_keys`, at
    /// least twice the `pace` events the transaction stores, so merging gains on ingest. Freezes
    /// `active` and starts sorting it once it has reached the threshold.
    func mergeStep(on connection: SQLiteConnection, pace: Int) throws -> MergeStep? {
        if filter == nil, let scanned = filterScan.take() {
            switch scanned {
            case .success(var filled):
                for key in mergedDuringScan { filled.add(key) }
                filter = filled
            case .failure:
                scanFailed = true  // Logged by the scan; keys are still merged into mergedDuringScan.
            }
        }
        if merge == nil, sorting, let ready = sorted.take() {
            merge = ready
            sorting = false
        }
        if merge == nil, !sorting, active.count >= mergeThreshold {
            sorting = true
            frozen = active
            active = Self.emptySet(for: mergeThreshold)
            let (keys, throughEvent) = (frozen, latestEvent)
            sorted.start { Merge(keys: Self.sorted(keys), throughEvent: throughEvent) }
        }
        guard let merge else { return nil }
        let end = min(merge.keys.count, merge.next + max(Self.minimumChunk, 2 * pace))
        let insert = try connection.prepare("INSERT OR IGNORE INTO event_keys (provider, external_id) VALUES (?, ?)")
        for key in merge.keys[merge.next..<end] {
            insert.reset()
            try insert.bind(1, key.provider)
            try insert.bind(2, key.externalID)
            try insert.run()
            // Before the commit: if it rolls back, the filter only says "maybe" once too often.
            if filter == nil { mergedDuringScan.append(key) } else { filter?.add(key) }
        }
        let finished = end == merge.keys.count
        if finished {
            let advance = try connection.prepare("UPDATE event_keys_merged SET through_event = ? WHERE id = 1")
            defer { advance.reset() }
            try advance.bind(1, merge.throughEvent)
            try advance.run()
        }
        return MergeStep(next: end, finished: finished)
    }

    /// After a transaction committed: `stored` are the keys of the events it stored, the highest of
    /// them `latestEvent`; `step` is what ``mergeStep(on:pace:)`` did in it. (After a rollback, call
    /// nothing: the step is repeated by the next commit.)
    func committed(stored: Set<Key>, latestEvent: Int64, step: MergeStep?) {
        active.formUnion(stored)
        self.latestEvent = max(self.latestEvent, latestEvent)
        guard let step, var merge else { return }
        if step.finished {
            tableKeys += merge.keys.count
            // Below ten bits a key the filter's "maybe" grows common: read the table into one twice the
            // size. After a failed scan, read it again. Either way every merged key is committed now,
            // so the new scan reads them all.
            let outgrown = filter.map { tableKeys * 10 > $0.bitCount } ?? false
            if outgrown || scanFailed {
                if let current = filter {  // Outgrown (after a failed scan there is none).
                    filterBits = current.bitCount * 2
                    filter = nil
                }
                scanFailed = false
                mergedDuringScan = []
                startFilterScan()
            }
            let finished = (frozen, consume merge)
            frozen = []
            self.merge = nil
            // Freeing 32,768 keys is a millisecond the writer need not spend.
            DispatchQueue.global(qos: .utility).async { withExtendedLifetime(finished) {} }
        } else {
            merge.next = step.next
            self.merge = merge
        }
    }
}

/// Reads the keys in `event_keys` into a filter, through a read-only connection of its own. It reads
/// 10,000 keys per statement, each its own read transaction, so no snapshot is held long enough to stop
/// checkpoints from restarting the log; a key it misses was merged after it began, and the writer
/// keeps those.
enum FilterScan {
    /// Reads every key of `event_keys`, `page` keys per statement, into a filter of `bits` bits;
    /// returns it and how many keys it read.
    static func read(dataDirectory: URL, bits: Int, page: Int64 = 10_000) throws -> (filter: KeyFilter, keys: Int) {
        var keys = 0
        let connection = try Database.openReader(dataDirectory: dataDirectory)
        var filter = KeyFilter(bits: bits)
        let first = try connection.prepare("SELECT provider, external_id FROM event_keys ORDER BY provider, external_id LIMIT ?")
        defer { first.reset() }
        let next = try connection.prepare(
            "SELECT provider, external_id FROM event_keys WHERE (provider, external_id) > (?, ?) ORDER BY provider, external_id LIMIT ?")
        defer { next.reset() }
        var last: EventKeys.Key?
        while true {
            let rows = last == nil ? first : next
            rows.reset()
            if let last {
                try rows.bind(1, last.provider)
                try rows.bind(2, last.externalID)
            }
            try rows.bind(last == nil ? 1 : 3, page)
            var count: Int64 = 0
            while try rows.step() {
                let key = EventKeys.Key(provider: rows.text(0) ?? "", externalID: rows.text(1) ?? "")
                filter.add(key)
                last = key
                count += 1
            }
            keys += Int(count)
            if count < page { return (filter, keys) }
        }
    }
}

/// Runs work on another thread (sorting a merge's 65,536 keys takes tens of milliseconds, reading the
/// filter seconds, which the requests waiting on the writer should not) and holds the result until the
/// writer takes it.
private final class BackgroundResult<Value: Sendable>: Sendable {
    private let slot = Mutex<Value?>(nil)

    func start(_ work: @escaping @Sendable () -> Value) {
        DispatchQueue.global(qos: .utility).async { [self] in
            let value = work()
            slot.withLock { $0 = value }
        }
    }

    func take() -> Value? {
        slot.withLock { slot in
            defer { slot = nil }
            return slot
        }
    }
}
