import Foundation
import PluginAPI
import PluginTesting
import Testing

@testable import Host

/// Token endpoint answers the hub must survive, each holding a marker that must never leave the hub.
struct TokenAnswer: Sendable, CustomStringConvertible {
    static let marker = "client_secret=leaked-marker-7f3a"

    let description: String
    let response: Response

    static let all = [
        TokenAnswer(description: "HTML 200", response: Response(status: 200, headers: ["Content-Type": "text/html"], body: Array("<html>\(marker)</html>".utf8))),
        TokenAnswer(
            description: "oversized 200",
            response: .json(["access_token": .string(marker), "padding": .string(String(repeating: "x", count: TokenEndpoint.maximumResponseBytes))])),
        TokenAnswer(description: "JSON array 200", response: .json([.string(marker)])),
        TokenAnswer(description: "500", response: .json(["error": "server_error", "error_description": .string(marker)], status: 500)),
        TokenAnswer(description: "400 with a description", response: .json(["error": "invalid_grant", "error_description": .string(marker)], status: 400)),
        TokenAnswer(description: "401 invalid_client", response: .json(["error": "invalid_client", "error_description": .string(marker)], status: 401)),
        TokenAnswer(description: "Slack ok:false", response: .json(["ok": false, "error": "invalid_code", "warning": .string(marker)])),
        TokenAnswer(description: "200 without access_token", response: .json(["token_type": "Bearer", "note": .string(marker)])),
    ]
}

@Suite("OAuth: whatever the token endpoint answers, the browser gets a clear error flag, never a 500 or the provider's body")
struct OAuthTokenEndpointTests {
    @Test("A token endpoint answer the hub cannot use ends the callback in oauth=error&error=token_exchange_failed, audited, nothing stored, the provider's text nowhere", arguments: TokenAnswer.all)
    func unusableExchange(_ answer: TokenAnswer) async throws {
        try await OAuthFixture.withOAuthHub(.gmail) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            let callback = try await OAuthFixture.consent(fake, location: try #require(try await OAuthFixture.authorize(hub, "gmail", user: "alice").header("Location")))
            fake.answerTokenRequests(with: answer.response)
            let response = try await hub.request("GET", callback)
            #expect(response.status == 302, "\(response.text)")
            let location = try #require(response.header("Location"))
            #expect(location.hasPrefix(OAuthFixture.appRedirect + "?"))
            #expect(OAuthFixture.query(location)["error"] == "token_exchange_failed")
            #expect(try await OAuthFixture.connections(hub).isEmpty)
            let rows = try await OAuthFixture.auditRows(hub, .oauthTokenExchangeFailed)
            #expect(rows.count == 1)
            let audit = try await hub.admin("/api/security/audit?limit=1000").text
            for text in [location, response.text, audit] + hub.logs.all { #expect(!text.contains("leaked-marker"), "\(text.prefix(200))") }
        }
    }

    @Test("A token endpoint that cannot be reached ends the callback in token_exchange_failed naming only the host, never a 500")
    func unreachableExchange() async throws {
        try await OAuthFixture.withOAuthHub(.teams) { hub, fake in
            try await OAuthFixture.createUser(hub, "alice")
            let callback = try await OAuthFixture.consent(fake, location: try #require(try await OAuthFixture.authorize(hub, "teams", user: "alice").header("Location")))
            await fake.stop()  // Nothing listens on its port any more (stopping again at the end is a no-op).
            let response = try await hub.request("GET", callback)
            #expect(response.status == 302, "\(response.text)")
            #expect(OAuthFixture.query(try #require(response.header("Location")))["error"] == "token_exchange_failed")
            let reason = try await OAuthFixture.auditRows(hub, .oauthTokenExchangeFailed).first?["details"]?["reason"]?.stringValue
            #expect(reason == "the provider could not be reached or failed: request to 127.0.0.1:\(fake.port) failed")
            #expect(try await OAuthFixture.connections(hub).isEmpty)
        }
    }

    @Test("A refresh answered by an unreadable success, a 5xx or a refusal of the hub's own client credentials is retried: the connection stays active (last_error says why), no needs_reauth", arguments: [
        TokenAnswer.all[0], TokenAnswer.all[1], TokenAnswer.all[3], TokenAnswer.all[5],
    ])
    func transientRefresh(_ answer: TokenAnswer) async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(.gmail, clock: clock) { hub, fake in
            _ = try await OAuthFixture.connect(hub, fake, .gmail)
            fake.answerTokenRequests(with: answer.response)
            clock.advance(by: 3300)
            _ = try await hub.hub.jobWorkers.runDueJobs()
            let retried = try await OAuthFixture.eventually {
                try await hub.hub.jobQueue.jobs(state: .queued).contains { $0.kind == OAuthService.refreshKind("gmail") && $0.attempts == 1 }
            }
            #expect(retried, "the refresh job is queued again for a later attempt")
            let connection = try #require(try await OAuthFixture.connections(hub).first)
            #expect(connection["status"] == "active")
            #expect(connection["last_error"]?.stringValue?.hasPrefix("the last refresh attempt failed") == true, "the admin API shows why")
            #expect(try await OAuthFixture.auditRows(hub, .oauthRefreshFailed).isEmpty)
            for line in hub.logs.all { #expect(!line.contains("leaked-marker"), "\(line.prefix(200))") }
        }
    }

    @Test("An outage of the token endpoint longer than a few retries does not end the refresh: it keeps retrying, and heals when the endpoint answers")
    func refreshOutlivesAnOutage() async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(.gmail, clock: clock) { hub, fake in
            _ = try await OAuthFixture.connect(hub, fake, .gmail)
            fake.answerTokenRequests(with: .json(["error": "temporarily_unavailable"], status: 503))
            clock.advance(by: 3300)
            for attempt in 1...12 {
                _ = try await hub.hub.jobWorkers.runDueJobs()
                let queued = try await OAuthFixture.eventually {
                    try await OAuthRefreshTests.refreshJobs(hub, "gmail").contains { $0.attempts == attempt }
                }
                #expect(queued, "after failed attempt \(attempt) the refresh is queued again")
                clock.advance(by: 3600)  // The queue's backoff cap: the retry is due.
            }
            #expect(try await hub.hub.jobQueue.jobs(state: .dead).isEmpty)
            #expect(try await OAuthRefreshTests.connection(hub)["status"] == "active")
            fake.answerTokenRequests(with: nil)  // The endpoint is back.
            _ = try await hub.hub.jobWorkers.runDueJobs()
            #expect(try await OAuthFixture.eventually { try await OAuthRefreshTests.connection(hub)["last_error"] == .null })
            #expect(try await hub.hub.oauth.tokens(for: "gmail").accessToken(userID: "alice") == fake.latestAccessToken)
        }
    }

    @Test("HubSpot's v1 refusal {\"status\": \"BAD_REFRESH_TOKEN\"} ends in needs_reauth under that code, without its message")
    func hubSpotRefusal() async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(.hubspot, clock: clock) { hub, fake in
            _ = try await OAuthFixture.connect(hub, fake, .hubspot)
            fake.answerTokenRequests(with: .json(["status": "BAD_REFRESH_TOKEN", "message": .string(TokenAnswer.marker)], status: 400))
            clock.advance(by: 3300)
            _ = try await hub.hub.jobWorkers.runDueJobs()
            #expect(try await OAuthFixture.eventually { try await OAuthFixture.connections(hub).first?["status"] == "needs_reauth" })
            let connection = try #require(try await OAuthFixture.connections(hub).first)
            #expect(connection["last_error"]?.stringValue?.contains("bad_refresh_token") == true)
            let rows = try await OAuthFixture.auditRows(hub, .oauthRefreshFailed)
            #expect(rows.first?["details"]?["error"] == "bad_refresh_token")
            #expect(!(try await hub.admin("/api/admin/connections").text.contains("leaked-marker")))
        }
    }
}
