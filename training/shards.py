"""Crash-safe storage of an extraction's progress: shards while it runs, one `save_to_disk` table when it ends.

Everything for one split lives in its output folder ``<split_dir>``:

```
<split_dir>/                      the published table (save_to_disk), readable by datasets.load_from_disk
    data-*.arrow  dataset_info.json  state.json
    extraction.json               the settings it was made with, and counts
    failures.jsonl                one {"video_id", "path", "error", "reason", "retry"} per skipped video
    .shards/                      work in progress (gone after a clean finish)
        settings.json
        chunk-<hash>/             one finished chunk: table/ (save_to_disk) + failures.jsonl
        publishing/               a complete merged table on its way into <split_dir>
```

The rules that make a kill at any moment harmless:

* A shard is written under a temporary name and renamed into place (``os.replace``), so a shard that exists is
  complete, and its videos (and its final failures) are done. Temporary leftovers are deleted on the next start.
* Publishing first writes the merged table completely into ``.shards/publishing`` (again via a rename), then moves
  its files into ``<split_dir>`` with ``state.json`` last: while ``state.json`` is missing the folder is not a table,
  and a restart finishes an interrupted move before anything else.
* Shards are deleted only after the table is published; the published table counts as done work too, so a rerun
  that adds videos (more FIV2 folders, say) extends it.
* The merged table is sorted by video id and holds each id once, so the order in which chunks finished (or which
  process did them) does not show in the result.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import datasets
from datasets import Dataset, concatenate_datasets

from training.cli import UserError
from training.tables import EMBEDDING_COLUMNS

SHARDS_DIR = ".shards"
SETTINGS_FILE = "settings.json"
FAILURES_FILE = "failures.jsonl"
EXTRACTION_FILE = "extraction.json"
PUBLISHING_DIR = "publishing"
CHUNK_PREFIX = "chunk-"
TEMP_PREFIX = ".tmp-"
STATE_FILE = "state.json"  # what datasets.load_from_disk needs; written last


class ShardError(UserError):
    """The output folder cannot be resumed into; the message is one sentence."""


def write_text_atomically(path: Path, text: str) -> None:
    """Writes a text file under a temporary name and renames it into place."""
    temporary = path.with_name(f"{TEMP_PREFIX}{path.name}-{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def read_jsonl(path: Path) -> list[dict]:
    """The records of a JSON-lines file (an absent file has none)."""
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def to_jsonl(records: list[dict]) -> str:
    return "".join(json.dumps(record, sort_keys=True) + "\n" for record in records)


def chunk_name(video_ids: list[str]) -> str:
    """A shard's name, derived from the ids it holds: unique without coordination between processes or runs."""
    digest = hashlib.sha1("\n".join(sorted(video_ids)).encode("utf-8")).hexdigest()[:20]
    return f"{CHUNK_PREFIX}{digest}"


class ShardStore:
    """The shards and the published table of one split folder.

    Args:
        split_dir: ``<output_root>/<split>``.
    """

    def __init__(self, split_dir: str | Path):
        self.split_dir = Path(split_dir)
        self.root = self.split_dir / SHARDS_DIR

    # ---------------------------------------------------------------------------------------------- start of a run

    def recover(self) -> None:
        """Finishes an interrupted publish and deletes the temporary leftovers of killed writes.

        Call it from one process only, before any process reads the folder.
        """
        if (self.root / PUBLISHING_DIR).is_dir():
            self._finish_publish()
        leftovers = [*self.root.glob(f"{TEMP_PREFIX}*"), *self.split_dir.glob(f"{TEMP_PREFIX}*"),
                     *self.split_dir.glob(f"*/{TEMP_PREFIX}*")]  # the last: per-video .pt files of FIV2 folders
        for leftover in set(leftovers):
            if leftover.is_dir():
                shutil.rmtree(leftover, ignore_errors=True)
            else:
                leftover.unlink(missing_ok=True)

    def record_settings(self, settings: dict[str, Any]) -> None:
        """Records the settings of the work about to be stored (once; ``check_settings`` guards later runs)."""
        if not (self.root / SETTINGS_FILE).is_file():
            self.root.mkdir(parents=True, exist_ok=True)
            write_text_atomically(self.root / SETTINGS_FILE, json.dumps(settings, indent=2, sort_keys=True) + "\n")

    def check_settings(self, settings: dict[str, Any]) -> None:
        """Refuses to mix embeddings made with other settings into this folder.

        Args:
            settings: The settings of this run; every key recorded with another value is a mismatch.

        Raises:
            ShardError: A recorded setting differs (the message names it), or the folder holds a table this tool did
                not write.
        """
        if self.has_published_table() and not (self.split_dir / EXTRACTION_FILE).is_file():
            raise ShardError(
                f"{self.split_dir} holds a dataset this tool did not write (it has no {EXTRACTION_FILE}); "
                "choose another --output_root."
            )
        for recorded_file in (self.root / SETTINGS_FILE, self.split_dir / EXTRACTION_FILE):
            if not recorded_file.is_file():
                continue
            recorded = json.loads(recorded_file.read_text(encoding="utf-8"))
            for key, value in settings.items():
                if key in recorded and recorded[key] != value:
                    raise ShardError(
                        f"{self.split_dir} was extracted with {key}={_short(recorded[key])}, not {_short(value)}; "
                        "rerun with the same settings to resume, or choose another --output_root."
                    )

    # ------------------------------------------------------------------------------------------------ what is done

    def has_published_table(self) -> bool:
        return (self.split_dir / STATE_FILE).is_file() and (self.split_dir / "dataset_info.json").is_file()

    def chunk_dirs(self) -> list[Path]:
        """Finished shards, by name."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if p.is_dir() and p.name.startswith(CHUNK_PREFIX))

    def _sources(self) -> list[tuple[Dataset, list[dict]]]:
        """(table, failures) of the published table (first) and of every finished shard."""
        sources = []
        if self.has_published_table():
            sources.append((datasets.load_from_disk(str(self.split_dir)), read_jsonl(self.split_dir / FAILURES_FILE)))
        for shard in self.chunk_dirs():
            sources.append((datasets.load_from_disk(str(shard / "table")), read_jsonl(shard / FAILURES_FILE)))
        return sources

    def finished(self) -> tuple[set[str], set[str]]:
        """Ids already embedded, and ids skipped for good (failures not marked ``retry``)."""
        done, failed = set(), set()
        for table, failures in self._sources():
            done.update(table.data.column("video_id").to_pylist())
            failed.update(record["video_id"] for record in failures if not record.get("retry"))
        return done, failed

    # --------------------------------------------------------------------------------------------------- writing

    def write_chunk(self, table: Dataset, failures: list[dict]) -> Path:
        """Stores one finished chunk (its embedded rows and its failures) as a shard, atomically.

        Returns:
            The shard folder.
        """
        ids = table.data.column("video_id").to_pylist() + [record["video_id"] for record in failures]
        final = self.root / chunk_name(ids)
        temporary = self.root / f"{TEMP_PREFIX}{final.name}-{os.getpid()}"
        if temporary.exists():
            shutil.rmtree(temporary)
        temporary.mkdir(parents=True)
        table.save_to_disk(str(temporary / "table"), num_shards=1)  # one file, even for a chunk of failures only
        (temporary / FAILURES_FILE).write_text(to_jsonl(failures), encoding="utf-8")
        if final.exists():  # the same videos again (a retried failure): the newer shard wins
            shutil.rmtree(final)
        os.replace(temporary, final)
        return final

    def merge(self) -> tuple[Dataset | None, list[dict]]:
        """All done work as one table sorted by video id (each id once), and the failures of ids not in it.

        Returns:
            The table (None when there is nothing at all) and the failure records sorted by video id.
        """
        sources = self._sources()
        if not sources:
            return None, []
        tables = [table.select_columns(list(EMBEDDING_COLUMNS)) for table, _ in sources]
        features = tables[0].features
        tables = [table if table.features == features else table.cast(features) for table in tables]
        combined = concatenate_datasets(tables) if len(tables) > 1 else tables[0]
        ids = combined.data.column("video_id").to_pylist()
        first_row: dict[str, int] = {}
        for row, video_id in enumerate(ids):
            first_row.setdefault(video_id, row)
        merged = combined.select([first_row[video_id] for video_id in sorted(first_row)])

        by_id: dict[str, dict] = {}
        for _, failures in sources:
            for record in failures:
                if record["video_id"] in first_row:  # failed once (an unexpected error), embedded on a retry
                    continue
                known = by_id.get(record["video_id"])
                if known is None or (known.get("retry") and not record.get("retry")):  # a final verdict wins
                    by_id[record["video_id"]] = record
        return merged, [by_id[key] for key in sorted(by_id)]

    def publish(self, table: Dataset, failures: list[dict], extraction: dict[str, Any]) -> None:
        """Makes ``table`` the split folder's dataset (with its failure log and settings), then deletes the shards.

        Args:
            table: The merged table.
            failures: The failure records to list in ``failures.jsonl``.
            extraction: What ``extraction.json`` records (settings and counts).
        """
        temporary = self.root / f"{TEMP_PREFIX}{PUBLISHING_DIR}-{os.getpid()}"
        if temporary.exists():
            shutil.rmtree(temporary)
        table.save_to_disk(str(temporary), num_shards=None if len(table) else 1)  # datasets writes no file for 0 rows
        (temporary / FAILURES_FILE).write_text(to_jsonl(failures), encoding="utf-8")
        (temporary / EXTRACTION_FILE).write_text(json.dumps(extraction, indent=2, sort_keys=True) + "\n", "utf-8")
        os.replace(temporary, self.root / PUBLISHING_DIR)
        self._finish_publish()

    def _finish_publish(self) -> None:
        """Moves a complete ``publishing`` folder's files into the split folder, ``state.json`` last; idempotent."""
        publishing = self.root / PUBLISHING_DIR
        new_state = publishing / STATE_FILE
        if new_state.is_file():  # otherwise a kill came after the last move and only the clean-up is left
            (self.split_dir / STATE_FILE).unlink(missing_ok=True)  # the folder is no table until the new one lands
            keep = {entry["filename"] for entry in json.loads(new_state.read_text("utf-8"))["_data_files"]}
            for path in sorted(publishing.iterdir()):
                if path.name != STATE_FILE:
                    os.replace(path, self.split_dir / path.name)
            for stale in self.split_dir.glob("data-*.arrow"):
                if stale.name not in keep:
                    stale.unlink()
            os.replace(new_state, self.split_dir / STATE_FILE)
        shutil.rmtree(self.root)


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."
