/// The server's limits and timeouts and the background workers' settings as command-line flags, each
/// with an environment variable that sets it when the flag is absent (`--max-header-bytes` or
/// `ATOM_MAX_HEADER_BYTES`).
struct ServerOption: Sendable {
    let flag: String
    let environmentVariable: String
    /// What the value looks like in the help text.
    var placeholder = "N"
    let help: String
    let apply: @Sendable (inout HubOptions, String) throws(CommandLineInterface.UsageError) -> Void

    /// Every flag below.
    static let all = server + jobs

    /// Every tunable limit and timeout of ``ServerConfiguration``.
    static let server: [ServerOption] = [
        count("--event-loops", "ATOM_EVENT_LOOPS", "event-loop threads (default: cores)", range: 1...256) { $0.server.eventLoops = $1 },
        count("--max-header-bytes", "ATOM_MAX_HEADER_BYTES", "request line + headers, bytes (431 beyond)", range: 256...1 << 20) { $0.server.maxHeaderBytes = $1 },
        count("--max-header-count", "ATOM_MAX_HEADER_COUNT", "header fields per request (431 beyond)", range: 1...10_000) { $0.server.maxHeaderCount = $1 },
        count("--max-body-bytes", "ATOM_MAX_BODY_BYTES", "body limit for unrouted requests (routes set their own)", range: 0...1 << 30) { $0.server.defaultMaxBodyBytes = $1 },
        count("--max-connections", "ATOM_MAX_CONNECTIONS", "open connections (503 beyond)", range: 1...1_000_000) { $0.server.maxConnections = $1 },
        duration("--header-timeout", "ATOM_HEADER_TIMEOUT", "seconds to receive a request head") { $0.server.headerReadTimeout = $1 },
        duration("--body-timeout", "ATOM_BODY_TIMEOUT", "seconds to receive a request body") { $0.server.bodyReadTimeout = $1 },
        duration("--idle-timeout", "ATOM_IDLE_TIMEOUT", "seconds a keep-alive connection may idle") { $0.server.idleTimeout = $1 },
        duration("--write-timeout", "ATOM_WRITE_TIMEOUT", "seconds to write a response") { $0.server.writeTimeout = $1 },
        duration("--shutdown-grace", "ATOM_SHUTDOWN_GRACE", "seconds shutdown waits for in-flight requests") { $0.server.shutdownGracePeriod = $1 },
        // Below 4 MiB the log's wrap (see Checkpointer) has no room before the end of the zeros.
        count("--wal-preallocate-mb", "ATOM_WAL_PREALLOCATE_MB", "MiB of zeros the event log's WAL gets at start (64; 0 off)", range: 4...4096, orZero: true) {
            $0.walPreallocation = $1 << 20
        },
        ServerOption(
            flag: "--trusted-proxies", environmentVariable: "ATOM_TRUSTED_PROXIES", placeholder: "IP,…",
            help: "reverse proxies whose X-Forwarded-For names the client (none)"
        ) { options, text throws(CommandLineInterface.UsageError) in
            let proxies = text.split(separator: ",").map { String($0.trimmingOWS()) }.filter { !$0.isEmpty }
            switch ClientAddress.trusting(proxies) {
            case .success(let resolver): options.server.trustedProxies = resolver.trustedProxies.sorted()
            case .failure(let invalid):
                throw CommandLineInterface.UsageError(description: "--trusted-proxies takes IP addresses separated by commas; '\(invalid.text)' is not one")
            }
        },
    ]

    /// The job workers' and delivery worker's settings (docs/jobs.md).
    static let jobs: [ServerOption] = [
        count("--job-concurrency", "ATOM_JOB_CONCURRENCY", "jobs run at once (default 4)", range: 1...256) { $0.jobs.concurrency = $1 },
        seconds("--job-lease", "ATOM_JOB_LEASE", "seconds a job claim lasts before another run may take it (300)") { $0.jobs.lease = $1 },
        duration("--job-poll-interval", "ATOM_JOB_POLL_INTERVAL", "seconds idle workers wait before looking for due jobs (1)") { $0.jobs.pollInterval = $1 },
        seconds("--job-retry-base", "ATOM_JOB_RETRY_BASE", "seconds of backoff after a job's first failure, doubling (10)") { $0.jobRetry.base = $1 },
        seconds("--job-retry-cap", "ATOM_JOB_RETRY_CAP", "most seconds of backoff between job attempts (3600)") { $0.jobRetry.cap = $1 },
        seconds("--job-shutdown-deadline", "ATOM_JOB_SHUTDOWN_DEADLINE", "seconds shutdown waits for running jobs, deliveries and subscription handlers (25)") { $0.jobShutdownDeadline = $1 },
        count("--delivery-max-attempts", "ATOM_DELIVERY_MAX_ATTEMPTS", "attempts before a delivery is dead (8)", range: 1...100) { $0.deliveries.maxAttempts = $1 },
        seconds("--delivery-retry-base", "ATOM_DELIVERY_RETRY_BASE", "seconds of backoff after a delivery's first failure, doubling (5)") { $0.deliveries.retryBase = $1 },
        seconds("--delivery-retry-cap", "ATOM_DELIVERY_RETRY_CAP", "most seconds of backoff between delivery attempts (3600)") { $0.deliveries.retryCap = $1 },
        seconds("--delivery-timeout", "ATOM_DELIVERY_TIMEOUT", "seconds one delivery request may take (10)") { $0.deliveries.timeout = $1 },
    ]

    /// Usage lines for the help text, the descriptions in one column for every option.
    static func usage(_ options: [ServerOption]) -> String {
        options.map { option in
            "  \(option.usageName.padding(toLength: usageColumn, withPad: " ", startingAt: 0))\(option.help) [\(option.environmentVariable)]"
        }.joined(separator: "\n")
    }

    /// `--flag N`, as the help text shows it.
    private var usageName: String { "\(flag) \(placeholder)" }

    /// Where descriptions start: two spaces past the longest `--flag N`.
    private static let usageColumn = all.map(\.usageName.count).max()! + 2

    private static func count(
        _ flag: String, _ variable: String, _ help: String, range: ClosedRange<Int>, orZero: Bool = false,
        _ set: @escaping @Sendable (inout HubOptions, Int) -> Void
    ) -> ServerOption {
        ServerOption(flag: flag, environmentVariable: variable, help: help) { options, text throws(CommandLineInterface.UsageError) in
            guard let value = Int(text), range.contains(value) || (orZero && value == 0) else {
                let zero = orZero ? "0 or " : ""
                throw CommandLineInterface.UsageError(description: "\(flag) must be \(zero)a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
            }
            set(&options, value)
        }
    }

    private static func seconds(
        _ flag: String, _ variable: String, _ help: String, _ set: @escaping @Sendable (inout HubOptions, Double) -> Void
    ) -> ServerOption {
        ServerOption(flag: flag, environmentVariable: variable, help: help) { options, text throws(CommandLineInterface.UsageError) in
            guard let value = Double(text), value > 0, value <= 86_400 else {
                throw CommandLineInterface.UsageError(description: "\(flag) must be a number of seconds above 0 and at most 86400, not '\(text)'")
            }
            set(&options, value)
        }
    }

    private static func duration(
        _ flag: String, _ variable: String, _ help: String, _ set: @escaping @Sendable (inout HubOptions, Duration) -> Void
    ) -> ServerOption {
        seconds(flag, variable, help) { options, value in set(&options, .milliseconds(Int64((value * 1000).rounded()))) }
    }
}
