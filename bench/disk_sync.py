#!/usr/bin/env python3
"""How fast the disk under a directory takes synced writes: what bounds a durable ingest path.

Each of K threads appends CHUNK bytes to one zero-filled file (like a write-ahead log that was
preallocated) and fdatasyncs it, in a loop, for SECONDS. Prints, per K: syncs per second, MB/s made
durable, and the p50/p99 latency of one write + fdatasync.

    bench/disk_sync.py [--dir DIR] [--seconds 4] [--chunk 36864] [--threads 1,2,3]

DIR defaults to the current directory (run it where the hub's data dir lives). The file is removed
afterwards.
"""
import argparse
import os
import tempfile
import threading
import time

FILE_BYTES = 64 << 20


def measure(path, threads, seconds, chunk):
    data = b"x" * chunk
    lock = threading.Lock()
    offset = [0]
    latencies = []

    def worker():
        fd = os.open(path, os.O_RDWR)
        mine = []
        try:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                with lock:
                    at = offset[0]
                    offset[0] = (at + chunk) % (FILE_BYTES - chunk)
                start = time.perf_counter()
                os.pwrite(fd, data, at)
                os.fdatasync(fd)
                mine.append(time.perf_counter() - start)
        finally:
            os.close(fd)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    latencies.sort()
    n = len(latencies)
    return n / seconds, n * chunk / seconds / 1e6, latencies[n // 2] * 1e3, latencies[min(n - 1, int(n * 0.99))] * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default=".")
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--chunk", type=int, default=36864, help="bytes per write (default: about one group commit of the hub)")
    parser.add_argument("--threads", default="1,2,3")
    args = parser.parse_args()
    fd, path = tempfile.mkstemp(dir=args.dir, prefix="disk-sync.")
    try:
        os.pwrite(fd, b"\0" * FILE_BYTES, 0)
        os.fsync(fd)
        os.close(fd)
        print(f"{'threads':>7} {'syncs/s':>9} {'MB/s':>7} {'p50_ms':>8} {'p99_ms':>8}   ({args.chunk} B per write + fdatasync, {args.dir})")
        for threads in (int(k) for k in args.threads.split(",")):
            rate, mbps, p50, p99 = measure(path, threads, args.seconds, args.chunk)
            print(f"{threads:>7} {rate:>9.0f} {mbps:>7.0f} {p50:>8.2f} {p99:>8.2f}")
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
