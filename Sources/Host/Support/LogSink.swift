#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Foundation
import Synchronization

/// Where log lines go: appended to a buffer by whichever thread logs, and written to a file
/// descriptor by a thread of its own, as many lines per `write` as have accumulated.
///
/// One `write` per line cost a request-logging hub a system call on every request (3.5 % of the
/// ingest path's CPU in a profile), and waking a writer per line cost more. So the writer wakes
/// every ``interval`` (or at once when ``wakeBytes`` are pending) and writes everything, in the
/// order appended. ``flush()`` writes what is pending from the calling thread and runs at process
/// exit, so only a crash loses lines: at most the last ``interval`` of them.
final class LogSink: Sendable {
    /// Standard error, flushed at exit.
    static let standardError: LogSink = {
        let sink = LogSink(descriptor: 2)
        atexit { LogSink.standardError.flush() }
        return sink
    }()

    /// How long a line may wait for the writer.
    static let interval = DispatchTimeInterval.milliseconds(20)
    /// Pending bytes that wake the writer before its interval.
    static let wakeBytes = 64 << 10
    /// Pending bytes beyond which appends write themselves (a stuck descriptor must not grow memory without bound).
    static let maximumPendingBytes = 4 << 20

    private struct State {
        var pending: [UInt8] = []
    }

    private let descriptor: Int32
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    /// Serialises writes to the descriptor between the writer thread and ``flush()``.
    private let writeLock = Mutex(())

    init(descriptor: Int32) {
        self.descriptor = descriptor
        System.startThread(named: "atom.log") { [self] in run() }
    }

    /// Queues the bytes `write` appends (whole lines, with their newlines), formatted straight into
    /// the pending buffer. `write` runs under the sink's lock, so it must be short and must not log.
    func append(writing write: (inout [UInt8]) -> Void) {
        let (signal, overfull) = state.withLock { state in
            let before = state.pending.count
            write(&state.pending)
            return (before < Self.wakeBytes && state.pending.count >= Self.wakeBytes, state.pending.count > Self.maximumPendingBytes)
        }
        if overfull {
            flush()
        } else if signal {
            wake.signal()
        }
    }

    /// Writes everything pending now, from the calling thread.
    func flush() {
        writeLock.withLock { _ in
            let bytes = state.withLock { state in
                defer { state.pending.removeAll(keepingCapacity: true) }
                return state.pending
            }
            writeAll(bytes)
        }
    }

    private func run() {
        while true {
            _ = wake.wait(timeout: .now() + Self.interval)  // Woken early or not, write what is pending.
            flush()
        }
    }

    /// Writes `bytes` whole, retrying partial writes and EINTR; other errors drop them (there is
    /// nowhere left to report a failing log).
    private func writeAll(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
