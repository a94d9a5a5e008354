"""Holds N idle keep-alive connections to the hub and measures what they cost it.

Usage: idle_clients.py PORT HUB_PID N
Prints the hub's RSS before and after, and the latency of fresh requests while the N are held.
Only 127.0.0.1 is contacted. Every connection is used once (one GET /healthz) so the server has seen a
full request on it, then left idle.
"""
import socket
import statistics
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def request(sock):
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b'{"status":"ok"}'):
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed")
        data += chunk
    return data


def fresh_latencies(port, count):
    samples = []
    for _ in range(count):
        start = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            request(sock)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return samples


def main():
    port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    before = rss_kib(pid)
    baseline = fresh_latencies(port, 200)
    held = []
    start = time.time()
    for i in range(n):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        request(sock)
        held.append(sock)
    opened_in = time.time() - start
    after_open = rss_kib(pid)
    loaded = fresh_latencies(port, 200)
    # Every held connection must still be open and usable.
    alive = 0
    for sock in held:
        try:
            request(sock)
            alive += 1
        except (OSError, RuntimeError):
            pass
    after_use = rss_kib(pid)
    for sock in held:
        sock.close()

    def p(samples, q):
        return samples[min(len(samples) - 1, int(q * len(samples)))]

    print(f"connections held:           {n} (opened in {opened_in:.1f} s, {alive} still usable afterwards)")
    print(f"hub RSS before:             {before / 1024:.1f} MiB")
    print(f"hub RSS with {n} idle:     {after_open / 1024:.1f} MiB  (growth {(after_open - before) / 1024:.1f} MiB, "
          f"{(after_open - before) * 1024 / n:.0f} bytes per connection)")
    print(f"hub RSS after reusing all:  {after_use / 1024:.1f} MiB")
    print(f"fresh request latency, idle hub:      p50 {p(baseline, .5):.2f} ms  p99 {p(baseline, .99):.2f} ms")
    print(f"fresh request latency, {n} held:   p50 {p(loaded, .5):.2f} ms  p99 {p(loaded, .99):.2f} ms")
    ok = alive == n and (after_open - before) < 100 * 1024
    print("RESULT:", "ok" if ok else "FAILED")
    sys.exit(0 if ok else 3)


if __name__ == "__main__":
    main()
