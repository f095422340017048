"""Summarise py-spy collapsed stacks: top functions by inclusive and self samples.

    python bench/folded.py server-pp10000.folded [--filter sync_server] [--top 30]
"""
import argparse
from collections import Counter

ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("--top", type=int, default=30)
ap.add_argument("--filter", default="")
ap.add_argument("--func", action="store_true", help="merge lines of a function")
a = ap.parse_args()
incl, self_, total = Counter(), Counter(), 0
for line in open(a.file):
    stack, _, n = line.rstrip().rpartition(" ")
    n = int(n)
    frames = stack.split(";")
    if a.func:
        import re
        frames = [re.sub(r":\d+\)$", ")", f) for f in frames]
    if a.filter and not any(a.filter in f for f in frames):
        continue
    total += n
    for f in set(frames[1:]):
        incl[f] += n
    self_[frames[-1]] += n
print(f"samples: {total}")
print("-- inclusive")
for f, n in incl.most_common(a.top):
    print(f"{100 * n / total:5.1f}%  {f[:150]}")
print("-- self")
for f, n in self_.most_common(a.top):
    print(f"{100 * n / total:5.1f}%  {f[:150]}")
