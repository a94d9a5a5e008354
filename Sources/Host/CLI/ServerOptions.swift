/// The HTTP server's limits and timeouts as command-line flags, each with an environment variable
/// that sets it when the flag is absent (`--max-header-bytes` or `ATOM_MAX_HEADER_BYTES`).
struct ServerOption: Sendable {
    let flag: String
    let environmentVariable: String
    let help: String
    let apply: @Sendable (inout ServerConfiguration, String) throws(CommandLineInterface.UsageError) -> Void

    /// Every tunable limit and timeout of ``ServerConfiguration``.
    static let all: [ServerOption] = [
        count("--event-loops", "ATOM_EVENT_LOOPS", "event-loop threads (default: cores)", range: 1...256) { $0.eventLoops = $1 },
        count("--max-header-bytes", "ATOM_MAX_HEADER_BYTES", "request line + headers, bytes (431 beyond)", range: 256...1 << 20) { $0.maxHeaderBytes = $1 },
        count("--max-header-count", "ATOM_MAX_HEADER_COUNT", "header fields per request (431 beyond)", range: 1...10_000) { $0.maxHeaderCount = $1 },
        count("--max-body-bytes", "ATOM_MAX_BODY_BYTES", "body limit for unrouted requests (routes set their own)", range: 0...1 << 30) { $0.defaultMaxBodyBytes = $1 },
        count("--max-connections", "ATOM_MAX_CONNECTIONS", "open connections (503 beyond)", range: 1...1_000_000) { $0.maxConnections = $1 },
        seconds("--header-timeout", "ATOM_HEADER_TIMEOUT", "seconds to receive a request head") { $0.headerReadTimeout = $1 },
        seconds("--body-timeout", "ATOM_BODY_TIMEOUT", "seconds to receive a request body") { $0.bodyReadTimeout = $1 },
        seconds("--idle-timeout", "ATOM_IDLE_TIMEOUT", "seconds a keep-alive connection may idle") { $0.idleTimeout = $1 },
        seconds("--write-timeout", "ATOM_WRITE_TIMEOUT", "seconds to write a response") { $0.writeTimeout = $1 },
        seconds("--shutdown-grace", "ATOM_SHUTDOWN_GRACE", "seconds shutdown waits for in-flight requests") { $0.shutdownGracePeriod = $1 },
    ]

    /// Usage lines for the help text.
    static var usage: String {
        all.map { option in
            let name = "\(option.flag) N"
            return "  \(name.padding(toLength: 23, withPad: " ", startingAt: 0))\(option.help) [\(option.environmentVariable)]"
        }.joined(separator: "\n")
    }

    private static func count(
        _ flag: String, _ variable: String, _ help: String, range: ClosedRange<Int>,
        _ set: @escaping @Sendable (inout ServerConfiguration, Int) -> Void
    ) -> ServerOption {
        ServerOption(flag: flag, environmentVariable: variable, help: help) { configuration, text throws(CommandLineInterface.UsageError) in
            guard let value = Int(text), range.contains(value) else {
                throw CommandLineInterface.UsageError(description: "\(flag) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
            }
            set(&configuration, value)
        }
    }

    private static func seconds(
        _ flag: String, _ variable: String, _ help: String, _ set: @escaping @Sendable (inout ServerConfiguration, Duration) -> Void
    ) -> ServerOption {
        ServerOption(flag: flag, environmentVariable: variable, help: help) { configuration, text throws(CommandLineInterface.UsageError) in
            guard let value = Double(text), value > 0, value <= 86_400 else {
                throw CommandLineInterface.UsageError(description: "\(flag) must be a number of seconds above 0 and at most 86400, not '\(text)'")
            }
            set(&configuration, .milliseconds(Int64((value * 1000).rounded())))
        }
    }
}
