"""Training-table splits as model inputs, and the two-table batches the fusion trainer draws from.

A split of a training table (see `training/tables.py`) holds `video_id`, `embeddings`, `attention_mask` and a target
column. The face-sequence models take `frame_embeddings`, `attention_mask` and a label argument, so `model_inputs`
renames and keeps only those columns, as torch tensors (the torch formatter returns float16 embeddings as float32).

The fusion model is trained on the emotion table and the trait table together. `TwoTableDataset` puts them side by side
and `TaskBatchSampler` draws batches that each come from one table only, so every batch carries one kind of label.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from datasets import Dataset, DatasetDict

EMOTION_TARGET = "emotions"
TRAIT_TARGET = "traits"


def table_shape(table: DatasetDict) -> tuple[int, int]:
    """(T, D) of a validated training table's embeddings (the same in every split)."""
    return tuple(table["train"].features["embeddings"].shape)


def model_inputs(split: Dataset, target: str, label_name: str = "labels") -> Dataset:
    """One split of a training table as the model's keyword arguments.

    Args:
        split: A validated split (`video_id`, `embeddings`, `attention_mask`, `target`).
        target: `emotions` or `traits`.
        label_name: The model's label argument (`labels`, or the fusion model's `emotion_labels` / `trait_labels`).

    Returns:
        A torch-formatted dataset with the columns `frame_embeddings`, `attention_mask` and `label_name`.
    """
    split = split.select_columns(["embeddings", "attention_mask", target])
    split = split.rename_columns({"embeddings": "frame_embeddings", target: label_name})
    return split.with_format("torch")


def original_population(split: Dataset) -> Dataset:
    """The rows the original project kept: clips whose face was found in the first sampled frame.

    The original dropped the frames before its first detection and carried the last face forward after it, then kept
    only clips with all T embeddings: exactly those with a face in frame 0, i.e. `attention_mask[0] == 1`.
    """
    first_frame = split.with_format("numpy")["attention_mask"][:][:, 0]
    return split.select(np.flatnonzero(first_frame == 1))


def stack_rows(rows: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Collates rows of equal-shaped tensors into a batch (the tables have a fixed T, so nothing is padded)."""
    return {key: torch.stack([row[key] for row in rows]) for key in rows[0]}


class TwoTableDataset(torch.utils.data.Dataset):
    """Two model-input datasets indexed as one: rows `0 .. len(first) - 1`, then the second table's rows."""

    def __init__(self, first: Dataset, second: Dataset):
        self.tables = (first, second)

    def __len__(self) -> int:
        return len(self.tables[0]) + len(self.tables[1])

    def locate(self, index: int) -> tuple[int, int]:
        """(table number, row in that table) of a combined index."""
        first_length = len(self.tables[0])
        return (0, index) if index < first_length else (1, index - first_length)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        table, row = self.locate(index)
        return self.tables[table][row]

    def __getitems__(self, indices: list[int]) -> list[dict[str, torch.Tensor]]:
        """Reads a batch in one call per table (the DataLoader uses this instead of row-by-row reads)."""
        located = [self.locate(index) for index in indices]
        rows: list[dict[str, torch.Tensor]] = []
        for table in (0, 1):
            wanted = [row for number, row in located if number == table]
            if wanted:
                batch = self.tables[table][wanted]
                rows.extend({key: values[i] for key, values in batch.items()} for i in range(len(wanted)))
        return rows


class TaskBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of `TwoTableDataset` indices, each batch from one table, in a seeded shuffled order.

    Every epoch shuffles each table's rows, cuts them into batches (the last one may be short), and interleaves the
    two tables' batches in a random order, so an epoch is one pass over both tables, as in the original fusion
    training. With several processes, Accelerate hands consecutive batches to the processes in turn; batches are
    therefore laid out in runs of `group_size` (the number of processes) from the same table, so that all processes
    work on the same task in the same optimizer step.
    """

    def __init__(self, table_sizes: tuple[int, int], batch_size: int, seed: int = 0, group_size: int = 1):
        self.table_sizes = table_sizes
        self.batch_size = batch_size
        self.seed = seed
        self.group_size = max(1, group_size)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer at every epoch, so that a resumed run draws the same batches it would have."""
        self.epoch = epoch

    def _groups_per_table(self) -> list[int]:
        return [math.ceil(math.ceil(size / self.batch_size) / self.group_size) for size in self.table_sizes]

    def __len__(self) -> int:
        return sum(self._groups_per_table()) * self.group_size

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        groups: list[list[list[int]]] = []
        offset = 0
        for size, num_groups in zip(self.table_sizes, self._groups_per_table(), strict=True):
            order = (torch.randperm(size, generator=generator) + offset).tolist()
            batches = [order[start : start + self.batch_size] for start in range(0, size, self.batch_size)]
            # Complete the last run by repeating the table's first batches (what Accelerate's even_batches does).
            while len(batches) < num_groups * self.group_size:
                batches += batches[: num_groups * self.group_size - len(batches)]
            groups.extend(batches[i : i + self.group_size] for i in range(0, len(batches), self.group_size))
            offset += size
        for group in torch.randperm(len(groups), generator=generator).tolist():
            yield from groups[group]
