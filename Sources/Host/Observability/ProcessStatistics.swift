import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The process's own resource use, read from `/proc/self` at scrape time.
enum ProcessStatistics {
    /// Resident set size in bytes (`/proc/self/statm`), nil when unreadable.
    static func residentBytes() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }  // nil: not Linux or /proc not mounted.
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Open file descriptors (entries of `/proc/self/fd`), nil when unreadable.
    static func openFileDescriptors() -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.count  // nil: not Linux or /proc not mounted.
    }
}
