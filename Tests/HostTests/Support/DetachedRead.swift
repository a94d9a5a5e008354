import Foundation

/// Reads a pipe to its end on a thread of its own (so two pipes can drain at once).
final class DetachedRead: @unchecked Sendable {  // `data` is written before `done` is signalled and read after.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }.start()
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}
