#if canImport(Glibc)
import Glibc
#endif

/// Small facts about the process and machine.
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
}

/// A failed system call: which call, and its `errno`.
struct SystemCallError: Error, CustomStringConvertible {
    let call: String
    let code: Int32
    var description: String { "\(call) failed: \(System.errorDescription(code))" }
}
