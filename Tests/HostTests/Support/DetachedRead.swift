import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Reads a pipe to its end on a thread of its own, so a child can fill stdout and stderr at once.
final class DetachedRead: @unchecked Sendable {  // `data` is written before `done` is signalled and read after.
    private var data: [UInt8] = []
    private let done = DispatchSemaphore(value: 0)

    init(fd: Int32) {
        Thread { [self] in
            data = PipeReading.readToEnd(fd)
            done.signal()
        }.start()
    }

    func wait() -> [UInt8] {
        done.wait()
        return data
    }
}

/// Pipe reads that survive EINTR. Foundation's `FileHandle` traps when a signal interrupts a read
/// (SIGCHLD from another test's child process), so the tests read file descriptors directly.
enum PipeReading {
    /// The next bytes (empty at end of file or on an error other than EINTR).
    static func chunk(_ fd: Int32) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count >= 0 { return Array(buffer.prefix(count)) }
            if errno != EINTR { return [] }
        }
    }

    static func readToEnd(_ fd: Int32) -> [UInt8] {
        var data: [UInt8] = []
        while case let next = chunk(fd), !next.isEmpty { data += next }
        return data
    }
}
