import Foundation
import PluginAPI
import Plugins
import PluginTesting
import Testing

@testable import Host

@Suite("Audit log and admin gate")
struct AuditAndAdminTests {
    /// Audit rows of `type`, read through the security API.
    static func auditRows(_ hub: TestHub, type: AuditEvent.Kind) async throws -> [JSONValue] {
        let response = try await hub.admin("/api/security/audit?type=\(type.rawValue)&limit=1000")
        #expect(response.status == 200)
        return try #require(response.json()["events"]?.arrayValue, "the audit API answered without an events array")
    }

    @Test("Bad signatures and stale timestamps are audited, one row per provider, address and minute plus a summary")
    func webhookFailuresAreAggregated() async throws {
        let clock = ManualClock(Date().timeIntervalSince1970)
        try await withHub(clock: clock) { hub in
            let body = SlackSigner.eventBody()
            for _ in 0..<5 {
                var headers = SlackSigner().headers(body: body, timestamp: Int(clock.now()))
                headers[1].1 = "v0=" + String(repeating: "0", count: 64)
                let response = try await hub.request("POST", "/api/webhooks/slack", headers: headers, body: body)
                #expect(response.status == 401)
            }
            let stale = try await hub.request("POST", "/api/webhooks/slack", headers: SlackSigner().headers(body: body, timestamp: Int(clock.now()) - 3600), body: body)
            #expect(stale.errorCode == "stale_timestamp")

            var rows = try await Self.auditRows(hub, type: .webhookSignatureFailure)
            #expect(rows.count == 1)
            #expect(rows.first?["ip_address"]?.stringValue == "127.0.0.1")
            #expect(rows.first?["details"]?["provider"]?.stringValue == "slack")
            let staleRows = try await Self.auditRows(hub, type: .webhookStaleTimestamp)
            #expect(staleRows.count == 1)

            clock.advance(by: 61)
            hub.hub.auditLog.flushFinishedWindows()
            rows = try await Self.auditRows(hub, type: .webhookSignatureFailure)
            #expect(rows.count == 2)
            #expect(rows.first?["details"]?["suppressed"]?.numberValue == 4)
        }
    }

    @Test("Admin and security routes: 403 without ADMIN_TOKEN configured, 401 without or with a wrong token",
          arguments: ["/api/admin/events", "/api/security/configuration", "/api/security/audit", "/api/security/nosuch", "/api/admin", "/api/security"])
    func adminRoutesNeedTheToken(_ path: String) async throws {
        try await withHub(environment: ["SLACK_SIGNING_SECRET": TestHub.slackSecret]) { hub in
            let closed = try await hub.request("GET", path)
            #expect(closed.status == 403)
            let closedWithToken = try await hub.request("GET", path, headers: [("Authorization", "Bearer anything")])
            #expect(closedWithToken.status == 403)
        }
        try await withHub { hub in
            let none = try await hub.request("GET", path)
            #expect(none.status == 401)
            #expect(none.errorCode == "unauthorized")
            let wrong = try await hub.request("GET", path, headers: [("Authorization", "Bearer wrong-token")])
            #expect(wrong.status == 401)
        }
    }

    @Test("Behind a trusted proxy the client is taken from X-Forwarded-For: one client's failures block that client, not the proxy's others")
    func trustedProxyNamesTheClient() async throws {
        var server = ServerConfiguration()
        server.port = 0
        server.trustedProxies = ["127.0.0.1"]
        try await withHub(server: server) { hub in
            func admin(token: String, forwardedFor: String) async throws -> TestResponse {
                try await hub.request("GET", "/api/admin/events", headers: [("Authorization", "Bearer \(token)"), ("X-Forwarded-For", forwardedFor)])
            }
            for _ in 0..<10 { #expect(try await admin(token: "guess", forwardedFor: "198.51.100.1, 203.0.113.7").status == 401) }
            #expect(try await admin(token: TestHub.adminToken, forwardedFor: "203.0.113.7").status == 429, "the guessing client is blocked")
            #expect(try await admin(token: TestHub.adminToken, forwardedFor: "203.0.113.8").status == 200, "another client of the proxy is not")
            let failures = try await Self.auditRows(hub, type: .adminAuthFailure)
            #expect(failures.first?["ip_address"]?.stringValue == "203.0.113.7", "the address the proxy saw, not what the client wrote before it")
        }
        // Without trusting the proxy the header is ignored: every client is the TCP peer.
        try await withHub { hub in
            for _ in 0..<10 {
                let response = try await hub.request("GET", "/api/admin/events", headers: [("Authorization", "Bearer guess"), ("X-Forwarded-For", "203.0.113.7")])
                #expect(response.status == 401)
            }
            let other = try await hub.request("GET", "/api/admin/events", headers: [("Authorization", "Bearer \(TestHub.adminToken)"), ("X-Forwarded-For", "203.0.113.8")])
            #expect(other.status == 429)
        }
    }

    @Test("X-Forwarded-For is read from the right past trusted proxies; garbage ends the walk; untrusted peers are taken as they are")
    func clientAddressResolution() throws {
        let resolver = try ClientAddress.trusting(["10.0.0.1", "10.0.0.2", "::1"]).get()
        func resolve(_ peer: String, _ values: [String]) -> String {
            resolver.resolve(peer: peer, headers: HTTPHeaders(values.map { (name: "X-Forwarded-For", value: $0) }))
        }
        #expect(resolve("192.0.2.9", ["203.0.113.7"]) == "192.0.2.9", "an untrusted peer's header is ignored")
        #expect(resolve("10.0.0.1", []) == "10.0.0.1")
        #expect(resolve("10.0.0.1", ["203.0.113.7"]) == "203.0.113.7")
        #expect(resolve("10.0.0.1", ["6.6.6.6, 203.0.113.7, 10.0.0.2"]) == "203.0.113.7", "past the second proxy, not the client-written left")
        #expect(resolve("10.0.0.1", ["6.6.6.6", "203.0.113.7"]) == "203.0.113.7", "several fields read as one list")
        #expect(resolve("10.0.0.1", ["203.0.113.7, evil\r\n"]) == "10.0.0.1", "a garbled last hop leaves the proxy itself")
        #expect(resolve("10.0.0.1", ["not-an-ip, 203.0.113.7"]) == "203.0.113.7")
        #expect(resolve("::1", ["2001:DB8::0:1"]) == "2001:db8::1", "IPv6 in canonical form")
        #expect(resolve("10.0.0.1", ["10.0.0.2"]) == "10.0.0.2", "only proxies: the leftmost")
        guard case .failure(let invalid) = ClientAddress.trusting(["10.0.0.1", "proxy.example"]) else {
            Issue.record("a host name was accepted as a trusted proxy")
            return
        }
        #expect(invalid.text == "proxy.example")
    }

    @Test("Admin auth failures are audited without the token; the 10th in a minute blocks the address with 429 and Retry-After")
    func repeatedFailuresAreRateLimited() async throws {
        let clock = ManualClock(Date().timeIntervalSince1970)
        try await withHub(clock: clock) { hub in
            for _ in 0..<10 {
                let response = try await hub.request("GET", "/api/admin/events", headers: [("Authorization", "Bearer guess-\(UUID().uuidString)")])
                #expect(response.status == 401)
            }
            let blocked = try await hub.request("GET", "/api/admin/events", headers: [("Authorization", "Bearer \(TestHub.adminToken)")])
            #expect(blocked.status == 429)
            #expect(blocked.errorCode == "too_many_requests")
            let retryAfter = try #require(blocked.header("Retry-After").flatMap { Int($0) })
            #expect((1...60).contains(retryAfter))

            clock.advance(by: 61)
            let failures = try await Self.auditRows(hub, type: .adminAuthFailure)
            #expect(failures.count == 1)
            #expect(failures.first?["ip_address"]?.stringValue == "127.0.0.1")
            let limited = try await Self.auditRows(hub, type: .adminRateLimited)
            #expect(limited.count == 1)
            let critical = try await hub.admin("/api/security/audit?severity=critical").json()["events"]?.arrayValue ?? []
            #expect(critical.map { $0["event_type"]?.stringValue } == ["admin_rate_limited"])
            let futureResponse = try await hub.admin("/api/security/audit?since=\(Int(clock.now()) + 3600)")
            #expect(futureResponse.status == 200)
            #expect(try #require(futureResponse.json()["events"]?.arrayValue).isEmpty)
            let pastResponse = try await hub.admin("/api/security/audit?since=\(Int(clock.now()) - 3600)")
            #expect(try #require(pastResponse.json()["events"]?.arrayValue).count >= 2, "since in the past keeps the rows")
            let limitedToOne = try await hub.admin("/api/security/audit?limit=1").json()["events"]?.arrayValue ?? []
            #expect(limitedToOne.count == 1)
            let all = try await hub.admin("/api/security/audit?limit=1000")
            #expect(!String(decoding: all.body, as: UTF8.self).contains("guess-"))
        }
    }

    @Test("Audit queries filter by type, severity and since, and reject bad parameters",
          arguments: ["type=nosuch", "severity=loud", "limit=0", "limit=x", "since=yesterday"])
    func auditQueryValidation(_ query: String) async throws {
        try await withHub { hub in
            let response = try await hub.admin("/api/security/audit?\(query)")
            #expect(response.status == 400)
            #expect(response.errorCode == "bad_request")
        }
    }

    @Test("Throttling is bounded: with the table full, new keys share one overflow row per type and minute")
    func throttlingOverflow() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let clock = ManualClock(1_800_000_000)
        let database = try EventLog(dataDirectory: directory, logger: .disabled)
        defer { database.close() }
        let log = AuditLog(database: database, retentionDays: 90, clock: clock, logger: .disabled, maximumWindows: 1)
        for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"] {
            log.recordThrottled(AuditEvent(.adminAuthFailure, severity: .warning, ipAddress: address), key: address)
        }
        var rows = try await log.query(AuditFilter())
        #expect(rows.count == 2)
        #expect(rows.filter { $0.event.details["overflow"] != nil }.count == 1)
        clock.advance(by: 60)
        log.flushFinishedWindows()
        rows = try await log.query(AuditFilter())
        log.close()
        #expect(rows.count == 3)
        #expect(rows.first?.event.details["suppressed"]?.numberValue == 2)
    }

    @Test("Retention deletes rows older than AUDIT_RETENTION_DAYS at startup")
    func retention() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let connection = try Database.openWriter(dataDirectory: directory)
        let now = Date().timeIntervalSince1970
        try connection.transaction {
            // More old rows than one retention batch deletes, so the batching loop must run several times.
            for _ in 0..<1203 {
                try AuditLog.insert(AuditEvent(.secretSet, severity: .info), timestamp: Int64((now - 10 * 86_400) * 1000), on: connection)
            }
            try AuditLog.insert(AuditEvent(.secretSet, severity: .info), timestamp: Int64((now - 86_400) * 1000), on: connection)
        }
        let database = try EventLog(dataDirectory: directory, logger: .disabled)
        defer { database.close() }
        let log = AuditLog(database: database, retentionDays: 5, clock: SystemClock(), logger: .disabled)
        let rows = try await log.query(AuditFilter())
        log.close()
        #expect(rows.count == 1)
        #expect(SecurityReview.retentionDays(nil) == 90)
        #expect(SecurityReview.retentionDays("0") == nil)
    }

    @Test("The failure limiter blocks at the limit for the rest of the window and bounds its memory")
    func limiterWindowsAndBounds() {
        let clock = ManualClock(1_000)
        let limiter = FailureRateLimiter(limit: 3, windowSeconds: 60, maximumAddresses: 2, clock: clock)
        #expect(!limiter.recordFailure("a") && !limiter.recordFailure("a"))
        #expect(limiter.retryAfter("a") == nil)
        #expect(limiter.recordFailure("a"))
        clock.advance(by: 20)
        #expect(limiter.retryAfter("a") == 40)
        #expect(!limiter.recordFailure("b"))
        // The table is full: new addresses count together, and block together.
        #expect(!limiter.recordFailure("c") && !limiter.recordFailure("d"))
        #expect(limiter.retryAfter("c") == nil)
        #expect(limiter.recordFailure("e"), "the third failure of untracked addresses reaches the limit")
        #expect(limiter.retryAfter("c") == 60 && limiter.retryAfter("f") == 60, "every untracked address is blocked (the overflow window began now)")
        #expect(limiter.retryAfter("b") == nil, "a tracked address keeps its own count")
        clock.advance(by: 60)
        #expect(limiter.retryAfter("a") == nil && limiter.retryAfter("c") == nil)
        for _ in 0..<3 { _ = limiter.recordFailure("c") }
        #expect(limiter.retryAfter("c") != nil && limiter.retryAfter("d") == nil, "finished windows were swept: c is tracked on its own")
    }

    @Test("IPv6 failures count by /64; IPv4-mapped addresses as their IPv4 address")
    func limiterCountsIPv6ByNetwork() {
        let limiter = FailureRateLimiter(limit: 3, windowSeconds: 60, clock: ManualClock(1_000))
        for host in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"] { _ = limiter.recordFailure(host) }
        #expect(limiter.retryAfter("2001:db8:1:2::abcd") != nil, "another address of the same /64")
        #expect(limiter.retryAfter("2001:db8:1:3::1") == nil, "the next /64")
        for _ in 0..<3 { _ = limiter.recordFailure("::ffff:192.0.2.7") }
        #expect(limiter.retryAfter("192.0.2.7") != nil)
        #expect(ClientAddress.limitKey("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64")
        #expect(ClientAddress.limitKey("192.0.2.1") == "192.0.2.1")
    }
}

/// Declares a route under the admin gate's prefix, which the host refuses.
final class AdminSquatterProvider: Provider {
    static let descriptor = ProviderDescriptor(id: "squatter", displayName: "Squatter", routes: [.get("/api/security/open") { (_: AdminSquatterProvider, _) in .empty() }])
    init(context: ProviderContext) throws {}
}

/// Takes an id whose tables (`event_…`) would include the host's `event_keys`.
final class TableSquatterProvider: Provider {
    static let descriptor = ProviderDescriptor(id: "event", displayName: "Event", routes: [])
    init(context: ProviderContext) throws {}
}

extension AuditAndAdminTests {
    @Test("A provider id whose tables would include a host table stops startup")
    func providersStayOutOfHostTables() throws {
        #expect(Database.hostTables.contains("event_keys") && Database.hostTables.contains("oauth_links") && Database.hostTables.contains("schema_migrations"))
        let error = #expect(throws: RouteConflictError.self) {
            _ = try TestHub(plugins: #"{"providers": {}}"#, providerTypes: [TableSquatterProvider.self])
        }
        #expect(error?.description.contains("'event_keys'") == true)
    }

    @Test("A provider cannot declare a route under /api/admin/ or /api/security/")
    func providersStayOutOfAdminPrefixes() throws {
        let error = #expect(throws: RouteConflictError.self) {
            _ = try TestHub(plugins: #"{"providers": {}}"#, providerTypes: [AdminSquatterProvider.self])
        }
        #expect(error?.description.contains("squatter") == true)
    }
}
