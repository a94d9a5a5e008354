#!/usr/bin/env python3
"""Search benchmark: the hub's search provider vs LanceDB on the same generated corpus.

Run by bench/search.sh (which builds the hub and prepares the venv). Phases:
  generate  corpus (N docs x D dims, clustered, seeded) + queries + exact ground truth (numpy)
  hub       start the release hub, load over HTTP (batches of 1000 with client vectors), build the
            IVF index (POST /index), query over HTTP keep-alive (one client, sequential)
  lancedb   in a subprocess with LANCE_CPU_THREADS=2: load, IVF_PQ index + FTS index, queries in
            process, sweeping nprobes x refine_factor
Prints one table; writes results.json to the output directory.
"""
import argparse, http.client, json, os, re, resource, subprocess, sys, tempfile, time
import numpy as np

WORDS = [a + b for a in ["ka", "lo", "mi", "ne", "po", "ru", "sa", "ti", "vu", "ze", "ba", "do", "fe", "gu"]
         for b in ["ran", "lek", "mos", "tiv", "dal", "pex", "sor", "bin", "gat", "wul", "hem", "jor", "cyn", "fop", "quin"]]
WORDS = [w + s for w in WORDS for s in ["", "a", "e", "o", "us", "ix", "en", "ar", "um", "is", "et", "ok", "ul", "an", "od", "ir", "ey", "am", "ot", "ux", "iv", "ep", "ag", "ob"]]


def generate(n, d, clusters, queries, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d)).astype(np.float32)
    assign = rng.integers(0, clusters, size=n)
    vectors = centres[assign] + 0.6 * rng.normal(size=(n, d)).astype(np.float32)
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    qassign = rng.integers(0, clusters, size=queries)
    qvectors = centres[qassign] + 0.6 * rng.normal(size=(queries, d)).astype(np.float32)
    qvectors = (qvectors / np.linalg.norm(qvectors, axis=1, keepdims=True)).astype(np.float32)
    # Exact ground truth, computed here with numpy (cosine = dot of unit vectors).
    truth = np.argsort(-(qvectors @ vectors.T), axis=1)[:, :10]
    # Text: a Zipf vocabulary, each cluster preferring its own slice, so words are common, medium and rare.
    vocab = len(WORDS)
    ranks = np.arange(1, vocab + 1)
    probs = 1.0 / ranks ** 1.05
    probs /= probs.sum()
    words = rng.choice(vocab, size=(n, 36), p=probs)
    words[:, :6] = (words[:, :6] + assign[:, None] * 37) % vocab
    titles = [" ".join(WORDS[w] for w in row[:6]) for row in words]
    contents = [" ".join(WORDS[w] for w in row[6:]) for row in words]
    common = [WORDS[i] for i in range(3)]           # in roughly half the documents or more
    medium = [WORDS[i] for i in range(40, 60)]
    rare = [WORDS[i] for i in range(3000, 3100)]
    kw = []
    for i in range(queries):
        kind = i % 4
        if kind == 0: kw.append(common[i % 3])
        elif kind == 1: kw.append(medium[i % 20] + " " + rare[i % 100])
        elif kind == 2: kw.append(rare[i % 100])
        else: kw.append(common[i % 3] + " " + medium[(i * 7) % 20])
    return vectors, titles, contents, qvectors, truth, kw


def percentile(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(times):
    return {"p50_ms": percentile(times, 50) * 1000, "p99_ms": percentile(times, 99) * 1000, "qps": len(times) / sum(times)}


def recall(found, truth):
    return float(np.mean([len(set(f[:10]) & set(t)) / 10 for f, t in zip(found, truth)]))


class Hub:
    def __init__(self, binary, token, workdir):
        self.token = token
        plugins = os.path.join(workdir, "plugins.json")
        with open(plugins, "w") as f:
            json.dump({"providers": {"search": {"enabled": True}}}, f)
        env = dict(os.environ, ADMIN_TOKEN=token, LOG_LEVEL="warning")
        self.log = open(os.path.join(workdir, "hub.log"), "w+")
        self.proc = subprocess.Popen([binary, "--port", "0", "--data-dir", os.path.join(workdir, "data"), "--plugins", plugins],
                                     env=env, stderr=subprocess.PIPE, stdout=self.log, text=True)
        for line in self.proc.stderr:
            self.log.write(line)
            m = re.search(r"listening on http://([\d.]+):(\d+)", line)
            if m:
                self.port = int(m.group(2))
                break
        else:
            raise SystemExit("the hub did not start; see hub.log")
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port)

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body, separators=(",", ":"))
        headers = {"Authorization": "Bearer " + self.token, "Content-Type": "application/json"}
        self.conn.request(method, path, body=data, headers=headers)
        r = self.conn.getresponse()
        payload = r.read()
        if r.status != 200:
            raise SystemExit(f"{method} {path} -> {r.status}: {payload[:300]!r}")
        return json.loads(payload)

    def peak_rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024

    def stop(self):
        self.conn.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)


def run_hub(args, data, workdir):
    vectors, titles, contents, qvectors, truth, kw = data
    hub = Hub(args.binary, "bench-admin-token-0123456789abcdef", workdir)
    out = {}
    load = 0.0  # Time in HTTP calls only: the client's JSON encoding is not the hub's work.
    for start in range(0, len(vectors), 1000):
        end = min(start + 1000, len(vectors))
        rows = np.round(vectors[start:end], 6).tolist()
        body = {"documents": [{"id": str(i), "title": titles[i], "content": contents[i], "vector": rows[i - start]} for i in range(start, end)]}
        t = time.perf_counter()
        hub.call("POST", "/api/lancedb-search/documents", body)
        load += time.perf_counter() - t
    built = hub.call("POST", "/api/lancedb-search/index", {})
    out["load_s"] = load
    out["index_s"] = built["seconds"]
    out["build_s"] = load + built["seconds"]
    out["lists"] = built["health"]["index"]["lists"]
    qlist = np.round(qvectors, 6).tolist()

    def vector_pass(body_extra):
        times, found = [], []
        for q in qlist:
            t = time.perf_counter()
            r = hub.call("POST", "/api/lancedb-search/hybrid", dict({"query": "", "search_type": "semantic", "vector": q, "limit": 10}, **body_extra))
            times.append(time.perf_counter() - t)
            found.append([int(x["id"]) for x in r["results"]])
        return times, found

    vector_pass({})  # warm-up
    out["vector"] = []
    for nprobe in args.hub_nprobes:
        times, found = vector_pass({"nprobe": nprobe})
        out["vector"].append(dict(summary(times), nprobe=nprobe, recall=recall(found, truth)))
    times, found = vector_pass({"nprobe": out["lists"]})
    out["vector_all_lists"] = dict(summary(times), recall=recall(found, truth))
    times = []
    for text in kw:
        t = time.perf_counter()
        hub.call("POST", "/api/lancedb-search/hybrid", {"query": text, "search_type": "keyword", "limit": 10})
        times.append(time.perf_counter() - t)
    out["keyword"] = summary(times)
    out["keyword_common"] = summary(times[0::4])
    times = []
    for text, q in zip(kw, qlist):
        t = time.perf_counter()
        hub.call("POST", "/api/lancedb-search/hybrid", {"query": text, "vector": q, "search_type": "hybrid", "limit": 10, "nprobe": args.hub_nprobes[1]})
        times.append(time.perf_counter() - t)
    out["hybrid"] = summary(times)
    out["peak_rss_mb"] = hub.peak_rss_mb()
    hub.stop()
    return out


LANCE_CHILD = r'''
import json, os, resource, sys, time
import numpy as np, pyarrow as pa, lancedb
a = json.loads(sys.argv[1])
d = np.load(a["npz"], allow_pickle=True)
vectors, qvectors, truth = d["vectors"], d["qvectors"], d["truth"]
titles, contents, kw = list(d["titles"]), list(d["contents"]), list(d["kw"])
def pct(s, p):
    s = sorted(s); return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]
def summ(t): return {"p50_ms": pct(t, 50) * 1000, "p99_ms": pct(t, 99) * 1000, "qps": len(t) / sum(t)}
def rec(found): return float(np.mean([len(set(f[:10]) & set(t)) / 10 for f, t in zip(found, truth)]))
db = lancedb.connect(a["dir"])
n, dim = vectors.shape
t0 = time.perf_counter()
table = pa.table({"id": pa.array(np.arange(n), pa.int64()), "text": [t + " " + c for t, c in zip(titles, contents)],
                  "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim)})
tbl = db.create_table("docs", table)
loaded = time.perf_counter()
options = {"num_sub_vectors": a["sub_vectors"]} if a["sub_vectors"] else {}
tbl.create_index(metric="cosine", vector_column_name="vector", num_partitions=a["partitions"], **options)
indexed = time.perf_counter()
tbl.create_fts_index("text")
fts = time.perf_counter()
out = {"load_s": loaded - t0, "index_s": indexed - loaded, "fts_index_s": fts - indexed, "build_s": fts - t0, "vector": []}
def vpass(nprobes, refine):
    times, found = [], []
    for q in qvectors:
        t = time.perf_counter()
        s = tbl.search(q).metric("cosine").nprobes(nprobes)
        if refine: s = s.refine_factor(refine)
        r = s.limit(10).select(["id"]).to_list()
        times.append(time.perf_counter() - t)
        found.append([x["id"] for x in r])
    return times, found
vpass(20, None)
for nprobes in a["nprobes"]:
    for refine in a["refine"]:
        t, f = vpass(nprobes, refine)
        out["vector"].append(dict(summ(t), nprobes=nprobes, refine_factor=refine, recall=rec(f)))
times = []
for text in kw:
    t = time.perf_counter(); tbl.search(text, query_type="fts").limit(10).select(["id"]).to_list(); times.append(time.perf_counter() - t)
out["keyword"] = summ(times); out["keyword_common"] = summ(times[0::4])
times = []
for text, q in zip(kw, qvectors):
    t = time.perf_counter()
    tbl.search(query_type="hybrid").vector(q).text(text).nprobes(a["nprobes"][1]).refine_factor(a["refine"][-1] or None).limit(10).select(["id"]).to_list()
    times.append(time.perf_counter() - t)
out["hybrid"] = summ(times)
out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out["version"] = lancedb.__version__
print("RESULT " + json.dumps(out))
'''


def run_lance(args, data, workdir):
    vectors, titles, contents, qvectors, truth, kw = data
    npz = os.path.join(workdir, "corpus.npz")
    np.savez(npz, vectors=vectors, qvectors=qvectors, truth=truth, titles=np.array(titles, dtype=object),
             contents=np.array(contents, dtype=object), kw=np.array(kw, dtype=object))
    params = {"npz": npz, "dir": os.path.join(workdir, "lance"), "nprobes": args.lance_nprobes, "refine": args.lance_refine,
              "partitions": int(len(vectors) ** 0.5), "sub_vectors": args.sub_vectors}
    env = dict(os.environ, LANCE_CPU_THREADS="2")
    r = subprocess.run([sys.executable, "-c", LANCE_CHILD, json.dumps(params)], env=env, capture_output=True, text=True)
    line = [l for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    if not line:
        raise SystemExit("lancedb run failed:\n" + r.stderr[-3000:])
    return json.loads(line[0][7:])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--docs", type=int, default=100_000)
    p.add_argument("--dims", type=int, default=384)
    p.add_argument("--clusters", type=int, default=100)
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--hub-nprobes", type=int, nargs="+", default=[2, 4, 8, 16])
    p.add_argument("--lance-nprobes", type=int, nargs="+", default=[10, 20, 40])
    p.add_argument("--lance-refine", type=lambda v: None if v == "none" else int(v), nargs="+", default=[None, 5, 20, 50, 100])
    p.add_argument("--sub-vectors", type=int, default=0, help="LanceDB num_sub_vectors (0: its default)")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    t = time.perf_counter()
    data = generate(args.docs, args.dims, args.clusters, args.queries, args.seed)
    print(f"[search bench] corpus {args.docs} x {args.dims}, {args.clusters} clusters, {args.queries} queries, generated in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="atom-search-bench-") as work:
        os.makedirs(os.path.join(work, "hub"))
        hub = run_hub(args, data, os.path.join(work, "hub"))
        print("[search bench] hub done", file=sys.stderr)
        lance = run_lance(args, data, work)
        print("[search bench] lancedb done", file=sys.stderr)
    result = {"corpus": {"docs": args.docs, "dims": args.dims, "clusters": args.clusters, "queries": args.queries, "seed": args.seed},
              "hub": hub, "lancedb": lance}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(result, f, indent=2)
    print(f"\nsearch benchmark: {args.docs} docs x {args.dims} dims, {args.queries} queries, one sequential client; shared 2-core machine")
    print(f"build (load + index): hub {hub['build_s']:.1f} s (load {hub['load_s']:.1f} + IVF {hub['index_s']:.1f}, {hub['lists']} lists); "
          f"lancedb {lance['version']} {lance['build_s']:.1f} s (load {lance['load_s']:.1f} + IVF_PQ {lance['index_s']:.1f} + FTS {lance['fts_index_s']:.1f})")
    print(f"{'engine':10} {'setting':28} {'recall@10':>9} {'p50 ms':>8} {'p99 ms':>8} {'QPS':>8}")
    for row in hub["vector"]:
        print(f"{'hub':10} {'vector nprobe=' + str(row['nprobe']):28} {row['recall']:9.3f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {row['qps']:8.0f}")
    row = hub["vector_all_lists"]
    print(f"{'hub':10} {'vector all lists (exact)':28} {row['recall']:9.3f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {row['qps']:8.0f}")
    for row in lance["vector"]:
        print(f"{'lancedb':10} {'vector nprobes=%d refine=%s' % (row['nprobes'], row['refine_factor']):28} {row['recall']:9.3f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {row['qps']:8.0f}")
    for name in ["keyword", "keyword_common", "hybrid"]:
        for engine, res in [("hub", hub), ("lancedb", lance)]:
            r = res[name]
            print(f"{engine:10} {name:28} {'':9} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['qps']:8.0f}")
    print(f"peak RSS: hub {hub['peak_rss_mb']:.0f} MB (server process); lancedb {lance['peak_rss_mb']:.0f} MB (python process incl. the corpus arrays)")


if __name__ == "__main__":
    main()
