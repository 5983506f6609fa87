"""Text output of ``sla-sync sync`` and ``sla-sync crm init`` (rich tables, progress bars)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table

from sla_sync.pipeline.cycle import CycleReport
from sla_sync.pipeline.progress import Progress, ProgressCallback
from sla_sync.pipeline.sync import SchemaReport


def render_cycle(console: Console, report: CycleReport) -> None:
    """Summary of one cycle: outcome, records per stream, evaluation, write-back, API calls."""
    mode = " (dry run)" if report.dry_run else ""
    full = " full" if report.full else ""
    console.print(f"[bold]{report.connection}[/bold]{full} sync{mode}: {report.outcome.value}")
    if report.error:
        console.print(f"  error: {report.error}")
    if report.pull.records:
        table = Table("stream", "pages", "records", title="pulled", title_justify="left")
        for stream, count in report.pull.records.items():
            table.add_row(stream, str(report.pull.pages.get(stream, 0)), str(count))
        console.print(table)
    summary = Table("", "", show_header=False, box=None)
    summary.add_row("leads changed", str(report.pull.changed_leads))
    summary.add_row("leads evaluated", str(report.evaluate.leads))
    summary.add_row("cycles stored", str(report.evaluate.cycles))
    written = "would write" if report.dry_run else "records written"
    summary.add_row(written, str(len(report.changes) if report.dry_run else report.push.confirmed))
    if not report.dry_run:
        summary.add_row("records failed", str(report.push.failed))
    summary.add_row("quarantined", str(report.pull.quarantined + report.push.quarantined))
    calls = ", ".join(f"{k} {v}" for k, v in sorted(report.api_calls.items()) if v) or "0"
    summary.add_row("API calls", calls)
    console.print(summary)
    if report.dry_run and report.changes:
        render_changes(console, report)


def render_changes(console: Console, report: CycleReport) -> None:
    """Per-lead field changes (what a dry run would write)."""
    table = Table("lead", "field", "new value", title="changes", title_justify="left")
    for update in report.changes:
        for index, (name, value) in enumerate(sorted(update.values.items())):
            table.add_row(update.lead_id if index == 0 else "", name.value, value or "(clear)")
    console.print(table)


def render_schema(console: Console, reports: Sequence[SchemaReport], *, dry_run: bool) -> None:
    """``crm init`` output per connection."""
    for report in reports:
        if report.error:
            console.print(f"[bold]{report.connection}[/bold]: error: {report.error}")
            continue
        title = f"{report.connection}{' (dry run)' if dry_run else ''}"
        table = Table("kind", "name", "action", title=title, title_justify="left")
        for change in report.changes:
            table.add_row(change.kind, change.name, change.action)
        console.print(table)


@contextmanager
def progress_bars(console: Console, enabled: bool) -> Iterator[ProgressCallback | None]:
    """A progress callback drawing one bar per step and stream (``None`` when disabled)."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with RichProgress(*columns, console=console, transient=False) as bars:
        tasks: dict[str, TaskID] = {}

        def update(event: Progress) -> None:
            key = f"{event.step} {event.stream}" if event.stream else event.step
            if key not in tasks:
                tasks[key] = bars.add_task(key, total=event.total)
            bars.update(tasks[key], completed=event.done, total=event.total)

        yield update
