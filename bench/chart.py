"""One SVG bar chart of throughput per scenario: ceiling, cachette, fastapi-cache2.

usage: chart.py OUT file.svg   (no dependencies: the SVG is written by hand)
"""

import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import summarize  # noqa: E402

OUT, SVG = sys.argv[1], sys.argv[2]
summarize.OUT = OUT
ceil = summarize.ceiling_rows()
peer = summarize.peer_rows()

groups = []  # (label, [(series, value)])
for backend, ceiling in (("memory", "/users/static"), ("redis", "/users/redis-raw")):
    bars = []
    if (backend, ceiling) in ceil:
        bars.append(("ceiling", ceil[(backend, ceiling)][0]))
    if (backend, "/users") in ceil:
        bars.append(("cachette", ceil[(backend, "/users")][0]))
    if ("python", f"{backend}-hit") in peer:
        bars.append(("fastapi-cache2", peer[("python", f"{backend}-hit")][0]))
    if bars:
        groups.append((f"{backend} HIT", bars))
for tag, label in (("memory-nocache", "memory no-cache"), ("redis-nocache", "redis no-cache"), ("none", "no cache")):
    bars = []
    if ("rust", tag) in peer:
        bars.append(("cachette", peer[("rust", tag)][0]))
    if ("python", tag) in peer:
        bars.append(("fastapi-cache2", peer[("python", tag)][0]))
    if bars:
        groups.append((label, bars))

colors = {"ceiling": "#9e9e9e", "cachette": "#c2410c", "fastapi-cache2": "#2563eb"}
width, height, left, bottom, top = 900, 420, 80, 60, 40
plot_h = height - bottom - top
vmax = max((v for _, bars in groups for _, v in bars), default=1) * 1.1
group_w = (width - left - 20) / max(len(groups), 1)
bar_w = group_w / 4

parts = [
    f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
    f'<rect width="{width}" height="{height}" fill="white"/>',
    f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">GET /users, requests per second (server on one core; same run)</text>',
]
for i in range(6):
    v = vmax * i / 5
    y = top + plot_h - plot_h * i / 5
    parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - 20}" y2="{y:.1f}" stroke="#e5e7eb"/>')
    parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v / 1000:.0f}k</text>')
for gi, (label, bars) in enumerate(groups):
    x0 = left + gi * group_w + (group_w - bar_w * len(bars)) / 2
    for bi, (series, value) in enumerate(bars):
        h = plot_h * value / vmax
        x = x0 + bi * bar_w
        y = top + plot_h - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 4:.1f}" height="{h:.1f}" fill="{colors[series]}"/>')
        parts.append(f'<text x="{x + (bar_w - 4) / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="10">{value / 1000:.1f}k</text>')
    parts.append(f'<text x="{left + gi * group_w + group_w / 2:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{label}</text>')
lx = left
for series, color in colors.items():
    parts.append(f'<rect x="{lx}" y="{height - 22}" width="12" height="12" fill="{color}"/>')
    parts.append(f'<text x="{lx + 16}" y="{height - 12}">{series}</text>')
    lx += 140
parts.append("</svg>")
open(SVG, "w").write("\n".join(parts) + "\n")
