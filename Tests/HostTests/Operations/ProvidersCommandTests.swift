import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("atom-hub providers")
struct ProvidersCommandTests {
    @Test("Without --url it lists every provider's enabled flag from plugins.json")
    func fromConfiguration() async throws {
        let directory = try TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plugins = directory.appendingPathComponent("plugins.json")
        try Data(#"{"providers": {"slack": {"enabled": true}, "teams": {"enabled": false}}}"#.utf8).write(to: plugins)
        let result = try await Blocking.run { try HubProcess(arguments: ["providers", "--plugins", plugins.path], environment: ["PATH": "/usr/bin:/bin"]).runCapturingOutput() }
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("PROVIDER") == true)
        #expect(lines.contains { $0.hasPrefix("slack ") && $0.contains(" yes ") })
        #expect(lines.contains { $0.hasPrefix("teams ") && $0.contains(" no ") && $0.hasSuffix("disabled") })
        #expect(lines.contains { $0.hasPrefix("gmail ") && $0.hasSuffix("disabled") })
    }

    @Test("With --url and ADMIN_TOKEN it shows what a running hub loaded, and failures with their reason")
    func fromRunningHub() async throws {
        let plugins = #"{"providers": {"slack": {"enabled": true}, "hubspot": {"enabled": true}}}"#
        try await withHub(plugins: plugins) { (hub: TestHub) async throws in
            let body = SlackSigner.eventBody()
            #expect(try await hub.request("POST", "/api/webhooks/slack", headers: SlackSigner().headers(body: body), body: body).status == 200)
            #expect(try await hub.request("POST", "/api/webhooks/hubspot", body: Array("[]".utf8)).status == 503, "no HubSpot secret")
            let url = "http://127.0.0.1:\(hub.port)"
            let result = try await Blocking.run {
                try HubProcess(arguments: ["providers", "--url", url], environment: ["ADMIN_TOKEN": TestHub.adminToken, "PATH": "/usr/bin:/bin"]).runCapturingOutput()
            }
            #expect(result.status == 0, "\(result.stderr)")
            let lines = result.stdout.split(separator: "\n")
            #expect(lines.contains { $0.hasPrefix("slack ") && $0.hasSuffix("loaded") })
            #expect(lines.contains { $0.hasPrefix("hubspot ") && $0.contains("failed: ") })
            #expect(!result.stdout.contains(TestHub.adminToken))

            let refused = try await Blocking.run { try HubProcess(arguments: ["providers", "--url", url], environment: ["PATH": "/usr/bin:/bin"]).runCapturingOutput() }
            #expect(refused.status == 1 && refused.stderr.contains("ADMIN_TOKEN"))
        }
    }
}
