import Foundation
import PluginAPI
import Testing

@testable import Host

#if canImport(Glibc)
import Glibc
#endif

@Suite("Hot reload of plugins.json")
struct HotReloadTests {
    static let slackOn = #"{"providers": {"slack": {"enabled": true }}}"#
    static let slackOff = #"{"providers": {"slack": {"enabled": false}}}"#

    /// Polls `condition` every 20 ms until it holds or 30 s pass (generous: the machine is shared).
    static func eventually(_ what: String, _ condition: () async throws -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
    }

    static func slackStatus(_ hub: TestHub) async throws -> Int {
        let body = SlackSigner.eventBody()
        return try await hub.request("POST", "/api/webhooks/slack", headers: SlackSigner().headers(body: body), body: body).status
    }

    static func pluginsPath(_ hub: TestHub) -> String { hub.directory.appendingPathComponent("plugins.json").path }

    @Test("PUT /api/admin/providers/{id} rewrites plugins.json, reloads, and audits; GET lists the states")
    func adminAPI() async throws {
        try await withHub { (hub: TestHub) async throws in
            #expect(try await Self.slackStatus(hub) == 200)
            let off = try await hub.request(
                "PUT", "/api/admin/providers/slack", headers: [("Authorization", "Bearer \(TestHub.adminToken)")], body: Array(#"{"enabled": false}"#.utf8))
            #expect(off.status == 200)
            #expect(try off.json()["provider"]?["state"] == "disabled")
            #expect(try await Self.slackStatus(hub) == 503)
            let file = try JSONValue.parse(Array(Data(contentsOf: URL(fileURLWithPath: Self.pluginsPath(hub)))))
            #expect(file["providers"]?["slack"]?["enabled"] == false)
            let listed = try await hub.admin("/api/admin/providers").json()["providers"]?.arrayValue ?? []
            let slack = try #require(listed.first { $0["id"] == "slack" })
            #expect(slack["enabled"] == false && slack["state"] == "disabled" && slack["name"] == "Slack")
            #expect(listed.contains { $0["id"] == "gmail" && $0["state"] == "disabled" })

            let on = try await hub.request(
                "PUT", "/api/admin/providers/slack", headers: [("Authorization", "Bearer \(TestHub.adminToken)")], body: Array(#"{"enabled": true}"#.utf8))
            #expect(on.status == 200)
            #expect(try await Self.slackStatus(hub) == 200)
            try await Self.eventually("the audit rows") {
                let toggles = try await AuditAndAdminTests.auditRows(hub, type: .providerToggled)
                let reloads = try await AuditAndAdminTests.auditRows(hub, type: .configurationReloaded)
                return toggles.count == 2 && reloads.count == 2
            }
        }
    }

    @Test("An admin switch's rewrite and reload are one step: a file poller running flat out never reloads the file in between")
    func adminRewriteIsAtomicForThePoller() async throws {
        try await withHub { (hub: TestHub) async throws in
            // A reloader of its own on a file of its own (the hub's watches another), polling every millisecond.
            let path = hub.directory.appendingPathComponent("polled-plugins.json").path
            try PluginsFile.writeAtomically(Array(Self.slackOn.utf8), to: path)
            let known = Array(hub.hub.registry.slots.keys)
            let reloader = ConfigurationReloader(
                path: path, isDefaultPath: false, knownProviders: known, forwarding: ForwardingTable([]), resolveTargets: { _ in [] },
                registry: hub.hub.registry, audit: hub.hub.auditLog, logger: .disabled, pollInterval: 0.001)
            reloader.startWatching()
            let switches = 20
            for index in 0..<switches {
                let failure = await Blocking.runNonThrowing {
                    reloader.rewriteAndReload {
                        _ = try PluginsFile.setEnabled(index % 2 == 1, provider: "slack", path: path, knownProviders: known, running: [:])
                    }
                }
                #expect(failure == nil)
            }
            reloader.stopWatching()
            var rows: [JSONValue] = []
            try await Self.eventually("every switch's audit row") {
                rows = try await AuditAndAdminTests.auditRows(hub, type: .configurationReloaded)
                return rows.filter { $0["details"]?["trigger"] == "admin_api" }.count >= switches
            }
            let polled = rows.filter { $0["details"]?["trigger"] == "file_change" }.count
            #expect(polled == 0, "the poller never saw a rewrite before its reload")
            #expect(hub.hub.registry.isEnabled("slack"), "the last switch (on) is applied")
        }
    }

    @Test("The security reports follow a reload: a provider switched off is reported off")
    func securityReportsFollowReload() async throws {
        try await withHub { (hub: TestHub) async throws in
            func slackReport() async throws -> JSONValue? {
                let providers = try await hub.admin("/api/security/webhooks").json()["providers"]?.arrayValue ?? []
                return providers.first { $0["id"] == "slack" }
            }
            func slackChecked() async throws -> Bool {
                let checks = try await hub.admin("/api/security/configuration").json()["checks"]?.arrayValue ?? []
                return checks.contains { $0["subject"] == "provider slack" }
            }
            #expect(try await slackReport()?["enabled"] == true)
            #expect(try await slackChecked(), "an enabled provider's settings are checked")
            let off = try await hub.request(
                "PUT", "/api/admin/providers/slack", headers: [("Authorization", "Bearer \(TestHub.adminToken)")], body: Array(#"{"enabled": false}"#.utf8))
            #expect(off.status == 200)
            #expect(try await slackReport()?["enabled"] == false)
            #expect(try await !slackChecked(), "a disabled provider's are not")
        }
    }

    @Test("Bad PUTs: unknown provider 404, wrong body 400, no token 401; the file is untouched")
    func badPuts() async throws {
        try await withHub { (hub: TestHub) async throws in
            let before = try Data(contentsOf: URL(fileURLWithPath: Self.pluginsPath(hub)))
            let auth = ("Authorization", "Bearer \(TestHub.adminToken)")
            #expect(try await hub.request("PUT", "/api/admin/providers/nosuch", headers: [auth], body: Array(#"{"enabled": false}"#.utf8)).status == 404)
            #expect(try await hub.request("PUT", "/api/admin/providers/slack", headers: [auth], body: Array(#"{"enabled": "no"}"#.utf8)).status == 400)
            #expect(try await hub.request("PUT", "/api/admin/providers/slack", headers: [auth], body: Array("nope".utf8)).status == 400)
            #expect(try await hub.request("PUT", "/api/admin/providers/slack", body: Array(#"{"enabled": false}"#.utf8)).status == 401)
            #expect(try Data(contentsOf: URL(fileURLWithPath: Self.pluginsPath(hub))) == before)
        }
    }

    @Test("The atomic rewrite keeps other providers, unknown setting keys and member order, and leaves no temp file")
    func rewriteKeepsContent() async throws {
        let plugins = #"{"providers": {"hubspot": {"settings": {"clientSecret": "env:HUBSPOT_X", "x-team-note": {"owner": "ops", "ids": [1, 2.5, null]}}, "enabled": false}, "slack": {"settings": {"x-unknown": "kept"}, "enabled": true}}}"#
        try await withHub(plugins: plugins) { (hub: TestHub) async throws in
            let response = try await hub.request(
                "PUT", "/api/admin/providers/slack", headers: [("Authorization", "Bearer \(TestHub.adminToken)")], body: Array(#"{"enabled": false}"#.utf8))
            #expect(response.status == 200)
            let written = try JSONValue.parse(Array(Data(contentsOf: URL(fileURLWithPath: Self.pluginsPath(hub)))))
            var expected = try JSONValue.parse(Array(plugins.utf8))
            if case .object(var root) = expected, case .object(var providers)? = root["providers"], case .object(var slack)? = providers["slack"] {
                slack = JSONObject(slack.members.map { $0.key == "enabled" ? (key: "enabled", value: false) : $0 })
                providers = JSONObject(providers.members.map { $0.key == "slack" ? (key: "slack", value: .object(slack)) : $0 })
                root["providers"] = .object(providers)
                expected = .object(root)
            }
            #expect(written == expected, "only slack.enabled changed, in place")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: hub.directory.path).filter { $0.hasSuffix(".tmp") }
            #expect(leftovers.isEmpty)
        }
    }

    @Test("Without a file (the default path, every provider on) the rewrite starts from the running flags")
    func rewriteWithoutFile() throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("plugins.json").path
        _ = try PluginsFile.setEnabled(false, provider: "slack", path: path, knownProviders: ["slack", "teams"], running: ["slack": true, "teams": true])
        let written = try JSONValue.parse(Array(Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(written == ["providers": ["slack": ["enabled": false], "teams": ["enabled": true]]])
    }

    @Test("A change to plugins.json on disk is picked up by the watcher")
    func fileChange() async throws {
        try await withHub { (hub: TestHub) async throws in
            #expect(try await Self.slackStatus(hub) == 200)
            try PluginsFile.writeAtomically(Array(Self.slackOff.utf8), to: Self.pluginsPath(hub))
            try await Self.eventually("slack switched off") { !hub.hub.registry.isEnabled("slack") }
            #expect(try await Self.slackStatus(hub) == 503)
            #expect(hub.logs.all.contains { $0.contains("plugins.json reloaded") && $0.contains("trigger=file_change") })
        }
    }

    @Test("An invalid file keeps the last good configuration, logs the error and writes an audit row")
    func invalidFile() async throws {
        try await withHub { (hub: TestHub) async throws in
            try PluginsFile.writeAtomically(Array(#"{"providers": {"slack": {"enabled": true}}, "bogus": 1}"#.utf8), to: Self.pluginsPath(hub))
            // Reload now rather than wait for the watcher (its path has its own test); both take the same code.
            #expect(hub.hub.reloader.reload(.fileChange)?.contains("bogus: unknown key") == true)
            try await Self.eventually("the failed reload's audit row") {
                try await !AuditAndAdminTests.auditRows(hub, type: .configurationReloadFailed).isEmpty
            }
            #expect(hub.hub.registry.isEnabled("slack"))
            #expect(try await Self.slackStatus(hub) == 200)
            #expect(hub.logs.all.contains { $0.hasPrefix("error config plugins.json reload failed") && $0.contains("bogus: unknown key") })
            // The admin API refuses to edit a file it cannot parse, and says why.
            let refused = try await hub.request(
                "PUT", "/api/admin/providers/slack", headers: [("Authorization", "Bearer \(TestHub.adminToken)")], body: Array(#"{"enabled": false}"#.utf8))
            #expect(refused.status == 409)
        }
    }

    @Test("Disabling a provider does not drop a keep-alive connection or the request in flight")
    func connectionsSurvive() async throws {
        try await withHub { (hub: TestHub) async throws in
            let port = hub.port
            let connection = try await Blocking.run { try TestConnection(port: port) }
            func send() async throws -> Int {
                let body = SlackSigner.eventBody()
                let headers = SlackSigner().headers(body: body).map { "\($0.0): \($0.1)\r\n" }.joined()
                return try await Blocking.run {
                    try connection.send(Array("POST /api/webhooks/slack HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\(headers)\r\n".utf8) + body)
                    return try connection.readResponse().status
                }
            }
            #expect(try await send() == 200)
            try PluginsFile.writeAtomically(Array(Self.slackOff.utf8), to: Self.pluginsPath(hub))
            #expect(hub.hub.reloader.reload(.signal) == nil)
            #expect(try await send() == 503, "same connection, now answered provider_disabled")
            try PluginsFile.writeAtomically(Array(Self.slackOn.utf8), to: Self.pluginsPath(hub))
            #expect(hub.hub.reloader.reload(.signal) == nil)
            #expect(try await send() == 200, "same connection again")
        }
    }

    @Test("Job workers claim the kinds of a provider enabled by a reload")
    func jobsFollowReload() async throws {
        try await withHub(plugins: #"{"providers": {"queueing": {"enabled": false}}}"#, providerTypes: [QueueingProvider.self]) { (hub: TestHub) async throws in
            let id = try await hub.hub.jobQueue.enqueue(kind: "queueing.echo", payload: ["reload": true])
            let response = try await hub.request(
                "PUT", "/api/admin/providers/queueing", headers: [("Authorization", "Bearer \(TestHub.adminToken)")], body: Array(#"{"enabled": true}"#.utf8))
            #expect(response.status == 200)
            // Other suites ring QueueingProvider's bell too, so watch this job's own state.
            try await Self.eventually("the job to run") { try await hub.hub.jobQueue.job(id)?.state == .succeeded }
        }
    }

    @Test("SIGHUP reloads plugins.json in a running atom-hub process")
    func sighup() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plugins = directory.appendingPathComponent("plugins.json").path
        try Data(Self.slackOn.utf8).write(to: URL(fileURLWithPath: plugins))
        let process = HubProcess(
            arguments: ["--port", "0", "--data-dir", directory.appendingPathComponent("data").path, "--plugins", plugins], environment: ProcessTests.environment)
        let port = try await Blocking.run { try process.start() }
        // Rewrite in place with the same size and mtime, so only the signal (not the watcher) can notice.
        var before = stat()
        stat(plugins, &before)
        let fd = open(plugins, O_WRONLY)
        _ = Array(Self.slackOff.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        var times = [before.st_atim, before.st_mtim]
        futimens(fd, &times)
        close(fd)
        process.signal(SIGHUP)
        try await Self.eventually("slack answered 503") {
            let response = try await Blocking.run { () throws -> TestResponse in
                let connection = try TestConnection(port: port)
                try connection.send(Array("GET /api/admin/providers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(TestHub.adminToken)\r\nConnection: close\r\n\r\n".utf8))
                return try connection.readResponse()
            }
            return try response.json()["providers"]?.arrayValue?.first { $0["id"] == "slack" }?["enabled"] == false
        }
        process.signal(SIGTERM)
        let log = await Blocking.runNonThrowing { process.standardErrorAfterExit() }
        #expect(log.contains(#""trigger":"SIGHUP""#), "\(log.suffix(2000))")
        #expect(!log.contains(#""trigger":"file_change""#))
    }
}
