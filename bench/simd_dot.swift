// Driver for bench/simd.sh: times VectorMath.dot (compiled from Sources/Plugins/Search/VectorMath.swift
// with this file) over 100k x 384 float rows: one exact scan, single-threaded, best of 20.
import Foundation

let rows = 100_000, dimensions = 384
var generator = SystemRandomNumberGenerator()
let data = (0..<(rows * dimensions)).map { _ in Float.random(in: -1...1, using: &generator) }
let query = (0..<dimensions).map { _ in Float.random(in: -1...1, using: &generator) }
var best = Double.infinity
var checksum: Float = 0
for _ in 0..<20 {
    let start = DispatchTime.now().uptimeNanoseconds
    data.withUnsafeBufferPointer { data in
        query.withUnsafeBufferPointer { query in
            for row in 0..<rows { checksum += VectorMath.dot(query.baseAddress!, data.baseAddress! + row * dimensions, count: dimensions) }
        }
    }
    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
}
print(String(format: "exact scan of %d x %d: %.2f ms (%.1f GFLOP/s) checksum %.1f", rows, dimensions, best, Double(rows * dimensions * 2) / best / 1e6, checksum))
