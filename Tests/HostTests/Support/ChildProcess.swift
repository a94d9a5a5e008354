import CLinux
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn`, with its stdin, stdout and stderr on pipes.
///
/// The tests do not use Foundation's `Process`: on Linux its `run()` walks the parent's open file
/// descriptors while the in-process hubs of other tests open and close sockets, and it crashed
/// (a memmove in `Process.run`) under exactly that load. Every descriptor the tests and the hub open
/// is close-on-exec, so the child inherits only the three pipes.
final class ChildProcess: @unchecked Sendable {  // Used by one test at a time; `status` is written once, by `wait`.
    let pid: pid_t
    let stdinFD: Int32
    let stdoutFD: Int32
    let stderrFD: Int32
    private var status: Int32?

    struct SpawnError: Error, CustomStringConvertible {
        let description: String
    }

    init(executable: String, arguments: [String], environment: [String: String]) throws {
        var stdinPipe: [Int32] = [0, 0], stdoutPipe: [Int32] = [0, 0], stderrPipe: [Int32] = [0, 0]
        guard atom_pipe_cloexec(&stdinPipe) == 0, atom_pipe_cloexec(&stdoutPipe) == 0, atom_pipe_cloexec(&stderrPipe) == 0 else {
            throw SpawnError(description: "pipe2 failed: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, stderrPipe[1], 2)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(stdinPipe[0])
        close(stdoutPipe[1])
        close(stderrPipe[1])
        guard result == 0 else {
            close(stdinPipe[1])
            close(stdoutPipe[0])
            close(stderrPipe[0])
            throw SpawnError(description: "posix_spawn \(executable) failed: \(String(cString: strerror(result)))")
        }
        self.pid = pid
        stdinFD = stdinPipe[1]
        stdoutFD = stdoutPipe[0]
        stderrFD = stderrPipe[0]
    }

    deinit {
        if status == nil {
            kill(pid, SIGKILL)  // A test that failed midway must not leave a child running.
            _ = wait()
        }
        close(stdinFD)
        close(stdoutFD)
        close(stderrFD)
    }

    /// Writes `bytes` to the child's stdin and closes it.
    func writeInput(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(stdinFD, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { break }
            offset += written
        }
        shutdownInput()
    }

    /// Closes the child's stdin (EOF for it).
    func shutdownInput() {
        // Replace the write end with /dev/null so deinit's close stays valid.
        let null = open("/dev/null", O_RDONLY | O_CLOEXEC)
        dup2(null, stdinFD)
        close(null)
    }

    func signal(_ number: Int32) { kill(pid, number) }

    var isRunning: Bool { status == nil }

    /// Waits for the child to end; returns the raw wait status.
    @discardableResult
    func wait() -> Int32 {
        if let status { return status }
        var raw: Int32 = 0
        while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
        status = raw
        return raw
    }

    /// The exit code, or nil when a signal ended the child.
    var exitCode: Int32? {
        let raw = wait()
        return raw & 0x7f == 0 ? (raw >> 8) & 0xff : nil
    }

    /// The signal that ended the child, or nil when it exited.
    var terminatingSignal: Int32? {
        let raw = wait()
        return raw & 0x7f == 0 ? nil : raw & 0x7f
    }
}
