import Foundation
import PluginAPI
import PluginTesting
import Testing

@testable import Host

/// A delivery store on a fresh database whose events fan out to destination `crm`, with a manual clock.
final class DeliveryStoreFixture: Sendable {
    let directory: URL
    let clock = ManualClock(1_700_000_000)
    let log: EventLog
    let store: DeliveryStore

    init() throws {
        directory = try TemporaryDirectory.make()
        let destination = Destination(id: "crm", provider: "test", url: "http://127.0.0.1:9/hooks", eventTypes: nil, secret: Forwarding.secret)
        log = try EventLog(dataDirectory: directory, logger: .disabled, fanOut: DeliveryFanOut(table: ForwardingTable([ForwardingTarget(destination: destination, signature: try StandardWebhookSignature(secret: Forwarding.secret))]), maxAttempts: 1, created: Doorbell()))
        store = DeliveryStore(
            database: log, reader: DatabaseReader(connection: try Database.openReader(dataDirectory: directory), label: "test.deliveries.reader"),
            clock: clock, retryPolicy: RetryPolicy(), maxAttempts: 1, created: Doorbell())
    }

    /// Stores `count` events, each creating one pending delivery; returns the deliveries' ids in order.
    func deliveries(_ count: Int) async throws -> [Int64] {
        _ = try await log.append(provider: "test", events: (0..<count).map { NewEvent(externalID: "e\($0)", type: "t", rawBody: [], payload: [:]) })
        return try await store.deliveries(destination: "crm", state: .pending, limit: 1000).map(\.id)
    }

    func attemptRows(_ deliveryID: Int64) async throws -> Int64 {
        try await log.write { connection in
            let select = try connection.prepare("SELECT count(*) FROM delivery_attempts WHERE delivery_id = ?")
            defer { select.reset() }
            try select.bind(1, deliveryID)
            _ = try select.step()
            return select.int64(0)
        }
    }

    func remove() {
        log.close()
        try? FileManager.default.removeItem(at: directory)  // Best effort cleanup.
    }
}

@Suite("Delivery retention, manual retry, Retry-After bounds and redirects")
struct DeliveryMaintenanceTests {
    static let delivered = AttemptOutcome(status: 200, latencyMilliseconds: 1, error: nil, retryAfter: nil)
    static let failed = AttemptOutcome(status: 500, latencyMilliseconds: 1, error: "HTTP 500", retryAfter: nil)

    @Test("Delivered deliveries past retention are deleted with their attempts, in batches; dead and pending ones stay")
    func retention() async throws {
        let fixture = try DeliveryStoreFixture()
        defer { fixture.remove() }
        let store = fixture.store
        let ids = try await fixture.deliveries(5)
        for id in ids.prefix(3) { try await store.record(id, attemptedAt: store.now, Self.delivered) }
        #expect(try await store.record(ids[3], attemptedAt: store.now, Self.failed) == .dead)
        fixture.clock.advance(by: 7 * 86_400 - 1)
        #expect(try await store.deleteDelivered(olderThan: 7 * 86_400) == 0)
        fixture.clock.advance(by: 1)
        #expect(try await store.deleteDelivered(olderThan: 7 * 86_400, batch: 2) == 3)
        let left = try await store.deliveries(destination: nil, state: nil, limit: 1000)
        #expect(left.map(\.id) == [ids[3], ids[4]])
        #expect(left.map(\.state) == [.dead, .pending])
        #expect(try await fixture.attemptRows(ids[0]) == 0)
        #expect(try await fixture.attemptRows(ids[3]) == 1)
    }

    @Test("Retention keeps the newest delivery, so a new delivery never gets an id (a webhook-id) a receiver already saw")
    func retentionNeverReusesIDs() async throws {
        let fixture = try DeliveryStoreFixture()
        defer { fixture.remove() }
        let store = fixture.store
        let ids = try await fixture.deliveries(3)
        for id in ids { try await store.record(id, attemptedAt: store.now, Self.delivered) }
        fixture.clock.advance(by: 7 * 86_400)
        #expect(try await store.deleteDelivered(olderThan: 7 * 86_400) == 2)
        #expect(try await store.deliveries(destination: nil, state: nil, limit: 10).map(\.id) == [ids[2]])
        _ = try await fixture.log.append(provider: "test", events: [NewEvent(externalID: "later", type: "t", rawBody: [], payload: [:])])
        let next = try await store.deliveries(destination: "crm", state: .pending, limit: 10).map(\.id)
        #expect(next.count == 1 && next[0] > ids[2], "a fresh id, past every id handed out: \(next)")
    }

    @Test("Only a dead delivery whose destination is still configured can be retried; it is pending again with its attempts reset")
    func retryDeadInStore() async throws {
        let fixture = try DeliveryStoreFixture()
        defer { fixture.remove() }
        let store = fixture.store
        let ids = try await fixture.deliveries(2)
        #expect(try await store.record(ids[0], attemptedAt: store.now, Self.failed) == .dead)
        #expect(try await store.retryDead(ids[0], configured: []) == .destinationGone("crm"))
        #expect(try await store.retryDead(ids[1], configured: ["crm"]) == .notDead(state: "pending"))
        #expect(try await store.retryDead(999, configured: ["crm"]) == .notFound)
        fixture.clock.advance(by: 60)
        #expect(try await store.retryDead(ids[0], configured: ["crm"]) == .retried(destination: "crm"))
        let head = try #require(try await store.head(destination: "crm"))
        #expect(head.id == ids[0] && head.attempts == 0 && head.nextAttemptAt == store.now)
        let record = try #require(try await store.deliveries(destination: "crm", state: .pending, limit: 10).first)
        #expect(record.attemptLog.count == 1 && record.lastError == "HTTP 500", "the earlier attempts stay on record")
    }

    @Test("POST /api/admin/deliveries/{id}/retry sends a dead delivery again with the same webhook-id; 409, 404 and 401 otherwise")
    func retryRoute() async throws {
        let destination = try ScriptedDestination([Response(status: 500), Response(status: 500)])
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: destination.url)], configure: Forwarding.fastRetries(maxAttempts: 2)) { hub in
            try await Forwarding.sendSlackEvent(hub)
            let dead = try #require(try await Forwarding.deliveries(hub) { $0.first?.state == .dead }.first)
            let token = ("Authorization", "Bearer \(TestHub.adminToken)")
            #expect(try await hub.request("POST", "/api/admin/deliveries/\(dead.id)/retry").status == 401)
            let retried = try await hub.request("POST", "/api/admin/deliveries/\(dead.id)/retry", headers: [token])
            #expect(retried.status == 202)
            #expect(try retried.json()["delivery"]?["state"] == "pending")
            let requests = try await destination.waitForRequests(3)
            #expect(Set(requests.map { $0.headers["webhook-id"] ?? "" }) == ["dlv_\(dead.id)"])
            let delivered = try #require(try await Forwarding.deliveries(hub) { $0.first?.state == .delivered }.first)
            #expect(delivered.attemptLog.map(\.status) == [500, 500, 200])
            let again = try await hub.request("POST", "/api/admin/deliveries/\(dead.id)/retry", headers: [token])
            #expect(again.status == 409 && again.errorCode == "conflict")
            #expect(try await hub.request("POST", "/api/admin/deliveries/999999/retry", headers: [token]).status == 404)
            #expect(try await hub.request("POST", "/api/admin/deliveries/x/retry", headers: [token]).status == 404)
        }
        await destination.stop()
    }

    @Test("A Retry-After too large to represent is bounded by the retry cap instead of trapping the hub")
    func hugeRetryAfter() async throws {
        let destination = try ScriptedDestination([Response(status: 429, headers: ["Retry-After": "1e300"])])
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: destination.url)]) { hub in
            try await Forwarding.sendSlackEvent(hub)
            let delivery = try #require(try await Forwarding.deliveries(hub) { $0.first?.state == .delivered }.first)
            #expect(delivery.attemptLog.map(\.status) == [429, 200])
        }
        await destination.stop()
    }

    @Test("A redirect is an answer, not followed: the signed request never reaches the other host")
    func redirectsAreNotFollowed() async throws {
        let elsewhere = try ScriptedDestination()
        let redirecting = try ScriptedDestination(Array(repeating: Response(status: 307, headers: ["Location": elsewhere.url]), count: 5))
        try await Forwarding.withHub(destinations: [Forwarding.destination("crm", url: redirecting.url)], configure: Forwarding.fastRetries(maxAttempts: 2)) { hub in
            try await Forwarding.sendSlackEvent(hub)
            let delivery = try #require(try await Forwarding.deliveries(hub) { $0.first?.state == .dead }.first)
            #expect(delivery.attemptLog.map(\.status) == [307, 307])
            #expect(delivery.lastError == "HTTP 307")
        }
        #expect(elsewhere.requests.isEmpty)
        await redirecting.stop()
        await elsewhere.stop()
    }

    @Test("Response bodies are bounded: one over the client's limit fails the request instead of filling memory; one within it is returned whole")
    func responseBodiesBounded() async throws {
        let server = try FakeServer { request in
            Response(status: 200, body: [UInt8](repeating: UInt8(ascii: "x"), count: request.path == "/large" ? 64 * 1024 : 1024))
        }
        let client = URLSessionHTTPClient(maxResponseBytes: 4096)
        let small = try await client.send(OutboundRequest(url: server.url("/small")))
        #expect(small.status == 200 && small.body.count == 1024)
        do {
            _ = try await client.send(OutboundRequest(url: server.url("/large")))
            Issue.record("a 64 KiB body passed a 4 KiB limit")
        } catch let error as OutboundError {
            #expect(error.reason == "the response body is larger than 4096 bytes")
        }
        await server.stop()
    }

    @Test("The request timeout bounds the whole exchange, not only idle time: a server that never finishes fails the request")
    func timeoutBoundsTheExchange() async throws {
        let release = Doorbell()
        let server = try FakeServer { _ in
            await release.wait(since: release.generation)
            return Response(status: 200)
        }
        let client = URLSessionHTTPClient()
        do {
            _ = try await client.send(OutboundRequest(url: server.url("/slow"), timeout: .milliseconds(300)))
            Issue.record("a response that never came was returned")
        } catch let error as OutboundError {
            #expect(error.reason == "no complete response within the request's timeout")
        }
        release.ring()
        await server.stop()
    }
}
