#!/usr/bin/env python3
"""plot_load_vs_peers.py: draw one run of benches/load_vs_peers.sh as a PNG.

Two panels side by side, one line (with markers) per engine and tool:
  (a) wall-clock seconds against attendance rows, log-log;
  (b) peak RSS (MB) against attendance rows, log-log (the tools' RSS spans 8 MB to a few
      hundred MB, so a linear axis would flatten psql and sqlite3 onto zero).
Series: registrar -> PostgreSQL, psql \\copy, pgloader, registrar -> SQLite,
sqlite3 .import + INSERT...SELECT, and registrar (baseline) -> ... when the run has
registrar-baseline lines. The registrar-base lines (the base load of users, courses and
enrollments) are not plotted.

Usage:
  benches/plot_load_vs_peers.py [--csv FILE] [--out FILE.png] [--run STAMP[,STAMP...]]
    --csv FILE   the CSV load_vs_peers.sh appends to
                 (default benches/results/load_vs_peers.csv); header
                 date,host_cores,mem_gb,engine,rows,tool,seconds,rows_per_s,peak_rss_mb
    --out FILE   the PNG to write (default benches/results/load_vs_peers.png)
    --run STAMP  which lines to plot: the value of their `date` column. Comma-separated
                 and/or repeated to join several stamps into one series (older versions of
                 load_vs_peers.sh wrote one stamp per size). Default: the latest stamp in
                 the file. load_vs_peers.sh passes its own stamp, which all sizes of one
                 --sizes run share.
  If a stamp set holds the same (engine, tool, rows) more than once, the last line wins
  (a note is printed on stderr).

Needs Python 3 and matplotlib:  pip install matplotlib
Exit status: 0 on success, 2 if matplotlib is missing, the CSV cannot be read, or the run
has no lines to plot.

The PNG is deterministic for a given input: the Agg backend writes no timestamp and the
"Software" metadata key is dropped, so re-plotting the same lines gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from dataclasses import dataclass
from typing import NoReturn

REQUIRED = ("date", "host_cores", "mem_gb", "engine", "rows", "tool", "seconds", "peak_rss_mb")

# (engine, tool) -> (label, colour, marker, line style, emphasise). The order is the legend's.
SERIES = [
    (("postgres", "registrar"), ("registrar \u2192 PostgreSQL", "#1f4e9c", "o", "-", True)),
    (
        ("postgres", "registrar-baseline"),
        ("registrar (baseline) \u2192 PostgreSQL", "#7ea6e0", "o", "--", False),
    ),
    (("postgres", "psql-copy"), ("psql \\copy", "#2a9d8f", "s", "-", False)),
    (("postgres", "pgloader"), ("pgloader", "#8d5ba6", "^", "-", False)),
    (("sqlite", "registrar"), ("registrar \u2192 SQLite", "#c0392b", "D", "-", True)),
    (
        ("sqlite", "registrar-baseline"),
        ("registrar (baseline) \u2192 SQLite", "#f1948a", "D", "--", False),
    ),
    (
        ("sqlite", "sqlite3-import"),
        ("sqlite3 .import + INSERT\u2026SELECT", "#e08e0b", "v", "-", False),
    ),
]
SKIPPED_TOOLS = {"registrar-base"}
ENGINE_NAMES = {"postgres": "PostgreSQL", "sqlite": "SQLite"}
EXTRA_COLOURS = ["#555555", "#8c6d31", "#17becf", "#bcbd22"]
EXTRA_MARKERS = ["P", "X", "*", "h"]


@dataclass
class Point:
    """One CSV line: one tool's load of `rows` attendance rows into one engine."""

    stamp: str
    cores: str
    mem_gb: str
    engine: str
    tool: str
    rows: int
    seconds: float
    rss_mb: float | None


def fail(msg: str) -> NoReturn:
    """Print `msg` on stderr and exit with status 2."""
    print(f"plot_load_vs_peers: {msg}", file=sys.stderr)
    sys.exit(2)


def read_points(path: str) -> list[Point]:
    """Read every line of the results CSV, skipping registrar-base lines."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                fail(f"{path}: header lacks column(s) {', '.join(missing)} (got {','.join(header)})")
            points = []
            for lineno, rec in enumerate(reader, start=2):
                if rec["tool"] in SKIPPED_TOOLS:
                    continue
                try:
                    rss = rec["peak_rss_mb"].strip()
                    points.append(
                        Point(
                            stamp=rec["date"].strip(),
                            cores=rec["host_cores"].strip(),
                            mem_gb=rec["mem_gb"].strip(),
                            engine=rec["engine"].strip(),
                            tool=rec["tool"].strip(),
                            rows=int(rec["rows"]),
                            seconds=float(rec["seconds"]),
                            rss_mb=float(rss) if rss else None,
                        )
                    )
                except (TypeError, ValueError) as e:
                    fail(f"{path}:{lineno}: cannot read the line ({e})")
            return points
    except OSError as e:
        fail(f"cannot read {path}: {e.strerror}")


def select_run(points: list[Point], runs: list[str]) -> tuple[list[str], list[Point]]:
    """The stamps asked for (default: the latest one) and their lines."""
    if runs:
        stamps = []
        for r in runs:
            stamps += [s.strip() for s in r.split(",") if s.strip()]
    else:
        if not points:
            return [], []
        # ISO 8601 UTC stamps sort as text.
        stamps = [max(p.stamp for p in points)]
    wanted = set(stamps)
    return sorted(wanted), [p for p in points if p.stamp in wanted]


def series_style(key: tuple[str, str], extra_index: int):
    """Label and style of a series; tools this script does not know get a generic style."""
    for k, style in SERIES:
        if k == key:
            return style
    engine, tool = key
    i = extra_index % len(EXTRA_COLOURS)
    label = f"{tool} \u2192 {ENGINE_NAMES.get(engine, engine)}"
    return (label, EXTRA_COLOURS[i], EXTRA_MARKERS[i], ":", False)


def rows_label(n: float) -> str:
    """100000 -> 100k, 1000200 -> 1M, 5000400 -> 5M (the nominal size)."""
    if n >= 1e6:
        v = n / 1e6
        return f"{v:.0f}M" if abs(v - round(v)) < 0.05 else f"{v:.1f}M"
    if n >= 1e3:
        v = n / 1e3
        return f"{v:.0f}k" if abs(v - round(v)) < 0.5 else f"{v:.1f}k"
    return f"{n:.0f}"


def number_label(v: float) -> str:
    """Tick labels for seconds and MB: 0.5, 2, 30, 200, 1000."""
    if v >= 1:
        return f"{v:.0f}"
    return f"{v:g}"


def title_of(stamps: list[str], pts: list[Point]) -> str:
    """The run's date(s) and the host's cores and memory."""
    if len(stamps) == 1:
        when = stamps[0]
    else:
        when = f"{stamps[0]} \u2026 {stamps[-1]} ({len(stamps)} stamps)"
    cores = sorted({p.cores for p in pts}, key=lambda c: (len(c), c))
    mem = sorted({p.mem_gb for p in pts}, key=lambda c: (len(c), c))
    return (
        "Attendance load: registrar vs psql \\copy, pgloader and sqlite3\n"
        f"run {when}; {'/'.join(cores)} cores, {'/'.join(mem)} GB RAM"
    )


def main(argv: list[str]) -> int:
    """Parse the arguments, read the CSV, draw the two panels, write the PNG."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(
        description="Plot seconds and peak RSS against rows for one load_vs_peers.sh run.",
        epilog="Needs matplotlib: pip install matplotlib",
    )
    ap.add_argument(
        "--csv",
        default=os.path.join(root, "benches", "results", "load_vs_peers.csv"),
        help="results CSV (default benches/results/load_vs_peers.csv)",
    )
    ap.add_argument(
        "--out",
        default=os.path.join(root, "benches", "results", "load_vs_peers.png"),
        help="PNG to write (default benches/results/load_vs_peers.png)",
    )
    ap.add_argument(
        "--run",
        action="append",
        default=[],
        metavar="STAMP[,STAMP...]",
        help="date stamp(s) of the lines to plot; repeatable (default: the latest stamp)",
    )
    args = ap.parse_args(argv)

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import (
            FixedLocator,
            FuncFormatter,
            LogLocator,
            NullFormatter,
            NullLocator,
        )
    except ImportError:
        fail("matplotlib is not installed; install it with: pip install matplotlib")

    points = read_points(args.csv)
    stamps, pts = select_run(points, args.run)
    if not pts:
        known = sorted({p.stamp for p in points})
        hint = f"; stamps in the file: {', '.join(known[-5:])}" if known else "; the file has no lines"
        fail(f"no lines to plot for run {', '.join(stamps) or '(none)'} in {args.csv}{hint}")

    # (engine, tool) -> rows -> point; the last line wins on duplicates.
    series: dict[tuple[str, str], dict[int, Point]] = {}
    for p in pts:
        by_rows = series.setdefault((p.engine, p.tool), {})
        if p.rows in by_rows:
            print(
                f"plot_load_vs_peers: note: {p.engine}/{p.tool} at {p.rows} rows appears more "
                f"than once; plotting the last line ({p.stamp})",
                file=sys.stderr,
            )
        by_rows[p.rows] = p
    known_order = [k for k, _ in SERIES]
    keys = [k for k in known_order if k in series] + sorted(k for k in series if k not in known_order)

    plt.rcParams.update({"font.size": 10})
    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(12, 5.4), dpi=120)
    extra = 0
    handles = []
    for key in keys:
        label, colour, marker, style, strong = series_style(key, extra)
        if key not in known_order:
            extra += 1
        by_rows = series[key]
        xs = sorted(by_rows)
        common = dict(
            color=colour,
            marker=marker,
            linestyle=style,
            linewidth=2.4 if strong else 1.5,
            markersize=7 if strong else 6,
            # Hollow baseline markers: registrar's point shows through them.
            markerfacecolor="none" if style == "--" else colour,
            markeredgewidth=1.5,
            # Baselines are drawn dashed over registrar's thicker line, so both show when
            # they coincide.
            zorder=4 if style == "--" else (3 if strong else 2),
            label=label,
        )
        (h,) = ax_t.plot(xs, [by_rows[x].seconds for x in xs], **common)
        handles.append(h)
        rss = [(x, by_rows[x].rss_mb) for x in xs if by_rows[x].rss_mb is not None]
        if rss:
            ax_m.plot([x for x, _ in rss], [m for _, m in rss], **common)

    sizes = sorted({p.rows for p in pts})
    for ax, ylabel, letter in (
        (ax_t, "wall-clock time (seconds, log scale)", "(a) load time"),
        (ax_m, "peak resident set size (MB, log scale)", "(b) peak RSS"),
    ):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_major_locator(FixedLocator(sizes))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: rows_label(v)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_minor_formatter(NullFormatter())
        # Labels at 1, 2 and 5 times each power of ten, so values can be read off.
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number_label(v)))
        ax.yaxis.set_minor_formatter(NullFormatter())
        if len(sizes) == 1:
            ax.set_xlim(sizes[0] / 2, sizes[0] * 2)
        else:
            ax.set_xlim(sizes[0] / 1.4, sizes[-1] * 1.4)
        ax.set_xlabel("attendance rows loaded (log scale)")
        ax.set_ylabel(ylabel)
        ax.set_title(letter, loc="left", fontsize=10)
        ax.grid(True, which="major", color="#cccccc", linewidth=0.8)
        ax.grid(True, which="minor", axis="y", color="#eeeeee", linewidth=0.5)
        ax.set_axisbelow(True)

    fig.suptitle(title_of(stamps, pts), fontsize=11)
    # The legend goes under both panels, so it hides no data whatever the numbers are.
    fig.legend(
        handles=handles,
        loc="lower center",
        ncol=len(handles) if len(handles) <= 5 else (len(handles) + 1) // 2,
        frameon=False,
        fontsize=9,
    )
    rows_of_legend = 1 if len(handles) <= 5 else 2
    fig.tight_layout(rect=(0, 0.045 * rows_of_legend + 0.02, 1, 1))

    out_dir = os.path.dirname(os.path.abspath(args.out))
    try:
        os.makedirs(out_dir, exist_ok=True)
        fig.savefig(args.out, dpi=120, format="png", metadata={"Software": None})
    except OSError as e:
        fail(f"cannot write {args.out}: {e.strerror}")
    plt.close(fig)
    n_series = len(keys)
    print(
        f"wrote {args.out}: {n_series} series, sizes {', '.join(rows_label(s) for s in sizes)}, "
        f"run {', '.join(stamps)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
