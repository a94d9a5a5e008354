import Foundation
import PluginAPI

/// Exit codes from sysexits.h, which service managers understand.
enum ExitCode: Int32 {
    case success = 0
    case failure = 1
    case usage = 64
    case config = 78
}

/// `atom-hub` commands: `serve` (the default), `version`, `help`.
enum CommandLineInterface {
    static let version = "0.1.0"

    static let usage = """
        Usage: atom-hub [serve] [options]
               atom-hub providers [--plugins PATH] [--url URL]   (ADMIN_TOKEN for --url)
               atom-hub version
               atom-hub --help

        Atom Hub receives webhooks from Slack, Microsoft Teams, Gmail and HubSpot, verifies each with the
        provider's own scheme, and stores it durably before acknowledging it.

        Options for serve:
          --host ADDRESS     IP address to listen on (default 127.0.0.1)
          --port PORT        TCP port; 0 picks a free one (default 8080)
          --data-dir PATH    where the database lives (default ./data)
          --plugins PATH     provider configuration (default ./plugins.json)
          --public-url URL   the hub's public base URL, for signatures that cover the URL
          --tls-cert PATH    PEM certificate chain: serve HTTPS (TLS 1.2+, HTTP/1.1 via ALPN)
          --tls-key PATH     PEM private key for --tls-cert
          --log-format FMT   json (default) or logfmt; LOG_FORMAT when absent
          -h, --help         show this help

        Limits and timeouts (flag, or the environment variable in brackets):
        \(ServerOption.usage(ServerOption.server))

        Background jobs and deliveries (docs/jobs.md):
        \(ServerOption.usage(ServerOption.jobs))

        Environment: ENVIRONMENT (development|production), SECRET_KEY, ENCRYPTION_KEY, ADMIN_TOKEN (admin API),
        AUDIT_RETENTION_DAYS, SLACK_SIGNING_SECRET, LOG_LEVEL (debug|info|warning|error),
        LOG_FORMAT (json|logfmt), METRICS_TOKEN (bearer token for GET /metrics besides ADMIN_TOKEN).
        """

    /// A command-line mistake: the message is printed with the usage and the exit code is 64.
    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    enum Command {
        case serve(HubOptions)
        case validateConfig(HubOptions)
        case secrets(SecretsCommand.Invocation)
        case providers(ProvidersCommand.Invocation)
        case version
        case help
    }

    /// Parses `arguments` (without the program name); `environment` supplies defaults for server limits.
    static func parse(_ arguments: [String], environment: HubEnvironment = .values([:])) throws(UsageError) -> Command {
        var rest = arguments[...]
        if let first = rest.first, !first.hasPrefix("-") {
            rest = rest.dropFirst()
            switch first {
            case "serve": break
            case "validate-config": return try parseOptions(rest, environment: environment).map(Command.validateConfig) ?? .help
            case "secrets": return .secrets(try SecretsCommand.parse(rest))
            case "providers": return .providers(try ProvidersCommand.parse(rest))
            case "version": return rest.isEmpty ? .version : try unexpected(rest.first!)
            case "help": return .help
            default: throw UsageError(description: "unknown command '\(first)'")
            }
        }
        return try parseOptions(rest, environment: environment).map(Command.serve) ?? .help
    }

    /// Parses serve's options (validate-config takes the same); nil when they ask for help.
    private static func parseOptions(_ arguments: ArraySlice<String>, environment: HubEnvironment) throws(UsageError) -> HubOptions? {
        var rest = arguments
        var options = HubOptions()
        if let format = environment["LOG_FORMAT"] { options.logFormat = try logFormat(format) }
        if let level = environment["LOG_LEVEL"], !level.isEmpty {
            guard let parsed = LogOutput.level(named: level) else {
                throw UsageError(description: "LOG_LEVEL must be debug, info, warning or error, not '\(level)'")
            }
            options.logLevel = parsed
        }
        for option in ServerOption.all {
            if let value = environment[option.environmentVariable] { try option.apply(&options, value) }
        }
        while let argument = rest.popFirst() {
            var name = argument
            var inlineValue: String?
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
                name = String(argument[..<equals])
                inlineValue = String(argument[argument.index(after: equals)...])
            }
            func value() throws(UsageError) -> String {
                if let inlineValue { return inlineValue }
                guard let next = rest.popFirst() else { throw UsageError(description: "\(name) needs a value") }
                return next
            }
            switch name {
            case "-h", "--help": return nil
            case "--host": options.server.host = try value()
            case "--port":
                let text = try value()
                guard let port = Int(text), (0...65535).contains(port) else {
                    throw UsageError(description: "--port must be a number from 0 to 65535, not '\(text)'")
                }
                options.server.port = port
            case "--data-dir": options.dataDirectory = URL(fileURLWithPath: try value())
            case "--plugins":
                options.pluginsPath = try value()
                options.pluginsPathIsDefault = false
            case "--public-url": options.publicBaseURL = try value()
            case "--tls-cert": options.server.tlsCertificatePath = try value()
            case "--tls-key": options.server.tlsKeyPath = try value()
            case "--log-format": options.logFormat = try logFormat(try value())
            default:
                guard let option = ServerOption.all.first(where: { $0.flag == name }) else { return try unexpected(argument) }
                try option.apply(&options, try value())
            }
        }
        if (options.server.tlsCertificatePath == nil) != (options.server.tlsKeyPath == nil) {
            throw UsageError(description: "--tls-cert and --tls-key go together")
        }
        return options
    }

    private static func logFormat(_ text: String) throws(UsageError) -> LogFormat {
        guard let format = LogFormat(rawValue: text.lowercased()) else {
            throw UsageError(description: "--log-format (LOG_FORMAT) must be json or logfmt, not '\(text)'")
        }
        return format
    }

    private static func unexpected<T>(_ argument: String) throws(UsageError) -> T {
        throw UsageError(description: "unknown option '\(argument)'")
    }

    /// Runs the command line and returns the exit code.
    static func run(_ arguments: [String], environment: HubEnvironment = .process) -> ExitCode {
        let command: Command
        do { command = try parse(arguments, environment: environment) } catch {
            printError("atom-hub: \(error)\n\n\(usage)")
            return .usage
        }
        switch command {
        case .help:
            print(usage)
            return .success
        case .version:
            print("atom-hub \(version)")
            return .success
        case .serve(let options):
            return serve(options, environment: environment)
        case .validateConfig(let options):
            return validateConfig(options, environment: environment)
        case .providers(let invocation):
            return ProvidersCommand.run(invocation, environment: environment)
        case .secrets(let invocation):
            return SecretsCommand.run(invocation, environment: environment) { Array(FileHandle.standardInput.readDataToEndOfFile()) }
        }
    }

    static func printError(_ text: String) {
        LogSink.standardError.flush()  // Log lines before it stay before it.
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
