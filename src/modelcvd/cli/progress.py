"""Progress of long commands, always on stderr so stdout carries only results (and --json).

Three renderings, chosen per run:
- a live bar (rich) when stderr is a terminal, or when `--progress` forces it;
- plain lines, about twenty per run ("verify: 12/24 trials, 5 successes"), when stderr is not
  a terminal (logs, CI) and the work has a known size; nothing for work of unknown size;
- nothing at all with `--no-progress`.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any, Literal, TextIO

Mode = Literal["bar", "lines", "off"]


def progress_mode(forced: bool | None, stream: TextIO) -> Mode:
    """`forced` is the command's --progress (True) / --no-progress (False), or None."""
    if forced is False:
        return "off"
    if forced or stream.isatty():
        return "bar"
    return "lines"


class Progress:
    """One piece of long work: `advance()` per step; `total=None` when the size is unknown."""

    def __init__(
        self, label: str, *, total: int | None, unit: str, mode: Mode, stream: TextIO | None = None
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.mode = mode
        self.stream = stream or sys.stderr
        self.done = 0
        self.note = ""
        self._every = max(1, (total or 0) // 20)
        self._printed_at = -1
        self._bar: Any = None
        self._task: Any = None
        self._started = 0.0

    def eta(self, now: float | None = None) -> str:
        """Time left at the pace measured so far ("" before the first step or without a
        total): long runs (a CPU model, hundreds of new tokens) say how long they will take."""
        if not self.total or not self.done or self.done >= self.total:
            return ""
        elapsed = (now if now is not None else time.monotonic()) - self._started
        if elapsed < 5:  # quick work: an estimate would only flicker
            return ""
        left = elapsed / self.done * (self.total - self.done)
        if left < 90:
            return f"about {max(1, round(left))} s left"
        if left < 90 * 60:
            return f"about {round(left / 60)} min left"
        return f"about {left / 3600:.1f} h left"

    def __enter__(self) -> Progress:
        self._started = time.monotonic()
        if self.mode == "bar":
            # rich only when a bar is drawn: most runs never pay for its import.
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
            if self.total is not None:
                columns += [BarColumn(), MofNCompleteColumn(), TextColumn(self.unit)]
            columns += [TextColumn("{task.fields[note]}"), TimeElapsedColumn()]
            if self.total is not None:
                columns.append(TimeRemainingColumn())
            console = Console(file=self.stream, force_terminal=True)
            # stdout is left alone: a redirected stdout would mix results with the bar.
            self._bar = Bar(
                *columns,
                console=console,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, note="")
        elif self.mode == "lines" and self.total is not None:
            self._line()  # at once: the first batch may take minutes on a CPU
        return self

    def advance(self, steps: int = 1, note: str = "") -> None:
        self.done += steps
        self.note = note
        if self._bar is not None:
            self._bar.update(self._task, advance=steps, note=note)
        elif self.mode == "lines" and self.total is not None and self.done % self._every == 0:
            self._line()

    def _line(self) -> None:
        self._printed_at = self.done
        note = f", {self.note}" if self.note else ""
        if eta := self.eta():
            note += f", {eta}"
        print(
            f"{self.label}: {self.done}/{self.total} {self.unit}{note}",
            file=self.stream,
            flush=True,
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif (
            kind is None
            and self.mode == "lines"
            and self.total is not None
            and self._printed_at != self.done
        ):
            self._line()
