import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The `atom-hub` executable run as a child process, as an operator would run it.
final class HubProcess: @unchecked Sendable {  // Mutated only by the test that owns it, one call at a time.
    /// How the child ended.
    enum TerminationReason: Equatable {
        case exit
        case uncaughtSignal
    }

    private let arguments: [String]
    private let environment: [String: String]
    private let input: [UInt8]?
    private var child: ChildProcess?
    private(set) var port = 0
    /// Drains stderr after the `listening on` line, so a logging child never blocks on a full pipe.
    private var laterOutput: DetachedRead?
    private var startupOutput = ""

    /// The built executable, next to the test bundle.
    static var executable: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("atom-hub"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent(".build/debug/atom-hub"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }

    /// `input`, when given, is written to the child's standard input, which is then closed.
    init(arguments: [String], environment: [String: String], input: [UInt8]? = nil) {
        self.arguments = arguments
        self.environment = environment
        self.input = input
    }

    private func launch() throws -> ChildProcess {
        let child = try ChildProcess(executable: Self.executable.path, arguments: arguments, environment: environment)
        self.child = child
        if let input { child.writeInput(input) } else { child.shutdownInput() }
        return child
    }

    /// Starts the hub and waits for its `listening on` line; returns the port.
    func start() throws -> Int {
        let child = try launch()
        var text = ""
        while !text.contains("listening on http") || !text.hasSuffix("\n") {
            let data = PipeReading.chunk(child.stderrFD)
            guard !data.isEmpty else { throw TestConnectionError(description: "the hub exited before listening: \(text)") }
            text += String(decoding: data, as: UTF8.self)
        }
        let line = text.split(separator: "\n").first { $0.hasPrefix("listening on http") }!
        port = Int(line.split(separator: ":").last!)!
        startupOutput = text
        laterOutput = DetachedRead(fd: child.stderrFD)
        return port
    }

    /// Runs to completion and returns the exit status and everything written to stderr.
    func runToExit() throws -> (status: Int32, stderr: String) {
        let result = try runCapturingOutput()
        return (result.status, result.stderr)
    }

    /// Runs to completion and returns the exit status (or the signal number), stdout and stderr.
    func runCapturingOutput() throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try launch()
        let stdout = DetachedRead(fd: child.stdoutFD)
        let stderr = PipeReading.readToEnd(child.stderrFD)
        let (status, _) = waitForExit()
        return (status, String(decoding: stdout.wait(), as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func signal(_ number: Int32) { child?.signal(number) }

    /// Everything a started hub wrote to stderr; waits for the child to close it (exit).
    func standardErrorAfterExit() -> String {
        startupOutput + String(decoding: laterOutput?.wait() ?? [], as: UTF8.self)
    }

    /// Waits for exit and returns the exit code, or the signal number for an uncaught signal.
    func waitForExit() -> (status: Int32, reason: TerminationReason) {
        guard let child else { return (-1, .exit) }
        if let signal = child.terminatingSignal { return (signal, .uncaughtSignal) }
        return (child.exitCode ?? -1, .exit)
    }
}
