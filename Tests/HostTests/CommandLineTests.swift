import Foundation
import PluginAPI
import Testing

@testable import Host

@Suite("Command line")
struct CommandLineTests {
    @Test func defaults() throws {
        guard case .serve(let options) = try CommandLineInterface.parse([]) else { Issue.record("expected serve"); return }
        #expect(options.server.host == "127.0.0.1")
        #expect(options.server.port == 8080)
        #expect(options.pluginsPath == "plugins.json" && options.pluginsPathIsDefault)
        #expect(options.dataDirectory.lastPathComponent == "data")
    }

    @Test("The help text starts every option's description in one column, apart from its flag")
    func helpColumns() throws {
        let lines = (ServerOption.usage(ServerOption.server) + "\n" + ServerOption.usage(ServerOption.jobs)).split(separator: "\n")
        #expect(lines.count == ServerOption.all.count)
        var columns = Set<Int>()
        for (line, option) in zip(lines, ServerOption.all) {
            let description = "\(option.help) [\(option.environmentVariable)]"
            #expect(line.hasPrefix("  \(option.flag) \(option.placeholder)  ") && line.hasSuffix(description), "\(line)")
            columns.insert(line.count - description.count)
        }
        #expect(columns.count == 1)
    }

    @Test("Flags set every server limit, in --flag value and --flag=value forms")
    func limitFlags() throws {
        let command = try CommandLineInterface.parse([
            "serve", "--port=0", "--host", "::1", "--max-header-bytes", "2048", "--max-header-count=20", "--max-body-bytes", "10",
            "--max-connections", "5", "--header-timeout", "1.5", "--body-timeout", "2", "--idle-timeout", "3", "--write-timeout", "4",
            "--shutdown-grace", "0.25", "--event-loops", "3", "--plugins", "p.json", "--data-dir", "/tmp/x",
            "--trusted-proxies", "10.0.0.2, 2001:DB8::1,10.0.0.1", "--wal-preallocate-mb", "0",
        ])
        guard case .serve(let options) = command else { Issue.record("expected serve"); return }
        let server = options.server
        #expect(server.port == 0 && server.host == "::1")
        #expect(server.maxHeaderBytes == 2048 && server.maxHeaderCount == 20 && server.defaultMaxBodyBytes == 10)
        #expect(server.maxConnections == 5 && server.eventLoops == 3)
        #expect(server.headerReadTimeout == .milliseconds(1500) && server.bodyReadTimeout == .seconds(2))
        #expect(server.idleTimeout == .seconds(3) && server.writeTimeout == .seconds(4) && server.shutdownGracePeriod == .milliseconds(250))
        #expect(options.pluginsPath == "p.json" && !options.pluginsPathIsDefault)
        #expect(server.trustedProxies == ["10.0.0.1", "10.0.0.2", "2001:db8::1"])
        #expect(options.walPreallocation == 0)
    }

    @Test("Environment variables set limits; flags win over them")
    func limitEnvironment() throws {
        let environment = HubEnvironment.values(["ATOM_MAX_CONNECTIONS": "7", "ATOM_IDLE_TIMEOUT": "9"])
        guard case .serve(let options) = try CommandLineInterface.parse(["--max-connections", "8"], environment: environment) else {
            Issue.record("expected serve")
            return
        }
        #expect(options.server.maxConnections == 8)
        #expect(options.server.idleTimeout == .seconds(9))
        #expect(options.walPreallocation == 64 << 20, "the default")
        guard case .serve(let sized) = try CommandLineInterface.parse([], environment: .values(["ATOM_WAL_PREALLOCATE_MB": "4"])) else {
            Issue.record("expected serve")
            return
        }
        #expect(sized.walPreallocation == 4 << 20)
        #expect(throws: CommandLineInterface.UsageError.self) {
            try CommandLineInterface.parse([], environment: .values(["ATOM_MAX_HEADER_BYTES": "lots"]))
        }
    }

    @Test("LOG_LEVEL names a level in any case; a misspelt one is a usage error, not a silent 'info'")
    func logLevel() throws {
        for (text, level) in [("WARNING", LogLevel.warning), ("debug", .debug), ("", .info)] {
            guard case .serve(let options) = try CommandLineInterface.parse([], environment: .values(["LOG_LEVEL": text])) else {
                Issue.record("expected serve")
                return
            }
            #expect(options.logLevel == level, "\(text)")
        }
        #expect(throws: CommandLineInterface.UsageError.self) { try CommandLineInterface.parse([], environment: .values(["LOG_LEVEL": "warn"])) }
    }

    @Test("Out-of-range values are usage errors", arguments: [
        ["--port", "70000"], ["--max-connections", "0"], ["--idle-timeout", "-1"], ["--header-timeout", "abc"], ["--event-loops"],
        ["--trusted-proxies", "proxy.example"], ["--trusted-proxies", "10.0.0.1,10.0.0.300"], ["--wal-preallocate-mb", "-1"],
        ["--wal-preallocate-mb", "4097"], ["--wal-preallocate-mb", "3"],
    ])
    func rejectsBadValues(_ arguments: [String]) {
        #expect(throws: CommandLineInterface.UsageError.self) { try CommandLineInterface.parse(arguments) }
    }
}
