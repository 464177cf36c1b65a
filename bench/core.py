"""What every case shares: samples and their statistics, results with a baseline and a
target, interleaved runs, and the run's context (options, data, a log)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from bench.data import FULL_STORE, QUICK_STORE, BigStore, StoreSize, ensure_store

T = TypeVar("T")

Comparison = Literal["<=", ">=", "<", "=="]
MAX_JSON_SAMPLES = 5_000


class Skip(Exception):
    """The case cannot run here; the message says why."""


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` in 0..1) of ``values``; NaN if empty."""
    clean = sorted(v for v in values if not math.isnan(v))
    if not clean:
        return math.nan
    rank = max(1, math.ceil(fraction * len(clean)))
    return clean[min(rank, len(clean)) - 1]


def median(values: Sequence[float]) -> float:
    """The median of the non-NaN values; NaN if there are none."""
    clean = [v for v in values if not math.isnan(v)]
    return statistics.median(clean) if clean else math.nan


@dataclass(frozen=True, slots=True)
class Target:
    """A goal for one number of a result: ``what`` (ratio, p90, p99, value) compared
    with ``limit``."""

    what: Literal["ratio", "p90", "p99", "median", "value"]
    op: Comparison
    limit: float
    unit: str = ""

    def describe(self) -> str:
        """For example ``ratio <= 1.25`` or ``p90 < 50 ms``."""
        unit = f" {self.unit}" if self.unit else ("x" if self.what == "ratio" else "")
        limit = f"{self.limit:g}"
        return f"{self.what} {self.op} {limit}{unit}"

    def check(self, value: float) -> bool:
        """Whether ``value`` meets the target (NaN never does)."""
        if math.isnan(value):
            return False
        if self.op == "<=":
            return value <= self.limit
        if self.op == ">=":
            return value >= self.limit
        if self.op == "<":
            return value < self.limit
        return value == self.limit


@dataclass(slots=True)
class Result:
    """One measured number of a case next to the same number of its baseline.

    ``samples`` and ``base_samples`` are in ``unit``; ``ratio`` is case over baseline
    (medians), so for a throughput a ratio above 1 is better and for a time below 1.
    """

    case: str
    metric: str
    unit: str
    samples: list[float]
    baseline: str
    base_samples: list[float]
    targets: list[Target] = field(default_factory=list)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """``case.metric``."""
        return f"{self.case}.{self.metric}"

    @property
    def median(self) -> float:
        """Median of the case's samples."""
        return median(self.samples)

    @property
    def p90(self) -> float:
        """90th percentile of the case's samples."""
        return percentile(self.samples, 0.9)

    @property
    def p99(self) -> float:
        """99th percentile of the case's samples."""
        return percentile(self.samples, 0.99)

    @property
    def base_median(self) -> float:
        """Median of the baseline's samples."""
        return median(self.base_samples)

    @property
    def base_p90(self) -> float:
        """90th percentile of the baseline's samples."""
        return percentile(self.base_samples, 0.9)

    @property
    def ratio(self) -> float:
        """Case median over baseline median."""
        base = self.base_median
        if math.isnan(base) or base == 0:
            return math.nan
        return self.median / base

    def value_of(self, what: str) -> float:
        """The number a target looks at."""
        values = {
            "ratio": self.ratio,
            "p90": self.p90,
            "p99": self.p99,
            "median": self.median,
            "value": self.median,
        }
        return values[what]

    @property
    def met(self) -> bool | None:
        """Whether every target is met (None: the result has no target)."""
        if not self.targets:
            return None
        return all(t.check(self.value_of(t.what)) for t in self.targets)

    @property
    def failed(self) -> int:
        """Samples that never completed (recorded as infinity)."""
        return sum(1 for v in self.samples if math.isinf(v))

    def verdict(self) -> str:
        """``met``, ``MISSED: ...`` or ``-``; says how many runs never completed."""
        failed = f" ({self.failed} of {len(self.samples)} never completed)" if self.failed else ""
        if self.met is None:
            return "-" + failed
        missed = [t.describe() for t in self.targets if not t.check(self.value_of(t.what))]
        return ("met" if not missed else "MISSED: " + "; ".join(missed)) + failed

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready summary (NaN becomes null)."""

        def clean(value: float) -> float | None:
            return round(value, 4) if math.isfinite(value) else None

        return {
            "name": self.name,
            "unit": self.unit,
            "median": clean(self.median),
            "p90": clean(self.p90),
            "p99": clean(self.p99),
            "runs": len(self.samples),
            "baseline": self.baseline,
            "baseline_median": clean(self.base_median),
            "baseline_p90": clean(self.base_p90),
            "ratio": clean(self.ratio),
            "targets": [t.describe() for t in self.targets],
            "met": self.met,
            "never_completed": self.failed,
            "note": self.note,
            "extra": self.extra,
            "samples": [clean(v) for v in self.samples[:MAX_JSON_SAMPLES]],
            "baseline_samples": [clean(v) for v in self.base_samples[:MAX_JSON_SAMPLES]],
        }


def interleave(
    runs: int, warmup: int, measured: Callable[[], T], baseline: Callable[[], T]
) -> tuple[list[T], list[T]]:
    """Run baseline and case alternately ``warmup + runs`` times; drop the warm-ups."""
    ours: list[T] = []
    theirs: list[T] = []
    for index in range(warmup + runs):
        # Alternate who goes first, so neither always runs right after the other.
        order = (baseline, measured) if index % 2 == 0 else (measured, baseline)
        for call in order:
            value = call()
            if index >= warmup:
                (ours if call is measured else theirs).append(value)
    return ours, theirs


def say(text: str) -> None:
    """Print a progress or result line at once (the run is long; show it as it goes)."""
    print(text, flush=True)


@dataclass(slots=True)
class Context:
    """Options and shared state of one ``python -m bench`` run."""

    quick: bool
    runs: int
    peers: bool
    log: Callable[[str], None] = say
    _store: BigStore | None = None
    shared: dict[str, Any] = field(default_factory=dict)

    @property
    def store_size(self) -> StoreSize:
        """The client store this run uses."""
        return QUICK_STORE if self.quick else FULL_STORE

    @property
    def store(self) -> BigStore:
        """The generated client store (generated on first use)."""
        if self._store is None:
            self._store = ensure_store(self.store_size, log=self.log)
        return self._store


def fmt(value: float, unit: str) -> str:
    """A number for the table, with a sensible number of digits."""
    if math.isnan(value):
        return "-"
    if unit == "ms":
        return f"{value:.1f}" if value < 100 else f"{value:.0f}"
    if unit == "MB":
        return f"{value:.1f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def describe(result: Result) -> str:
    """One line for the running log."""
    unit = result.unit
    ratio = "-" if math.isnan(result.ratio) else f"{fmt(result.ratio, 'x')}x"
    return (
        f"  {result.name:<26} median {fmt(result.median, unit)} {unit}, "
        f"p90 {fmt(result.p90, unit)} {unit} | {result.baseline}: "
        f"median {fmt(result.base_median, unit)} {unit}, p90 {fmt(result.base_p90, unit)} {unit}"
        f" | ratio {ratio} | {result.verdict()}"
    )


def table(results: Sequence[Result]) -> str:
    """The closing table, in Markdown so that RESULTS.md can take it as it is."""
    header = (
        "| case | unit | median | p90 | p99 | baseline | base median | base p90 | ratio "
        "| target | verdict |"
    )
    lines = [header, "|" + "---|" * 11]
    for r in results:
        unit = r.unit
        targets = "; ".join(t.describe() for t in r.targets) or "-"
        lines.append(
            f"| {r.name} | {unit} | {fmt(r.median, unit)} | {fmt(r.p90, unit)} "
            f"| {fmt(r.p99, unit)} | {r.baseline} "
            f"| {fmt(r.base_median, unit)} | {fmt(r.base_p90, unit)} "
            f"| {'-' if math.isnan(r.ratio) else fmt(r.ratio, 'x') + 'x'} "
            f"| {targets} | {r.verdict()} |"
        )
    return "\n".join(lines)
