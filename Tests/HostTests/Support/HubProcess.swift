import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The `atom-hub` executable run as a child process, as an operator would run it.
final class HubProcess: @unchecked Sendable {  // Mutated only by the test that owns it, one call at a time.
    let process = Process()
    private let stderrPipe = Pipe()
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

    init(arguments: [String], environment: [String: String]) {
        process.executableURL = Self.executable
        process.arguments = arguments
        process.environment = environment
        process.standardError = stderrPipe
        process.standardOutput = FileHandle.nullDevice
    }

    /// Starts the hub and waits for its `listening on` line; returns the port.
    func start() throws -> Int {
        try ProcessLauncher.launch(process)
        var text = ""
        while !text.contains("listening on http://") || !text.hasSuffix("\n") {
            let data = try readStderr()
            guard !data.isEmpty else { throw TestConnectionError(description: "the hub exited before listening: \(text)") }
            text += String(decoding: data, as: UTF8.self)
        }
        let line = text.split(separator: "\n").first { $0.hasPrefix("listening on http://") }!
        port = Int(line.split(separator: ":").last!)!
        return port
    }

    /// Runs to completion and returns the exit status and everything written to stderr.
    func runToExit() throws -> (status: Int32, stderr: String) {
        try ProcessLauncher.launch(process)
        var data: [UInt8] = []
        while case let chunk = try readStderr(), !chunk.isEmpty { data += chunk }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// The next bytes of the child's stderr (empty at end of file). Foundation's `availableData`
    /// traps when a signal interrupts the read (SIGCHLD from another test's child), so read directly
    /// and retry on EINTR.
    private func readStderr() throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(stderrPipe.fileHandleForReading.fileDescriptor, $0.baseAddress, $0.count) }
            if count >= 0 { return Array(buffer.prefix(count)) }
            guard errno == EINTR else { throw TestConnectionError(description: "reading the hub's stderr failed (errno \(errno))") }
        }
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
