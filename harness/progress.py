"""Terminal progress: a bar per phase with counts by outcome (rich).

Off a terminal (CI logs), it prints one line per phase when it ends, plus a
line every 10% so a long run shows it is alive.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

COLOURS = {"pass": "green", "ok": "green", "mismatch": "bold red", "error": "red", "unsupported": "yellow",
           "timeout": "magenta", "crash": "magenta", "skipped": "dim"}


class Phase:
    def __init__(self, owner: "Progress", name: str, total: int):
        self.owner, self.name, self.total = owner, name, total
        self.counts: Counter = Counter()
        self.unexpected = 0
        self.n = 0
        self._lock = threading.Lock()
        self._next_note = max(1, total // 10)
        self.task = owner.bars.add_task(name, total=total) if owner.bars else None

    def describe(self) -> str:
        parts = []
        for k, v in sorted(self.counts.items(), key=lambda kv: -kv[1]):
            colour = COLOURS.get(k.split(" ")[0], "white")
            parts.append(f"[{colour}]{v} {k}[/]" if self.owner.bars else f"{v} {k}")
        if self.unexpected:
            parts.append(f"[bold red]{self.unexpected} unexpected[/]" if self.owner.bars else f"{self.unexpected} unexpected")
        return ", ".join(parts)

    def advance(self, outcome: str, unexpected: bool = False) -> None:
        with self._lock:
            self.n += 1
            self.counts[outcome] += 1
            self.unexpected += bool(unexpected)
            if self.owner.bars:
                self.owner.bars.update(self.task, advance=1, description=f"{self.name}: {self.describe()}")
            elif not self.owner.quiet and self.n >= self._next_note and self.n < self.total:
                self._next_note += max(1, self.total // 10)
                self.owner.console.print(f"{self.name}: {self.n}/{self.total} ({self.describe()})", highlight=False)

    def done(self) -> None:
        if self.owner.bars:
            self.owner.bars.update(self.task, description=f"{self.name}: {self.describe()}")
            self.owner.bars.stop_task(self.task)
        elif not self.owner.quiet:
            self.owner.console.print(f"{self.name}: {self.n}/{self.total} done ({self.describe()})", highlight=False)


class Progress:
    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self.console = Console(stderr=True)
        self.bars = None
        if not quiet and self.console.is_terminal:
            self.bars = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TimeRemainingColumn(), console=self.console, transient=False)
            self.bars.start()

    def log(self, msg: str) -> None:
        if not self.quiet:
            self.console.print(msg, highlight=False)

    def phase(self, name: str, total: int) -> Phase:
        return Phase(self, name, total)

    def final(self, info: dict, out) -> None:
        if self.bars:
            self.bars.stop()
        if self.quiet:
            return
        counts = ", ".join(f"{v} {k}" for k, v in sorted(info.get("counts", {}).items()))
        self.console.print(f"cells: {counts or 'none'}", highlight=False)
        na = info.get("failed_to_start") or {}
        if na:
            # Their cells are skipped, never unexpected: say so where nobody can miss it.
            self.console.print(f"[bold yellow]{len(na)} implementations or stores not available, their cells skipped:[/] "
                               + ", ".join(sorted(na)), highlight=False)
        if info.get("unexpected"):
            self.console.print(f"[bold red]{info['unexpected']} unexpected outcomes[/]")
        else:
            self.console.print("[green]all outcomes as expected[/]")
        self.console.print(f"report: {out}/report.html", highlight=False)
        print(str(out), file=sys.stdout)
