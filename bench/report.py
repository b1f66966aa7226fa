"""Turn load runs into medians and ratios, and write them as JSON and Markdown.

Absolute numbers on a shared two-core machine drift from run to run; a ratio to a
baseline measured minutes apart in the same run is what can be compared across days.
"""

import json
import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from load import LoadResult


@dataclass
class Row:
    """One measured target, summarised over its rounds."""

    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    ratio: float | None = None
    ratio_min: float | None = None
    ratio_max: float | None = None
    errors: int = 0
    note: str = ""
    runs: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_runs(
        cls, label: str, runs: list[LoadResult], ratios: list[float] | None = None
    ) -> "Row":
        """Median of each measure over the runs; ratios are medians of per-round ones.

        A run in which no request completed has no latency to report; its p50 and
        p99 count as the run's length, a lower bound, and the row says so.
        """
        ratios = ratios or []
        notes = []
        if any(r.capped for r in runs):
            notes.append("request cap reached")
        if any(r.requests == 0 for r in runs):
            notes.append("no answer within a run: latency shown is a lower bound")

        def latency(run: LoadResult, value: float) -> float:
            return run.duration_s * 1000 if run.requests == 0 else value

        return cls(
            label=label,
            rps=statistics.median(r.rps for r in runs),
            p50_ms=statistics.median(latency(r, r.p50_ms) for r in runs),
            p99_ms=statistics.median(latency(r, r.p99_ms) for r in runs),
            ratio=statistics.median(ratios) if ratios else None,
            ratio_min=min(ratios) if ratios else None,
            ratio_max=max(ratios) if ratios else None,
            errors=sum(r.error_count for r in runs),
            note="; ".join(notes),
            runs=[r.as_dict() for r in runs],
        )


@dataclass
class Scenario:
    """A titled group of rows sharing one baseline, or the reason it did not run."""

    name: str
    title: str
    baseline: str = ""
    ratio_means: str = ""
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str = ""
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for the results file."""
        return asdict(self)


def bracketed_ratios(runs: list[LoadResult], base: list[LoadResult]) -> list[float]:
    """Each run's rate over the mean of the baseline runs just before and after it.

    With the order A B A B A this cancels a steady drift of the machine's speed.
    """
    ratios = []
    for i, run in enumerate(runs):
        around = [b.rps for b in base[i : i + 2]]
        mean = sum(around) / len(around) if around else 0.0
        if mean > 0:
            ratios.append(run.rps / mean)
    return ratios


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}{unit}"
    if value >= 10:
        return f"{value:.1f}{unit}"
    return f"{value:.2f}{unit}"


def fmt_ratio(value: float) -> str:
    """Three decimals, or two significant digits for a collapse far below 0.01."""
    return f"{value:.3f}" if value >= 0.01 or value == 0 else f"{value:.2g}"


def _ratio(row: Row) -> str:
    if row.ratio is None:
        return "-"
    text = fmt_ratio(row.ratio)
    low, high = row.ratio_min, row.ratio_max
    if low is not None and high is not None and low != high:
        text += f" ({fmt_ratio(low)}-{fmt_ratio(high)})"
    return text


def scenario_markdown(scn: Scenario) -> str:
    """One scenario as a Markdown section with a table."""
    lines = [f"### {scn.title}", ""]
    if scn.skipped:
        return "\n".join([*lines, f"Skipped: {scn.skipped}", ""])
    if scn.baseline:
        lines += [f"Baseline: {scn.baseline}. Ratio: {scn.ratio_means or 'rate'}.", ""]
    lines += [
        "| target | req/s | p50 ms | p99 ms | ratio (min-max) | errors | runs |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for row in scn.rows:
        label = row.label + (f" ({row.note})" if row.note else "")
        lines.append(
            f"| {label} | {_num(row.rps)} | {_num(row.p50_ms)} | {_num(row.p99_ms)} "
            f"| {_ratio(row)} | {row.errors} | {len(row.runs)} |"
        )
    lines.append("")
    lines += [f"- {note}" for note in scn.notes]
    if scn.notes:
        lines.append("")
    return "\n".join(lines)


def document_markdown(meta: dict[str, Any], scenarios: list[Scenario]) -> str:
    """The whole results file in Markdown: how it was run, then every scenario."""
    machine = meta["machine"]
    s = meta["settings"]
    head = [
        f"# Benchmark results, {meta['started']} ({meta['mode']})",
        "",
        f"- Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gib']} GiB, {machine['system']}",
        f"- Load average at start / end: {machine['load_start']} / "
        f"{meta.get('load_end', '?')}",
        f"- Load generator: {meta['generator']}, one thread (refresh: "
        f"{meta['python_client']}); servers: uvicorn, one worker each, loopback",
        f"- Runs: {s['run_s']} s each, {s['rounds']} alternating rounds after a "
        f"{s['warmup_s']} s warm-up, {s['connections']} connections; login storm "
        f"{s['storm_connections']} connections for {s['storm_s']} s",
        f"- Whole run: {meta.get('elapsed_s', 0):.0f} s",
        "",
    ]
    if meta["generator"].startswith("python"):
        head[-1:-1] = [
            "- The Python client drives one core at a few thousand requests a second "
            "at most, so fast routes are measured near its ceiling: prefer wrk."
        ]
    for name, versions in meta.get("versions", {}).items():
        listed = ", ".join(f"{k} {v}" for k, v in versions.items())
        head.append(f"- {name}: {listed}")
    head.append("")
    return "\n".join(head + [scenario_markdown(scn) for scn in scenarios])


def console_table(scn: Scenario) -> str:
    """A compact plain-text table for the terminal."""
    if scn.skipped:
        return f"== {scn.title}: skipped: {scn.skipped}"
    out = [f"== {scn.title}" + (f" (baseline: {scn.baseline})" if scn.baseline else "")]
    for row in scn.rows:
        ratio = fmt_ratio(row.ratio) if row.ratio is not None else "-"
        out.append(
            f"  {row.label:<42} {row.rps:9.1f} rps  p50 {row.p50_ms:8.2f} ms  "
            f"p99 {row.p99_ms:8.2f} ms  ratio {ratio:>7}  errors {row.errors}"
        )
    out += [f"  note: {n}" for n in scn.notes]
    return "\n".join(out)


def result_paths(out_dir: Path, when: datetime) -> tuple[Path, Path]:
    """``<date>.json`` and ``<date>.md``; a second run that day gets ``-2`` and so on."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = when.strftime("%Y-%m-%d")
    n = 1
    while True:
        name = stem if n == 1 else f"{stem}-{n}"
        json_path, md_path = out_dir / f"{name}.json", out_dir / f"{name}.md"
        if not json_path.exists() and not md_path.exists():
            return json_path, md_path
        n += 1


def write_results(
    out_dir: Path, when: datetime, meta: dict[str, Any], scenarios: list[Scenario]
) -> tuple[Path, Path]:
    """Write both files and return their paths."""
    json_path, md_path = result_paths(out_dir, when)
    doc = {**meta, "scenarios": [scn.as_dict() for scn in scenarios]}
    json_path.write_text(json.dumps(doc, indent=2) + "\n")
    md_path.write_text(document_markdown(meta, scenarios))
    return json_path, md_path
