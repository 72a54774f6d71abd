"""Tables and ratios from a bench/run.sh output directory.

usage: summarize.py OUT
Reads OUT/ceiling.tsv (cachette against its ceilings, interleaved) and
OUT/peer/wrk-*.txt (the reference's side-by-side run) and prints markdown.
"""

import glob
import os
import re
import statistics
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else "/tmp/cachette-bench"


def to_ms(s):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", s)
    if not m:
        return float("nan")
    v, u = float(m.group(1)), m.group(2)
    return v * {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}[u]


def wrk(path):
    txt = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", txt).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", txt, re.M))
    return rps, to_ms(pct.get("50", "nan")), to_ms(pct.get("99", "nan"))


def peer_rows():
    rows = {}
    for impl in ("python", "rust"):
        for tag in ("none", "memory-hit", "memory-nocache", "redis-hit", "redis-nocache"):
            files = sorted(glob.glob(os.path.join(OUT, "peer", f"wrk-{impl}-{tag}-[0-9]*.txt")))
            if files:
                runs = [wrk(f) for f in files]
                rows[(impl, tag)] = tuple(statistics.median(r[i] for r in runs) for i in range(3))
    return rows


def ceiling_rows():
    rows = {}
    path = os.path.join(OUT, "ceiling.tsv")
    if not os.path.exists(path):
        return rows
    data = {}
    for line in open(path):
        backend, route, _i, rps, p50, p99 = line.rstrip("\n").split("\t")
        data.setdefault((backend, route), []).append((float(rps), to_ms(p50), to_ms(p99)))
    for key, runs in data.items():
        rows[key] = (
            statistics.median(r[0] for r in runs),
            statistics.median(r[1] for r in runs),
            statistics.median(r[2] for r in runs),
            min(r[0] for r in runs),
            max(r[0] for r in runs),
        )
    return rows


def main():
    out = []
    ceil = ceiling_rows()
    if ceil:
        out.append("### cachette against the ceiling (interleaved runs, medians)\n")
        out.append("| scenario | req/s | min–max | p50 ms | p99 ms | ratio to ceiling |")
        out.append("|---|---:|---:|---:|---:|---:|")
        for backend, ceiling in (("memory", "/users/static"), ("redis", "/users/redis-raw"), ("redis-near", "/users/static")):
            c = ceil.get((backend, ceiling))
            h = ceil.get((backend, "/users"))
            if not c or not h:
                continue
            out.append(f"| {backend}: ceiling `{ceiling}` | {c[0]:,.0f} | {c[3]:,.0f}–{c[4]:,.0f} | {c[1]:.2f} | {c[2]:.2f} | 1.00 |")
            out.append(f"| {backend}: cachette HIT `/users` | {h[0]:,.0f} | {h[3]:,.0f}–{h[4]:,.0f} | {h[1]:.2f} | {h[2]:.2f} | **{h[0] / c[0]:.2f}** |")
    peer = peer_rows()
    if peer:
        out.append("\n### cachette against fastapi-cache2 (the reference's run.sh, same run, medians)\n")
        out.append("| scenario | fastapi-cache2 req/s | cachette req/s | ratio | fastapi-cache2 p50 / p99 ms | cachette p50 / p99 ms |")
        out.append("|---|---:|---:|---:|---|---|")
        labels = {
            "none": "no cache (SELECT every request)",
            "memory-hit": "memory HIT",
            "memory-nocache": "memory, `Cache-Control: no-cache`",
            "redis-hit": "redis HIT",
            "redis-nocache": "redis, `Cache-Control: no-cache`",
        }
        for tag, label in labels.items():
            p, r = peer.get(("python", tag)), peer.get(("rust", tag))
            if p and r:
                out.append(
                    f"| {label} | {p[0]:,.0f} | {r[0]:,.0f} | **{r[0] / p[0]:.1f}x** | "
                    f"{p[1]:.2f} / {p[2]:.2f} | {r[1]:.2f} / {r[2]:.2f} |"
                )
    print("\n".join(out))


if __name__ == "__main__":
    main()
