"""The benchmark's main table (ours next to pouchdb-server, with the targets)
and the encoding table, from the results ``bench/run.py`` collects."""

from __future__ import annotations

from typing import Any


def fmt(x: Any, nd: int = 1) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def table(res: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str, str, str]] = []
    peer = res.get("peer", {}).get("results", {})
    for n in res["sizes"]:
        ours = res.get("ours", {}).get(f"n{n}")
        if not ours:
            continue
        p_push, p_pull = peer.get(f"push_{n}", {}), peer.get(f"pull_{n}", {})
        for kind, o, p in (("push", ours["push"], p_push), ("pull", ours["pull"], p_pull)):
            ratio = o["docs_per_s"] / p["docs_per_s"] if p.get("docs_per_s") else None
            rows.append((f"{kind} {n:,} docs (docs/s)", fmt(o["docs_per_s"], 0),
                         fmt(p.get("docs_per_s"), 0), fmt(ratio, 2) + "×" if ratio else "—",
                         "≥5×" if n == max(res["sizes"]) else ""))
        fl = ours["push"].get("floor")
        if fl:
            budget = 1e6 / (5 * p_push["docs_per_s"]) if p_push.get("docs_per_s") else None
            rows.append((f"push {n:,}: SQLite floor µs/doc (records / all rows)",
                         f"{fl['records']['us_per_doc']:,.0f} / {fl['all']['us_per_doc']:,.0f}",
                         "", f"5× = {budget:,.0f} µs/doc" if budget else "", ""))
            rows.append((f"push {n:,}: µs/doc end to end", fmt(1e6 / ours["push"]["docs_per_s"], 0),
                         fmt(1e6 / p_push["docs_per_s"], 0) if p_push.get("docs_per_s") else "—",
                         "", ""))
        up = (ours["push"]["wire_bytes_up"] + ours["push"]["wire_bytes_down"]) / n
        dn = (ours["pull"]["wire_bytes_up"] + ours["pull"]["wire_bytes_down"]) / n
        pup = (p_push.get("wire_bytes_up", 0) + p_push.get("wire_bytes_down", 0)) / n
        pdn = (p_pull.get("wire_bytes_up", 0) + p_pull.get("wire_bytes_down", 0)) / n
        for kind, o, p in (("push", up, pup), ("pull", dn, pdn)):
            rows.append((f"{kind} {n:,}: wire bytes/doc", fmt(o, 0), fmt(p, 0),
                         fmt(o / p, 2) + "×" if p else "—", "≤0.5×"))
        rows.append((f"push {n:,}: peak RSS server/device MB",
                     f"{fmt(ours['push']['server_peak_rss_mb'])}/{fmt(ours['push']['device_peak_rss_mb'])}",
                     f"{fmt(p_push.get('server_peak_rss_mb'))}/{fmt(res.get('peer', {}).get('client_peak_rss_mb'))}",
                     "", ""))
        rows.append((f"pull {n:,}: peak RSS server/device MB",
                     f"{fmt(ours['pull']['server_peak_rss_mb'])}/{fmt(ours['pull']['device_peak_rss_mb'])}",
                     f"{fmt(p_pull.get('server_peak_rss_mb'))}/—", "", ""))
    c = res.get("ours", {}).get("concurrent")
    if c:
        n_runs = len(c.get("runs", [c]))
        med = f" (median of {n_runs} runs)" if n_runs > 1 else ""
        rows.append((f"{c['devices']} devices: push p50 / p99 s{med}",
                     f"{c['push_p50_s']:.3f} / {c['push_p99_s']:.3f}", "", "", "p99 <1 s"))
        if n_runs > 1:
            p99s = sorted(r["push_p99_s"] for r in c["runs"])
            rows.append((f"{c['devices']} devices: push p99 s, each run",
                         " ".join(f"{x:.2f}" for x in p99s), "", "", ""))
        rows.append((f"{c['devices']} devices: pull p50 / p99 s", f"{c['pull_p50_s']:.3f} / {c['pull_p99_s']:.3f}",
                     "", "", ""))
        err, lost, dup = (c.get(f"{k}_all_runs", c[k]) for k in ("errors", "lost_mutations",
                                                                    "duplicated_records"))
        lost += c.get("lost_records_all_runs", c["lost_records"])
        rows.append((f"{c['devices']} devices: errors / lost / dup" + (" (all runs)" if med else ""),
                     f"{err} / {lost} / {dup}", "", "", "0 / 0 / 0"))
        rows.append((f"{c['devices']} devices: peak RSS server/clients MB",
                     f"{fmt(c['server_peak_rss_mb'])}/{fmt(c['device_peak_rss_mb'])}", "", "", ""))
    b = res.get("ours", {}).get("bootstrap")
    if b:
        n_runs = len(b.get("runs", [b]))
        med = f" (median of {n_runs} pulls)" if n_runs > 1 else ""
        rows.append((f"bootstrap {b['sites']:,}+{b['cases']:,}+{b['inspections']:,}: s{med}",
                     fmt(b["seconds"], 2), "", "", "<5 s"))
        if n_runs > 1:
            rows.append(("bootstrap: s, each pull",
                         " ".join(f"{r['seconds']:.2f}" for r in sorted(
                             b["runs"], key=lambda r: r["seconds"])), "", "", ""))
        if b.get("floor"):
            rows.append(("bootstrap: device SQLite floor s (its rows alone)",
                         fmt(b["floor"]["wall_s"], 2), "", "", ""))
        rows.append(("bootstrap: MB down (bytes/record)",
                     f"{b['wire_bytes_down'] / 1e6:,.1f} ({b['bytes_per_record_down']:,.0f})", "", "", ""))
        rows.append(("bootstrap: peak RSS server/device MB",
                     f"{fmt(b['server_peak_rss_mb'])}/{fmt(b['device_peak_rss_mb'])}", "", "", ""))
    ph = res.get("ours", {}).get("photo")
    if ph:
        rows.append(("photo 12 MP → s / KB", f"{ph['seconds_median']:.3f} / {ph['output_bytes'] / 1000:.0f}",
                     "", "", "<1 s, ≤400 KB"))
        rows.append(("photo: peak RSS device MB", fmt(ph["device_peak_rss_mb"]), "", "", ""))
    head = ("metric", "Wage Patrol", "pouchdb-server", "ratio", "target")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(5)]

    def line(r: tuple[str, ...]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))

    return "\n".join([line(head), "-+-".join("-" * w for w in widths)] + [line(r) for r in rows])


def encoding_table(res: dict[str, Any]) -> str:
    """Bytes per document of the same push bodies / pull pages in each encoding,
    and the CPU per document of compressing (and inflating) them."""
    lines: list[str] = []
    for n in res["sizes"]:
        ours = res.get("ours", {}).get(f"n{n}") or {}
        for kind, key in (("push bodies", ("push", "encodings_up")),
                          ("pull pages", ("pull", "encodings_down"))):
            e = ours.get(key[0], {}).get(key[1])
            if not e:
                continue
            if not lines:
                lines.append("encoding | " + " | ".join(
                    f"{kind} {n:,}: B/doc, µs/doc comp/decomp" for kind in ("push", "pull")))
            cm, dm = e.get("compress_ms", {}), e.get("decompress_ms", {})
            codecs = [k for k in e if k not in ("compress_ms", "decompress_ms")]
            lines.append(f"{kind} {n:,} docs")
            for c in codecs:
                extra = ""
                if c in cm:
                    extra = f"  {cm[c] * 1000 / n:,.1f} / {dm.get(c, 0) * 1000 / n:,.1f} µs"
                lines.append(f"  {c:<14} {e[c] / n:>8,.0f} B{extra}")
    return "\n".join(lines[1:])
