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
        try process.run()
        var text = ""
        while !text.contains("listening on http://") || !text.hasSuffix("\n") {
            let data = readChunk()
            guard !data.isEmpty else { throw TestConnectionError(description: "the hub exited before listening: \(text)") }
            text += String(decoding: data, as: UTF8.self)
        }
        let line = text.split(separator: "\n").first { $0.hasPrefix("listening on http://") }!
        port = Int(line.split(separator: ":").last!)!
        return port
    }

    /// Runs to completion and returns the exit status and everything written to stderr.
    func runToExit() throws -> (status: Int32, stderr: String) {
        try process.run()
        var data: [UInt8] = []
        while true {
            let chunk = readChunk()
            if chunk.isEmpty { break }
            data += chunk
        }
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Reads what stderr has (empty at EOF), retrying on EINTR: other tests' child processes exit
    /// concurrently, and Foundation's FileHandle traps on an interrupted read.
    private func readChunk() -> [UInt8] {
        let fd = stderrPipe.fileHandleForReading.fileDescriptor
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count >= 0 { return Array(buffer[0..<count]) }
            if errno != EINTR { return [] }
        }
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    /// Waits for exit and returns the status (or the signal number for an uncaught signal).
    func waitForExit() -> (status: Int32, reason: Process.TerminationReason) {
        process.waitUntilExit()
        return (process.terminationStatus, process.terminationReason)
    }
}
