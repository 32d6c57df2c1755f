"""The sync benchmark's output: the table (with ratios naive / canvas-sync) and the PNG plot."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

SCENARIOS = ("full", "no_change", "changed", "push", "noop_push")
# (key, column title, format)
COLUMNS = (
    ("requests", "requests", "{:.0f}"),
    ("wall_s", "wall s", "{:.2f}"),
    ("peak_rss_mb", "peak MB", "{:.0f}"),
    ("db_s", "db s", "{:.2f}"),
    ("policy_s", "policy s", "{:.2f}"),
    ("status_403", "403s", "{:.0f}"),
)
NAIVE = "naive"


def _index(rows: list[dict[str, Any]]) -> dict[tuple[int, str, str], dict[str, Any]]:
    return {(r["students"], r["impl"], r["scenario"]): r for r in rows}


def _ratio(naive: float, service: float) -> str:
    if service <= 0:
        return "-" if naive <= 0 else "inf"
    return f"{naive / service:.1f}x"


def _cell(key: str, fmt: str, service: dict[str, Any], naive: dict[str, Any] | None) -> str:
    text = fmt.format(service[key])
    if naive is None:
        return text
    return f"{text} / {fmt.format(naive[key])} ({_ratio(naive[key], service[key])})"


def print_table(rows: list[dict[str, Any]], settings: dict[str, Any]) -> None:
    """One block per database and course size: each figure as service / naive (naive ÷ service)."""
    index = _index(rows)
    services = sorted({r["impl"] for r in rows if r["impl"] != NAIVE})
    print(
        f"\nEach cell: canvas-sync / naive canvasapi script (naive ÷ canvas-sync); "
        f"{settings['readings']} readings, simulator latency {settings['latency_ms']:g} ms, "
        f"Canvas's throttle on; changed = {100 * settings['change_share']:g}% of submissions."
    )
    for impl in services:
        for students in settings["sizes"]:
            print(f"\n{impl.split(':', 1)[1]}, {students} students")
            header = ["scenario", *[title for _, title, _ in COLUMNS]]
            table = [header]
            for scenario in SCENARIOS:
                service = index.get((students, impl, scenario))
                if service is None:
                    continue
                naive = index.get((students, NAIVE, scenario))
                table.append(
                    [scenario, *[_cell(key, fmt, service, naive) for key, _, fmt in COLUMNS]]
                )
            _print_aligned(table)


def _print_aligned(table: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def print_startup(startup: dict[str, Any]) -> None:
    print(
        f"\nStart-up: `canvas-sync --version` {startup['version_s']:.2f} s, "
        f"peak RSS {startup['version_peak_rss_mb']:.0f} MB (best of 5)."
    )
    commands = startup.get("commands_s") or {}
    if commands:
        each = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in commands.items())
        print(f"A command's start-up (`canvas-sync COMMAND --help`, best of 5): {each}.")
    if "sync_imports_s" in startup:
        print(
            f"Importing what a sync runs (`python -c '{startup['sync_imports']}'`, best of 5): "
            f"{startup['sync_imports_s']:.2f} s."
        )


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    """Requests, wall seconds and peak RSS against course size, one panel per scenario."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("No plot: matplotlib is missing (pip install -e '.[bench]').", file=sys.stderr)
        return
    figures = (("requests", "requests"), ("wall_s", "wall s"), ("peak_rss_mb", "peak RSS MB"))
    impls = sorted({r["impl"] for r in rows})
    sizes = sorted({int(r["students"]) for r in rows})
    fig, axes = plt.subplots(
        len(figures), len(SCENARIOS), figsize=(4 * len(SCENARIOS), 3.2 * len(figures))
    )
    for col, scenario in enumerate(SCENARIOS):
        for line, (key, label) in enumerate(figures):
            ax = axes[line][col]
            for impl in impls:
                points = sorted(
                    (r["students"], r[key])
                    for r in rows
                    if r["impl"] == impl and r["scenario"] == scenario
                )
                if points:
                    xs, ys = zip(*points, strict=True)
                    ax.plot(xs, ys, marker="o", label=impl)
            ax.set_xscale("log")
            ax.set_xticks(sizes, [f"{n:,}" for n in sizes])
            ax.minorticks_off()
            ax.set_title(f"{scenario}: {label}", fontsize=9)
            ax.set_xlabel("students")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"Plot written to {path}.")
