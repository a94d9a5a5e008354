import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Destinations in plugins.json and the job and delivery flags")
struct DestinationConfigurationTests {
    static func parse(_ destinations: String) throws(ConfigurationError) -> PluginsConfiguration {
        let text = #"{"providers": {"slack": {"enabled": true, "destinations": \#(destinations)}, "teams": {"enabled": true}}}"#
        return try PluginsConfiguration.parse(Array(text.utf8), file: "plugins.json", knownProviders: ["slack", "teams"])
    }

    @Test("A valid list parses: id, url, event types (absent: all) and the secret as written")
    func parses() throws {
        let configuration = try Self.parse(
            #"[{"id": "crm", "url": "https://crm.example/hooks?x=1", "eventTypes": ["message"], "secret": "env:CRM_SECRET"}, {"id": "all", "url": "http://127.0.0.1:9/h", "secret": "\#(Forwarding.secret)"}]"#
        )
        let destinations = try #require(configuration.providers["slack"]?.destinations)
        #expect(destinations.map(\.id) == ["crm", "all"])
        #expect(destinations[0].eventTypes == ["message"] && destinations[0].secret == "env:CRM_SECRET" && destinations[0].provider == "slack")
        #expect(destinations[0].matches(provider: "slack", type: "message") && !destinations[0].matches(provider: "slack", type: "app_mention"))
        #expect(destinations[1].eventTypes == nil && destinations[1].matches(provider: "slack", type: "anything"))
        #expect(!destinations[1].matches(provider: "teams", type: "anything"))
    }

    @Test(
        "Mistakes are configuration errors naming the key",
        arguments: [
            (#"{"id": "crm"}"#, "providers.slack.destinations"),
            (#"[{"id": "crm", "url": "http://h/x", "secret": "\#(Forwarding.secret)", "retries": 3}]"#, "providers.slack.destinations[0].retries"),
            (#"[{"id": "crm", "url": "ftp://h/x", "secret": "\#(Forwarding.secret)"}]"#, "providers.slack.destinations[0].url"),
            (#"[{"id": "crm", "url": "/relative", "secret": "\#(Forwarding.secret)"}]"#, "providers.slack.destinations[0].url"),
            (#"[{"id": "crm", "url": "http://h/x", "secret": "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}]"#, "providers.slack.destinations[0].secret"),
            (#"[{"id": "crm", "url": "http://h/x", "secret": "whsec_not*base64"}]"#, "providers.slack.destinations[0].secret"),
            (#"[{"id": "crm", "url": "http://h/x"}]"#, "providers.slack.destinations[0].secret"),
            (#"[{"id": "c r m", "url": "http://h/x", "secret": "\#(Forwarding.secret)"}]"#, "providers.slack.destinations[0].id"),
            (#"[{"id": "crm", "url": "http://h/x", "secret": "\#(Forwarding.secret)", "eventTypes": []}]"#, "providers.slack.destinations[0].eventTypes"),
            (#"[{"id": "crm", "url": "http://h/x", "secret": "\#(Forwarding.secret)", "eventTypes": [1]}]"#, "providers.slack.destinations[0].eventTypes"),
            (
                #"[{"id": "crm", "url": "http://h/x", "secret": "\#(Forwarding.secret)"}, {"id": "crm", "url": "http://h/y", "secret": "\#(Forwarding.secret)"}]"#,
                "providers.slack.destinations[1].id"
            ),
        ])
    func mistakes(_ destinations: String, key: String) {
        let error = #expect(throws: ConfigurationError.self) { try Self.parse(destinations) }
        #expect(error?.key == key, "\(String(describing: error))")
        #expect(error?.description.contains(Forwarding.secret.dropFirst(6)) == false)
    }

    @Test("A destination id used by two providers is refused")
    func duplicateAcrossProviders() {
        let destination = #"[{"id": "crm", "url": "http://h/x", "secret": "\#(Forwarding.secret)"}]"#
        let text = #"{"providers": {"slack": {"destinations": \#(destination)}, "teams": {"destinations": \#(destination)}}}"#
        let error = #expect(throws: ConfigurationError.self) {
            try PluginsConfiguration.parse(Array(text.utf8), file: "plugins.json", knownProviders: ["slack", "teams"])
        }
        #expect(error?.description.contains("'crm'") == true)
    }

    @Test("A secret reference that does not resolve stops serve (78) and validate-config (1), naming the key")
    func unresolvedSecret() async throws {
        let plugins = Forwarding.plugins([Forwarding.destination("crm", url: "http://127.0.0.1:9/h", secret: "env:CRM_WEBHOOK_SECRET")])
        let environment = ["SLACK_SIGNING_SECRET": TestHub.slackSecret]
        let served = try await ValidateConfigTests.run("serve", environment, plugins: plugins)
        #expect(served.status == 78)
        #expect(served.stderr.contains("providers.slack.destinations[0].secret") && served.stderr.contains("CRM_WEBHOOK_SECRET"))
        let validated = try await ValidateConfigTests.run("validate-config", environment, plugins: plugins)
        #expect(validated.status == 1)
        #expect(validated.stdout.contains("providers.slack.destinations[0].secret") && validated.stdout.contains("serve would refuse to start"))
        let notWhsec = try await ValidateConfigTests.run("serve", environment.merging(["CRM_WEBHOOK_SECRET": "plain"]) { $1 }, plugins: plugins)
        #expect(notWhsec.status == 78 && notWhsec.stderr.contains("whsec_") && !notWhsec.stderr.contains("plain"))
    }

    @Test("A destination secret from the environment is resolved at startup and signs deliveries")
    func environmentSecret() async throws {
        let destination = try ScriptedDestination()
        let plugins = Forwarding.plugins([Forwarding.destination("crm", url: destination.url, secret: "env:CRM_WEBHOOK_SECRET")])
        let environment = ["SLACK_SIGNING_SECRET": TestHub.slackSecret, "ADMIN_TOKEN": TestHub.adminToken, "CRM_WEBHOOK_SECRET": Forwarding.secret]
        try await withHub(plugins: plugins, environment: environment) { hub in
            try await Forwarding.sendSlackEvent(hub)
            let request = try #require(try await destination.waitForRequests(1).first)
            #expect(throws: Never.self) { try StandardWebhookSignature(secret: Forwarding.secret).verify(request, window: .fiveMinutes, now: SystemClock().now()) }
        }
        await destination.stop()
    }

    @Test("Job and delivery flags set the workers' settings; environment variables fill in; --help lists them")
    func jobFlags() throws {
        let environment = HubEnvironment.values(["ATOM_DELIVERY_MAX_ATTEMPTS": "3", "ATOM_JOB_CONCURRENCY": "2"])
        let command = try CommandLineInterface.parse(
            [
                "--job-concurrency", "8", "--job-lease=30", "--job-poll-interval", "0.5", "--job-retry-base", "2", "--job-retry-cap", "60",
                "--job-shutdown-deadline", "5", "--delivery-retry-base", "1", "--delivery-retry-cap", "120", "--delivery-timeout", "3",
            ], environment: environment)
        guard case .serve(let options) = command else { Issue.record("expected serve"); return }
        #expect(options.jobs.concurrency == 8 && options.jobs.lease == 30 && options.jobs.pollInterval == .milliseconds(500))
        #expect(options.jobRetry.base == 2 && options.jobRetry.cap == 60 && options.jobShutdownDeadline == 5)
        #expect(options.deliveries.maxAttempts == 3 && options.deliveries.retryBase == 1 && options.deliveries.retryCap == 120 && options.deliveries.timeout == 3)
        for flag in ServerOption.jobs.map(\.flag) + ServerOption.jobs.map(\.environmentVariable) {
            #expect(CommandLineInterface.usage.contains(flag), "\(flag)")
        }
        for bad in [["--job-concurrency", "0"], ["--delivery-max-attempts", "1000"], ["--job-lease", "-1"], ["--delivery-timeout", "soon"]] {
            #expect(throws: CommandLineInterface.UsageError.self, "\(bad)") { try CommandLineInterface.parse(bad) }
        }
    }
}
