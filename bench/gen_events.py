#!/usr/bin/env python3
"""Pre-generates unique, correctly signed Slack Events API requests for bench/ingest.lua.

Writes SLICES files OUT/slice-<i>.tsv (i = 1..SLICES, one per wrk thread), each line
`<timestamp>\t<v0 signature>\t<raw JSON body>`. Every body carries a distinct event_id, so a hub
that de-duplicates on event_id stores every request it acks. With `--ids random` (the default) the
ids look like Slack's, in no particular order: `Ev<PREFIX>` + 16 hex digits of n times an odd 64-bit
constant (a bijection, so still unique). With `--ids sequential` they are `Ev<PREFIX><n>`, which
a B-tree index receives in order, all at its right edge: cheaper to store than real traffic.
All events share one fresh timestamp (now), which Slack's 5-minute window accepts until
now + 300 s: generate right before the run that uses them.
"""
import argparse
import hashlib
import hmac
import os
import sys
import time


def event_id(n: int, order: str) -> str:
    """The suffix of event n's id: scattered (like Slack's) or in order."""
    if order == "sequential":
        return str(n)
    return format((n * 0x9E3779B97F4A7C15) % (1 << 64), "016X")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", required=True, help="directory for slice-<i>.tsv")
    ap.add_argument("--events", type=int, required=True, help="total number of unique events")
    ap.add_argument("--slices", type=int, default=2, help="one slice per wrk thread")
    ap.add_argument("--prefix", default="B", help="event_id namespace, e.g. a run id")
    ap.add_argument("--ids", choices=["random", "sequential"], default="random", help="event_id order (see above)")
    ap.add_argument("--secret", default=os.environ.get("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5"))
    args = ap.parse_args()
    if args.events < args.slices:
        ap.error("--events must be at least --slices")

    os.makedirs(args.out, exist_ok=True)
    ts = str(int(time.time()))
    # HMAC state after the key and the constant "v0:<ts>:" prefix; copied per event.
    base = hmac.new(args.secret.encode(), f"v0:{ts}:".encode(), hashlib.sha256)
    template = (
        '{"type":"event_callback","team_id":"T1","api_app_id":"A1","event_id":"Ev%s%%s",'
        '"event_time":%s,"event":{"type":"message","channel":"C1","user":"U1",'
        '"text":"hello %%d","ts":"%s.000100"}}' % (args.prefix, ts, ts)
    )
    per = args.events // args.slices
    n = 0
    for i in range(args.slices):
        count = per + (1 if i < args.events % args.slices else 0)
        path = os.path.join(args.out, f"slice-{i + 1}.tsv")
        with open(path, "w", buffering=1 << 20) as f:
            lines = []
            for _ in range(count):
                body = template % (event_id(n, args.ids), n)
                h = base.copy()
                h.update(body.encode())
                lines.append(f"{ts}\tv0={h.hexdigest()}\t{body}\n")
                n += 1
                if len(lines) >= 65536:
                    f.write("".join(lines))
                    lines.clear()
            f.write("".join(lines))
        print(f"{path}: {count} events", file=sys.stderr)
    print(ts)  # the shared timestamp, for the caller's freshness checks
    return 0


if __name__ == "__main__":
    sys.exit(main())
