import Foundation
import PluginAPI

/// A contact's engagement, derived only from stored events: counts by type, first and last activity,
/// and a 0–100 score that is the sum of its listed factors. The same events and time give the same answer.
struct ContactInsight {
    /// One part of the score, with why it earned its points.
    struct Factor {
        let name: String
        let points: Int
        let maximum: Int
        let detail: String
    }

    let contactID: String
    let eventCount: Int
    let countsByType: [(type: String, count: Int)]
    let firstActivity: Double
    let lastActivity: Double
    let factors: [Factor]
    /// True when `events` may not be all of the contact's events (the read hit its limit).
    let isTruncated: Bool

    /// Full volume points at this many events.
    static let fullVolume = 20
    /// Recency points fall to zero over this many days.
    static let recencyDays = 90.0
    /// Full variety points at this many kinds of events.
    static let fullVariety = 4

    /// Nil when there are no events: nothing is known, and nothing is made up.
    init?(contactID: String, events: [RecordedEvent], now: Double, isTruncated: Bool = false) {
        guard !events.isEmpty else { return nil }
        self.isTruncated = isTruncated
        let times = events.map { $0.occurredAt ?? $0.receivedAt }
        var counts: [String: Int] = [:]
        for event in events { counts[event.type, default: 0] += 1 }
        self.contactID = contactID
        eventCount = events.count
        countsByType = counts.sorted { $0.key < $1.key }.map { (type: $0.key, count: $0.value) }
        firstActivity = times.min()!
        lastActivity = times.max()!
        let latest = zip(events, times).max { $0.1 < $1.1 }!.0
        if latest.type == "contact.deletion" {
            factors = [Factor(name: "deleted", points: 0, maximum: 100, detail: "the contact's latest event is a deletion")]
            return
        }
        // Clamped: a signed but absurd occurredAt (say -1e30) must not overflow Int below.
        let elapsed = now - lastActivity
        let days = elapsed.isFinite ? min(max(0, elapsed) / 86_400, 1_000_000) : 1_000_000
        factors = [
            Factor(
                name: "volume", points: Int((40 * Double(min(events.count, Self.fullVolume)) / Double(Self.fullVolume)).rounded()), maximum: 40,
                detail: "\(events.count) events stored; \(Self.fullVolume) or more earn all points"),
            Factor(
                name: "recency", points: Int((40 * max(0, 1 - days / Self.recencyDays)).rounded()), maximum: 40,
                detail: "last activity \(Int(days)) days ago; points fall to none over \(Int(Self.recencyDays)) days"),
            Factor(
                name: "variety", points: Int((20 * Double(min(counts.count, Self.fullVariety)) / Double(Self.fullVariety)).rounded()), maximum: 20,
                detail: "\(counts.count) kinds of events; \(Self.fullVariety) or more earn all points"),
        ]
    }

    /// The score: the sum of the factors' points, 0 to 100.
    var score: Int { factors.reduce(0) { $0 + $1.points } }

    var json: JSONValue {
        [
            "contactId": .string(contactID),
            "events": .number(Double(eventCount)),
            "countsByType": .object(JSONObject(countsByType.map { (key: $0.type, value: .number(Double($0.count))) })),
            "firstActivity": .string(Self.iso8601(firstActivity)),
            "lastActivity": .string(Self.iso8601(lastActivity)),
            "engagementScore": .number(Double(score)),
            "factors": .array(
                factors.map {
                    [
                        "name": .string($0.name), "points": .number(Double($0.points)), "max": .number(Double($0.maximum)),
                        "detail": .string($0.detail),
                    ]
                }),
            "basis": .string(
                "computed from the \(eventCount) HubSpot events stored for this contact\(isTruncated ? " (the newest; older ones were not read)" : "")"
            ),
        ]
    }

    private static func iso8601(_ seconds: Double) -> String {
        Date(timeIntervalSince1970: seconds).ISO8601Format()
    }
}
