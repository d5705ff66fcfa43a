"""``manage.py import_catalog FILE``: sync a marketplace's catalog (see ``listings.importer``)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from listings.importer import (
    DEFAULT_BATCH_SIZE,
    FORMATS,
    SQL_BATCH_SIZE,
    BadRow,
    default_checkpoint_path,
    import_catalog,
)


class Command(BaseCommand):
    help = (
        "Import sellers, products, listings and sales from a JSON Lines or CSV file (a `type` "
        "column names each row's kind), upserting by external id. Bad rows are reported with "
        "their line number and skipped (a line that is not UTF-8 included: the file is read as "
        "UTF-8, with or without a BOM); a crashed import resumes from its checkpoint. "
        "Sellers' identifiers and ring groups are recomputed by the Celery worker after each "
        "committed batch (owed through the outbox), so rings and repeat-offender alerts are "
        "current once the worker has caught up, not when this command returns."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The catalog file (JSON Lines or CSV).")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            help="Default: from the extension (.jsonl, .ndjson or .json; .csv).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=None,
            help=(
                f"Lines per transaction (default {SQL_BATCH_SIZE:,} on PostgreSQL, "
                f"{DEFAULT_BATCH_SIZE:,} otherwise); a crash resumes after the last "
                "committed batch."
            ),
        )
        parser.add_argument(
            "--restart",
            action="store_true",
            help="Ignore the checkpoint of an earlier, unfinished run and start at line 1.",
        )
        parser.add_argument(
            "--checkpoint",
            type=Path,
            help="Where to keep the checkpoint (default: FILE.import-checkpoint.json).",
        )
        parser.add_argument(
            "--progress-every",
            type=int,
            default=10_000,
            help="Print progress to stderr about every N lines (default 10000).",
        )

    def handle(self, *args, **options) -> None:
        path: Path = options["file"]
        if path.is_dir():
            raise CommandError(f"{path} is a directory: give the catalog file.")
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        if options["batch_size"] is not None and options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["progress_every"] < 1:
            raise CommandError("--progress-every must be at least 1.")
        # Checked before the first batch: the checkpoint is written after each committed one.
        checkpoint: Path = options["checkpoint"] or default_checkpoint_path(path)
        if checkpoint.is_dir():
            raise CommandError(f"--checkpoint {checkpoint} is a directory: give a file name.")
        if not checkpoint.parent.is_dir():
            raise CommandError(
                f"--checkpoint {checkpoint}: the directory {checkpoint.parent} does not exist."
            )

        def on_bad_row(bad: BadRow) -> None:
            self.stderr.write(f"bad row: {bad}")

        def on_progress(message: str) -> None:
            self.stderr.write(message)

        try:
            report = import_catalog(
                path,
                fmt=options["format"],
                batch_size=options["batch_size"],
                restart=options["restart"],
                checkpoint_path=checkpoint,
                progress_every=options["progress_every"],
                on_progress=on_progress,
                on_bad_row=on_bad_row,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        except OSError as exc:
            # Unreadable file, checkpoint that cannot be written: what is committed stays, and
            # a run after the fix resumes from the checkpoint.
            raise CommandError(f"{exc.strerror or exc}: {exc.filename or path}") from exc
        if report.resumed_after_line:
            self.stdout.write(f"Resumed after line {report.resumed_after_line} (checkpoint).")
        counts = ", ".join(f"{n} {kind}(s)" for kind, n in report.upserted.items())
        rate = report.rows_written / report.seconds if report.seconds else 0.0
        self.stdout.write(
            f"Imported {counts} from {report.lines_read} line(s) in {report.seconds:.1f}s "
            f"({rate:,.0f} rows/s); {report.bad_count} bad row(s)."
        )
