"""Draw the performance chart from the figures recorded in ``docs/benchmarks.md``.

Each benchmark script writes tables whose ratio cells say how many times better
the package did than a baseline measured in the same run ("202.9 times lower",
written with the multiplication sign). Every table (every measure) becomes one
panel of the chart: a bar per ratio, against the baseline at 1, with labels
large enough to read at the width of the page. The docs build calls :func:`render_png` (through
``docs/hooks/reference.py``), so the chart always shows the recorded figures;
to look at it without building the site::

    python docs/benchmark_chart.py /tmp/benchmarks.png
"""

from __future__ import annotations

import io
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

DOCS = Path(__file__).resolve().parent
RATIO = re.compile(r"(\d+(?:\.\d+)?)\s*×\s*(?:faster|lower|fewer|less)")
WIDTH_PX, DPI = 1400, 140  # 10 inches: labels stay large when shrunk to the column
BAR_COLOUR, BASELINE_COLOUR = "#e64a19", "#546e7a"


@dataclass
class Measure:
    """One table of ``benchmarks.md``: its title and each ratio in it."""

    title: str
    bars: list[tuple[str, float]] = field(default_factory=list)


def benchmark_measures(text: str) -> list[Measure]:
    r"""Every "N times faster" (or lower, fewer, less) ratio, grouped by its measure.

    A measure is a section (``## ...``, without its parenthesis) and, when there
    is one, the bold caption above the table. A bar is named by its row's first
    cell (after the header's when the cell is a bare figure), unless that is "ratio".

    Example:
        >>> text = "## Chat (polling)\n**(a) Latency**:\n| 1 s | 9.7\u00d7 lower |\n"
        >>> [(m.title, m.bars) for m in benchmark_measures(text)]
        [('Chat · (a) Latency', [('1 s', 9.7)])]
    """
    measures: list[Measure] = []
    section = caption = header = previous = ""
    for line in text.splitlines():
        if line.startswith("|---"):  # the line before was the table's header
            header = previous.strip("|").split("|")[0].strip().strip("*`")
        previous = line
        if line.startswith("## "):
            section = re.sub(r"\s*\(.*\)\s*$", "", line[3:].strip())
            caption = ""
        elif line.startswith("**") and not RATIO.search(line):
            caption = re.sub(r"^\*\*(.+?)\*\*.*$", r"\1", line).strip().rstrip(":.")
        for match in RATIO.finditer(line):
            title = " · ".join(p for p in (section, caption) if p) or "benchmark"
            name = ""
            if line.startswith("|"):
                first = line.strip("|").split("|")[0].strip().strip("*`")
                if first.lower() != "ratio":
                    name = f"{header} {first}".strip() if first[:1].isdigit() else first
            if not measures or measures[-1].title != title:
                measures.append(Measure(title))
            measures[-1].bars.append((name or "langchain-mlstudio", float(match.group(1))))
    return measures


def render_png(text: str) -> bytes:
    """The chart of every measure in ``text`` as PNG bytes, 1400 px wide.

    Raises:
        ValueError: ``text`` records no ratio at all.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    measures = benchmark_measures(text)
    if not measures:
        msg = "benchmarks.md records no 'N× faster/lower' ratio to chart"
        raise ValueError(msg)
    heights = [0.9 + 0.5 * (len(m.bars) + 1) for m in measures]
    figure, axes = plt.subplots(
        len(measures),
        1,
        figsize=(WIDTH_PX / DPI, sum(heights) + 0.8),
        dpi=DPI,
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    top = max(v for m in measures for _, v in m.bars)
    for axis, measure in zip(axes[:, 0], measures, strict=True):
        names = ["baseline (same run)", *(name for name, _ in measure.bars)]
        values = [1.0, *(value for _, value in measure.bars)]
        colours = [BASELINE_COLOUR] + [BAR_COLOUR] * len(measure.bars)
        positions = range(len(values))
        axis.barh(positions, values, color=colours, height=0.6)
        axis.set_xscale("log")
        axis.set_xlim(0.5, top * 8)  # room for the label after the longest bar
        axis.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x:g}×"))
        axis.set_yticks(list(positions), names, fontsize=16)
        axis.invert_yaxis()
        axis.tick_params(axis="x", labelsize=14)
        axis.set_title(measure.title, fontsize=19, loc="left", fontweight="bold")
        for position, value in zip(positions, values, strict=True):
            label = "1×" if position == 0 else f"{value:g}× better"
            axis.text(value * 1.08, position, label, va="center", fontsize=16)
        axis.spines[["top", "right"]].set_visible(False)
    axes[-1, 0].set_xlabel(
        "times better than the baseline measured in the same run (log scale)",
        fontsize=15,
    )
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    return buffer.getvalue()


def main(argv: list[str]) -> int:
    """Write the chart of ``docs/benchmarks.md`` to the path given (default: ./benchmarks.png)."""
    out = Path(argv[0]) if argv else Path("benchmarks.png")
    out.write_bytes(render_png((DOCS / "benchmarks.md").read_text(encoding="utf-8")))
    sys.stdout.write(f"wrote {out}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
