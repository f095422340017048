"""The engines side by side (``bench/run.py --engines sqlite,pg1,pg2``): push and
pull per engine next to pouchdb-server, the 200 devices on each, and the
ratios of the same run: PostgreSQL / SQLite, 2 workers / 1 worker, ours /
pouchdb-server. Also the server's CPU per push (its processes plus, on
PostgreSQL, the database backends), the figure a district's sizing starts from."""

from __future__ import annotations

from typing import Any


def _f(x: Any, nd: int = 0) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.{nd}f}"
    return f"{x:,}" if isinstance(x, int) else str(x)


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}×" if a and b else "—"


def throughput(c: dict[str, Any]) -> float | None:
    """Pushes answered per second in the timed rounds of the 200 devices (each
    round a device pushes then pulls, so as many pulls are answered besides)."""
    wall = c.get("rounds_wall_s")
    return c["pushes"] / wall if wall else None


def cpu_per_push_ms(c: dict[str, Any]) -> float | None:
    """Server CPU (processes + database backends) per push-and-pull round trip."""
    cpu = c.get("server_cpu_rounds_s")
    if cpu is None or not c.get("pushes"):
        return None
    return 1000 * (cpu + c.get("db_cpu_rounds_s", 0.0)) / c["pushes"]


def engine_table(res: dict[str, Any], markdown: bool = False) -> str:
    """The table as printed, or as a Markdown table (docs/performance.md)."""
    engines = res.get("engines", {})
    names = list(engines)
    peer = res.get("peer", {}).get("results", {})
    head = ("metric", *[engines[e]["name"] for e in names], "pouchdb-server",
            "pg2/pg1", "pg2/pouchdb", "pg2/sqlite")
    rows: list[tuple[str, ...]] = []

    def get(e: str, *path: str) -> Any:
        x: Any = engines.get(e, {})
        for p in path:
            x = x.get(p) if isinstance(x, dict) else None
        return x

    def ratios(vals: dict[str, float | None], p: float | None) -> tuple[str, str, str]:
        return (_ratio(vals.get("pg2"), vals.get("pg1")), _ratio(vals.get("pg2"), p),
                _ratio(vals.get("pg2"), vals.get("sqlite")))

    for n in res["sizes"]:
        for kind in ("push", "pull"):
            vals = {e: get(e, f"n{n}", kind, "docs_per_s") for e in names}
            if not any(vals.values()):
                continue
            p = peer.get(f"{kind}_{n}", {}).get("docs_per_s")
            rows.append((f"{kind} {n:,} docs, one device (docs/s)", *[_f(vals[e]) for e in names],
                         _f(p), *ratios(vals, p)))
            cpu = {}
            for e in names:
                one = get(e, f"n{n}", kind)
                if one and one.get("server_cpu_s") is not None:
                    cpu[e] = 1e6 * (one["server_cpu_s"] + one.get("db_cpu_s", 0.0)) / n
            if cpu:
                rows.append((f"{kind} {n:,}: server+db CPU µs/doc", *[_f(cpu.get(e)) for e in names],
                             "", "", "", ""))
    conc = {e: get(e, "concurrent") for e in names}
    if any(conc.values()):
        dev = next(c["devices"] for c in conc.values() if c)
        rows.append((f"{dev} devices: push p50 / p99 s (median run)",
                     *[f"{c['push_p50_s']:.3f} / {c['push_p99_s']:.3f}" if c else "—"
                       for c in conc.values()], "", "", "", ""))
        rows.append((f"{dev} devices: pull p50 / p99 s",
                     *[f"{c['pull_p50_s']:.3f} / {c['pull_p99_s']:.3f}" if c else "—"
                       for c in conc.values()], "", "", "", ""))
        tp = {e: throughput(c) if c else None for e, c in conc.items()}
        rows.append((f"{dev} devices: pushes (+ pulls) answered /s", *[_f(tp[e], 1) for e in names],
                     "", *ratios(tp, None)))
        cpp = {e: cpu_per_push_ms(c) if c else None for e, c in conc.items()}
        rows.append((f"{dev} devices: server+db CPU ms per push+pull",
                     *[_f(cpp[e], 2) for e in names], "", "", "", ""))
        rows.append((f"{dev} devices: of which database backends, CPU s",
                     *[_f(c.get("db_cpu_rounds_s"), 2) if c else "—" for c in conc.values()],
                     "", "", "", ""))
        rows.append((f"{dev} devices: errors / lost / dup (all runs)",
                     *[(f"{c.get('errors_all_runs', c['errors'])} / "
                        f"{c.get('lost_mutations_all_runs', c['lost_mutations'])} / "
                        f"{c.get('duplicated_records_all_runs', c['duplicated_records'])}")
                       if c else "—" for c in conc.values()], "", "", "", ""))
    if markdown:
        return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
                         + ["| " + " | ".join(r) + " |" for r in rows])
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]

    def line(r: tuple[str, ...]) -> str:
        return " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True))

    return "\n".join([line(head), "-+-".join("-" * w for w in widths)] + [line(r) for r in rows])
