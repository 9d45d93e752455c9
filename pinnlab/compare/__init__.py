"""Many runs at once: a grid of problems × layer kinds × solvers × seeds, and its summaries.

Each run lives in its own run directory ``OUT/<problem>/<layer>-<solver>-s<seed>``, so the grid is
restartable: finished runs (completed or diverged) are kept, interrupted ones resume from their
checkpoint, and a second identical command changes nothing on disk.

The jobs are one module each: :mod:`.planning` (the grid and the state of each cell's folder),
:mod:`.running` (running the cells, in-process or in a pool) and :mod:`.summaries` (summary.csv,
summary.md, figures; also what ``pinnlab report`` prints).
"""

from .planning import MAX_SEEDS, RunSpec, plan, run_state, split_list
from .running import CompareInterrupted, Comparison, compare
from .summaries import (
    CSV_COLUMNS,
    NUMBERS,
    SUMMARY_CSV,
    SUMMARY_MD,
    Group,
    csv_text,
    find_runs,
    groups,
    markdown_table,
    read_summary_csv,
    summary_markdown,
    summary_rows,
    write_summaries,
)

__all__ = ["MAX_SEEDS", "RunSpec", "plan", "run_state", "split_list", "Comparison", "CompareInterrupted", "compare",
           "CSV_COLUMNS", "NUMBERS", "SUMMARY_CSV", "SUMMARY_MD", "Group", "csv_text", "find_runs", "groups",
           "markdown_table", "read_summary_csv", "summary_markdown", "summary_rows", "write_summaries"]
