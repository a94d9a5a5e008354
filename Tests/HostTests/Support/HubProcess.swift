import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The `atom-hub` executable run as a child process, as an operator would run it.
final class HubProcess: @unchecked Sendable {  // Mutated only by the test that owns it, one call at a time.
    let process = Process()
    private let stderrPipe = Pipe()
    private let stdoutPipe = Pipe()
    private let input: [UInt8]?
    private(set) var port = 0

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
        self.input = input
        process.executableURL = Self.executable
        process.arguments = arguments
        process.environment = environment
        process.standardError = stderrPipe
        process.standardOutput = stdoutPipe
        if input != nil { process.standardInput = Pipe() }
    }

    /// Starts the hub and waits for its `listening on` line; returns the port.
    func start() throws -> Int {
        try ProcessLauncher.launch(process)
        var text = ""
        while !text.contains("listening on http") || !text.hasSuffix("\n") {
            let data = PipeReading.chunk(stderrPipe.fileHandleForReading.fileDescriptor)
            guard !data.isEmpty else { throw TestConnectionError(description: "the hub exited before listening: \(text)") }
            text += String(decoding: data, as: UTF8.self)
        }
        let line = text.split(separator: "\n").first { $0.hasPrefix("listening on http") }!
        port = Int(line.split(separator: ":").last!)!
        return port
    }

    /// Runs to completion and returns the exit status and everything written to stderr.
    func runToExit() throws -> (status: Int32, stderr: String) {
        let result = try runCapturingOutput()
        return (result.status, result.stderr)
    }

    /// Runs to completion and returns the exit status, stdout and stderr.
    func runCapturingOutput() throws -> (status: Int32, stdout: String, stderr: String) {
        try ProcessLauncher.launch(process)
        if let input, let pipe = process.standardInput as? Pipe {
            pipe.fileHandleForWriting.write(Data(input))
            try pipe.fileHandleForWriting.close()
        }
        let stdout = DetachedRead(stdoutPipe.fileHandleForReading)
        let stderr = PipeReading.readToEnd(stderrPipe.fileHandleForReading.fileDescriptor)
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout.wait(), as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// A test that fails midway must not leave a hub running.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    /// Waits for exit and returns the status (or the signal number for an uncaught signal).
    func waitForExit() -> (status: Int32, reason: Process.TerminationReason) {
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason)
    }
}

/// Starts child processes one at a time: Foundation's `Process.run()` on Linux is not safe to call
/// from several threads at once (seen here as a crash in its memmove), and the tests run in parallel.
enum ProcessLauncher {
    private static let lock = NSLock()

    static func launch(_ process: Process) throws {
        lock.lock()
        defer { lock.unlock() }
        try process.run()
    }
}
