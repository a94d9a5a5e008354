#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Foundation

/// Small facts about, and helpers over, the process and machine.
enum System {
    /// Online processor cores.
    static var coreCount: Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Monotonic nanoseconds, for deadlines and latencies.
    static func monotonicNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    /// The text of an errno value.
    static func errorDescription(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    /// `fdatasync(descriptor)`, retried when a signal interrupts it.
    static func dataSync(_ descriptor: Int32) throws(SystemCallError) {
        while fdatasync(descriptor) != 0 {
            guard errno == EINTR else { throw SystemCallError(call: "fdatasync", code: errno) }
        }
    }

    /// Starts a thread running `body`, named `name` for the kernel too (at most 15 bytes), so `top -H`,
    /// `perf` and `/proc/<pid>/task/*/comm` tell the hub's threads apart.
    static func startThread(named name: String, _ body: @escaping @Sendable () -> Void) {
        precondition(name.utf8.count <= 15, "the kernel keeps 15 bytes of a thread's name")
        let thread = Thread {
            _ = atom_set_thread_name(name)  // Only a label for tools; nothing depends on it.
            body()
        }
        thread.name = name
        thread.start()
    }
}

/// A failed system call: which call, and its `errno`.
struct SystemCallError: Error, CustomStringConvertible {
    let call: String
    let code: Int32
    var description: String { "\(call) failed: \(System.errorDescription(code))" }
}
