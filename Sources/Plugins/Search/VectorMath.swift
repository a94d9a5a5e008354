import Dispatch
import Foundation

/// Dot products and norms over `Float` rows with Swift's SIMD types.
///
/// Compiled for the baseline x86-64 target (SSE2), so the binary runs on every x86-64 CPU: each
/// `SIMD16<Float>` multiply-add becomes four 4-wide SSE multiplies and adds. Building with
/// `-Xswiftc -target-cpu -Xswiftc haswell` turns them into AVX2/FMA; docs/search.md has the figures
/// and why the default stays portable.
enum VectorMath {
    /// The dot product of `count` floats at `a` and `b`.
    @inline(__always)
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var sum0 = SIMD16<Float>(), sum1 = SIMD16<Float>()
        var index = 0
        let rawA = UnsafeRawPointer(a), rawB = UnsafeRawPointer(b)
        while index + 32 <= count {
            let offset = index * MemoryLayout<Float>.stride
            sum0 += rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self) * rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            sum1 += rawA.loadUnaligned(fromByteOffset: offset + 64, as: SIMD16<Float>.self) * rawB.loadUnaligned(fromByteOffset: offset + 64, as: SIMD16<Float>.self)
            index += 32
        }
        while index + 16 <= count {
            let offset = index * MemoryLayout<Float>.stride
            sum0 += rawA.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self) * rawB.loadUnaligned(fromByteOffset: offset, as: SIMD16<Float>.self)
            index += 16
        }
        var sum = (sum0 + sum1).sum()
        while index < count {
            sum += a[index] * b[index]
            index += 1
        }
        return sum
    }

    /// The dot product of two arrays of equal length.
    static func dot(_ a: [Float], _ b: [Float]) -> Float {
        a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in dot(a.baseAddress!, b.baseAddress!, count: min(a.count, b.count)) } }
    }

    /// `vector` scaled to length 1 (unchanged when it is all zeros).
    static func normalized(_ vector: [Float]) -> [Float] {
        let norm = dot(vector, vector).squareRoot()
        return norm > 0 ? vector.map { $0 / norm } : vector
    }

    /// Runs `body(part)` for `parts` parts at once: the calling thread takes part 0, a new thread
    /// each of the others, and it returns when all are done. Plain threads, not GCD's
    /// `concurrentPerform`: on Linux the Swift concurrency pool runs on GCD's global threads, and
    /// seconds of k-means there would starve every async task in the process. A thread costs tens of
    /// microseconds; scans are only split when they take milliseconds.
    static func inParallel(parts: Int, _ body: @escaping @Sendable (Int) -> Void) {
        guard parts > 1 else { return body(0) }
        let done = DispatchSemaphore(value: 0)
        for part in 1..<parts {
            Thread {
                body(part)
                done.signal()
            }.start()
        }
        body(0)
        for _ in 1..<parts { done.wait() }
    }

    /// Cores to split a scan over.
    static let cores = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
}
