import PluginAPI
import Synchronization

/// The forwarding targets in force: read at start, replaced by each plugins.json reload. The event
/// log's fan-out, the delivery worker and the admin routes all read it here, so a reload reaches them
/// together.
final class ForwardingTable: Sendable {
    /// What a replacement changed, by destination id (each list sorted).
    struct Change: Sendable, Equatable {
        var added: [String] = []
        var removed: [String] = []
        /// Same id, but another URL, provider, event-type filter or signing key.
        var modified: [String] = []

        var isEmpty: Bool { added.isEmpty && removed.isEmpty && modified.isEmpty }
    }

    private let targets: Mutex<[ForwardingTarget]>
    /// Rings after every replacement that changed something.
    let changed = Doorbell()

    init(_ targets: [ForwardingTarget]) { self.targets = Mutex(targets) }

    /// The targets now in force.
    var current: [ForwardingTarget] { targets.withLock { $0 } }

    /// The destinations now in force.
    var destinations: [Destination] { current.map(\.destination) }

    /// Whether `target` is in force as it is (same destination and key).
    func isCurrent(_ target: ForwardingTarget) -> Bool {
        targets.withLock { $0.contains { $0 == target } }
    }

    /// Puts `new` in force and returns what changed; rings ``changed`` unless nothing did.
    @discardableResult
    func replace(with new: [ForwardingTarget]) -> Change {
        let change = targets.withLock { targets in
            defer { targets = new }
            return Self.difference(from: targets, to: new)
        }
        if !change.isEmpty { changed.ring() }
        return change
    }

    static func difference(from old: [ForwardingTarget], to new: [ForwardingTarget]) -> Change {
        let before = Dictionary(old.map { ($0.destination.id, $0) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(new.map { ($0.destination.id, $0) }, uniquingKeysWith: { first, _ in first })
        return Change(
            added: after.keys.filter { before[$0] == nil }.sorted(),
            removed: before.keys.filter { after[$0] == nil }.sorted(),
            modified: after.filter { id, target in before[id].map { $0 != target } ?? false }.keys.sorted())
    }
}

extension ForwardingTarget: Equatable {
    /// Equal when the destination (its configuration, references included) and the resolved signing
    /// key are. (Keys are compared in constant time, as every secret is.)
    static func == (lhs: ForwardingTarget, rhs: ForwardingTarget) -> Bool {
        lhs.destination == rhs.destination && ConstantTime.equals(lhs.signature.key, rhs.signature.key)
    }
}
