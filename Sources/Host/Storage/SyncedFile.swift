#if canImport(Glibc)
import Glibc
#endif

/// A file of SQLite's, opened by path for `fdatasync` (which flushes the file whichever descriptor
/// names it), and opened again if SQLite has replaced the file.
struct SyncedFile {
    let path: String
    private var descriptor: Int32 = -1
    private var inode: ino_t = 0

    init(path: String) { self.path = path }

    mutating func sync() throws(SystemCallError) {
        var current = stat()
        guard stat(path, &current) == 0 else { throw SystemCallError(call: "stat", code: errno) }
        if descriptor < 0 || current.st_ino != inode {
            close()
            descriptor = open(path, O_RDWR | O_CLOEXEC)
            guard descriptor >= 0 else { throw SystemCallError(call: "open", code: errno) }
            guard fstat(descriptor, &current) == 0 else { throw SystemCallError(call: "fstat", code: errno) }
            inode = current.st_ino
        }
        try System.dataSync(descriptor)
    }

    mutating func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }
}
