import Foundation
import PluginAPI
import PluginTesting
import Testing

@testable import Host

@Suite("OAuth: tokens are refreshed before they expire; a refused refresh needs re-authorization")
struct OAuthRefreshTests {
    /// The queued refresh jobs of `provider`.
    static func refreshJobs(_ hub: TestHub, _ provider: String) async throws -> [JobRecord] {
        try await hub.hub.jobQueue.jobs(state: .queued).filter { $0.kind == OAuthService.refreshKind(provider) }
    }

    /// Stores new tokens living `expiresIn` seconds for the one active connection, as a refresh job
    /// commits them, without queuing their refresh; returns the connection before and after.
    static func storeRefreshedTokens(_ hub: TestHub, expiresIn: Double) async throws -> (before: OAuthConnection, after: OAuthConnection) {
        let oauth = hub.hub.oauth
        let before = try #require(try await oauth.store.connections(status: .active).first)
        let grant = TokenGrant(accessToken: "xoxe-new", refreshToken: "xoxe-1-new", expiresIn: expiresIn, scope: nil)
        let after = try await oauth.store.storeRefresh(id: before.id, generation: before.generation, grant: grant, key: try await oauth.keyring.key(), now: oauth.now)
        return (before, try #require(after))
    }

    /// The one connection, as the admin API shows it.
    static func connection(_ hub: TestHub) async throws -> JSONValue {
        try #require(try await OAuthFixture.connections(hub).first)
    }

    @Test("The refresh job is queued at expiry minus 5 minutes and, when due, replaces the access token and queues the next", arguments: [OAuthCase.slack, .gmail])
    func refreshBeforeExpiry(_ oauthCase: OAuthCase) async throws {
        let start = 1_800_000_000.0
        let clock = ManualClock(start)
        try await OAuthFixture.withOAuthHub(oauthCase, clock: clock) { hub, fake in
            _ = try await OAuthFixture.connect(hub, fake, oauthCase)
            let first = try #require(fake.latestAccessToken)
            let jobs = try await Self.refreshJobs(hub, oauthCase.provider)
            #expect(jobs.count == 1)
            #expect(jobs.first?.runAt == Int64((start + 3600 - 300) * 1000))
            #expect(try await hub.hub.jobWorkers.runDueJobs() == 0, "not due yet")

            clock.advance(by: 3300)
            _ = try await hub.hub.jobWorkers.runDueJobs()  // The workers' own slots may take it first; either way it runs once.
            #expect(try await OAuthFixture.eventually { try await Self.connection(hub)["last_refreshed_at"]?.numberValue != nil })
            #expect(fake.refreshCount == 1)
            let second = try #require(fake.latestAccessToken)
            #expect(second != first)
            #expect(try await hub.hub.oauth.tokens(for: oauthCase.provider).accessToken(userID: "alice") == second)
            let next = try await Self.refreshJobs(hub, oauthCase.provider)
            #expect(next.map(\.runAt) == [Int64((start + 3300 + 3600 - 300) * 1000)])
            #expect(try OAuthFixture.files(in: hub.dataDirectory, containing: fake.issuedTokens) == [])
        }
    }

    @Test("A refresh token the provider revoked ends in needs_reauth: admin API, audit row, and a typed error for the provider", arguments: [OAuthCase.slack, .hubspot])
    func revokedRefreshToken(_ oauthCase: OAuthCase) async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(oauthCase, clock: clock) { hub, fake in
            _ = try await OAuthFixture.connect(hub, fake, oauthCase)
            fake.revokeAllRefreshTokens()
            clock.advance(by: 3300)
            _ = try await hub.hub.jobWorkers.runDueJobs()
            #expect(try await OAuthFixture.eventually { try await Self.connection(hub)["status"] == "needs_reauth" })
            let connection = try await Self.connection(hub)
            #expect(connection["last_error"]?.stringValue?.contains(oauthCase.slackStyle ? "invalid_refresh_token" : "invalid_grant") == true)
            let listed = try await hub.admin("/api/admin/connections?status=needs_reauth").json()["connections"]?.arrayValue
            #expect(listed?.count == 1)

            let rows = try await OAuthFixture.auditRows(hub, .oauthRefreshFailed)
            #expect(rows.count == 1 && rows.first?["user_id"] == "alice" && rows.first?["details"]?["status"] == "needs_reauth")
            #expect(try await OAuthFixture.eventually { try await hub.hub.jobQueue.jobs(state: .dead).count == 1 })

            let id = try #require(connection["id"]?.numberValue).rounded()
            await #expect(throws: OAuthTokenError.needsReauth(provider: oauthCase.provider, userID: "alice", connectionID: Int64(id))) {
                try await hub.hub.oauth.tokens(for: oauthCase.provider).accessToken(userID: "alice")
            }
            await #expect(throws: OAuthTokenError.notConnected(provider: oauthCase.provider, userID: "bob")) {
                try await hub.hub.oauth.tokens(for: oauthCase.provider).accessToken(userID: "bob")
            }

            // Connecting again makes the connection active once more.
            let callback = try await OAuthFixture.consent(
                fake, location: try #require(try await OAuthFixture.authorize(hub, oauthCase.provider, user: "alice").header("Location")))
            #expect(try await hub.request("GET", callback).status == 302)
            #expect(try await Self.connection(hub)["status"] == "active")
            #expect(try await hub.hub.oauth.tokens(for: oauthCase.provider).accessToken(userID: "alice") == fake.latestAccessToken)
        }
    }

    @Test("Refresh does not need the provider instance: Teams with OAuth only (no webhook secret, so the provider is unavailable) still refreshes")
    func refreshWithoutProviderInstance() async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(.teams, clock: clock, environment: ["TEAMS_CLIENT_STATE": ""]) { hub, fake in
            let webhook = try await hub.request("POST", "/api/webhooks/teams/notifications", body: Array("{}".utf8))
            #expect(webhook.status == 503 && webhook.errorCode == "provider_unavailable")
            _ = try await OAuthFixture.connect(hub, fake, .teams)
            clock.advance(by: 3300)
            _ = try await hub.hub.jobWorkers.runDueJobs()
            #expect(try await OAuthFixture.eventually { try await Self.connection(hub)["last_refreshed_at"]?.numberValue != nil })
            #expect(fake.refreshCount == 1)
            #expect(try await hub.hub.oauth.tokens(for: "teams").accessToken(userID: "alice") == fake.latestAccessToken)
        }
    }

    @Test(
        "Tokens stored without their next refresh queued (a crash between the two commits) get it: from the old job's retry, or from the sweep at start",
        arguments: [false, true])
    func lostRefreshJobIsQueuedAgain(sweepFirst: Bool) async throws {
        let start = 1_800_000_000.0
        let clock = ManualClock(start)
        try await OAuthFixture.withOAuthHub(.slack, clock: clock) { hub, fake in
            _ = try await OAuthFixture.connect(hub, fake, .slack)
            let oauth = hub.hub.oauth
            // What the refresh job commits before it queues the next: the new tokens, generation + 1.
            let (first, second) = try await Self.storeRefreshedTokens(hub, expiresIn: 3600)
            func queuedGenerations() async throws -> [Double] {
                try await Self.refreshJobs(hub, "slack").compactMap { $0.payload["generation"]?.numberValue }.sorted()
            }
            #expect(try await queuedGenerations() == [Double(first.generation)], "the crash: no job for the new generation")
            if sweepFirst {
                // The sweep at start queues the missing job.
                await oauth.scheduleMissingRefreshes()
                #expect(try await queuedGenerations().contains(Double(second.generation)))
            }
            // The old job's retry finds a newer generation and queues its refresh (once, whoever was first).
            let payload: JSONValue = ["connection_id": .number(Double(first.id)), "generation": .number(Double(first.generation))]
            #expect(try await oauth.refresh(payload) == .success)
            await oauth.scheduleMissingRefreshes()
            #expect(try await queuedGenerations().filter { $0 == Double(second.generation) }.count == 1)
            #expect(fake.refreshCount == 0)
        }
    }

    @Test("A token endpoint granting seconds-long tokens does not make the hub refresh in a loop: the next refresh is at least a minute away")
    func refreshIsNeverSoonerThanAMinute() async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(.slack, clock: clock) { hub, fake in
            _ = try await OAuthFixture.connect(hub, fake, .slack)
            let short = try await Self.storeRefreshedTokens(hub, expiresIn: 1).after
            try await hub.hub.oauth.scheduleRefresh(short)
            let job = try #require(try await Self.refreshJobs(hub, "slack").first { $0.payload["generation"]?.numberValue == Double(short.generation) })
            #expect(job.runAt == Int64((1_800_000_000 + OAuthService.minimumRefreshDelay) * 1000))
        }
    }

    @Test("An expired access token that was not refreshed is a typed error, never a stale token")
    func expiredToken() async throws {
        let clock = ManualClock(1_800_000_000)
        try await OAuthFixture.withOAuthHub(.gmail, clock: clock) { hub, fake in
            _ = try await OAuthFixture.connect(hub, fake, .gmail)
            let workers = hub.hub.jobWorkers
            await Blocking.runNonThrowing { workers.shutdown(deadline: 60) }  // Nothing refreshes it.
            clock.advance(by: 3601)
            await #expect(throws: OAuthTokenError.expired(provider: "gmail", userID: "alice", connectionID: 1)) {
                try await hub.hub.oauth.tokens(for: "gmail").accessToken(userID: "alice")
            }
        }
    }
}
