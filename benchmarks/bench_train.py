"""Training speed beside the data loader alone: is the GPU (compute) or the input pipeline the limit?

For each trainer it builds the real `Trainer` the script builds (same options, same data pipeline, same model), on a
synthetic table or image folder of production shape, and measures in the same process:

* `loader`: samples/s of iterating the training DataLoader alone (reading, formatting, augmenting, collating);
* `train`: samples/s of whole optimizer steps (the loader's next batch, forward, backward, optimizer), timed between
  consecutive steps after a warm-up; evaluation and checkpoints are switched off.

When `loader` is far above `train`, the model is the limit; when they are close, the input pipeline is, and more
`--dataloader_num_workers` (or a faster disk) will pay off. `loader share` estimates the part of a step spent
waiting for data (train rate / loader rate).

Usage:
    python benchmarks/bench_train.py [--task emotion traits fusion emonext] [--steps 30] [--batch_size N]
                                     [--num_workers 0] [--tiny] [--bf16 auto|yes|no] [--json OUT]

Defaults are the production architectures (hub_configs/) with the tables' production shape (30 frames of 1024-d
embeddings; 48-pixel grayscale images resized to 224 for EmoNeXt-Base) and each recipe's batch size. --tiny uses the
tests' tiny models and shapes, for a quick run on a CPU. Run it under `accelerate launch` to time several GPUs.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars would bury the table

import numpy as np
import torch
from transformers import TrainerCallback

from training.cli import ArgumentParser, run_cli

from machine import describe, machine_info, report

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROG = "bench_train.py"

TASKS = ("emotion", "traits", "fusion", "emonext")
# Production shapes and each recipe's batch size; --tiny shrinks them to the tests' sizes.
PRODUCTION = {"frames": 30, "dim": 1024, "batch": {"emotion": 2048, "traits": 512, "fusion": 1024, "emonext": 64}}
TINY = {"frames": 6, "dim": 64, "batch": {"emotion": 32, "traits": 32, "fusion": 32, "emonext": 32}}


class StepTimer(TrainerCallback):
    """Times optimizer steps after a warm-up, and switches off the end-of-epoch evaluation and checkpoint."""

    def __init__(self, warmup_steps: int):
        self.warmup_steps = warmup_steps
        self.start: float | None = None
        self.timed_steps = 0

    def on_step_end(self, args, state, control, **kwargs):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        if state.global_step == self.warmup_steps:
            self.start = time.perf_counter()
        elif state.global_step > self.warmup_steps:
            self.timed_steps += 1
            self.seconds = time.perf_counter() - self.start

    def on_epoch_end(self, args, state, control, **kwargs):
        control.should_evaluate = control.should_save = False


def synthetic_table(target: str, rows: int, frames: int, dim: int):
    """A valid training table of random embeddings and labels (the values do not change the speed)."""
    from datasets import Dataset, DatasetDict

    from training.tables import describe_training_table, training_features

    rng = np.random.default_rng(0)
    splits = {}
    for split, size in (("train", rows), ("validation", 8)):
        width = 7 if target == "emotions" else 5
        labels = rng.dirichlet(np.ones(width), size) if target == "emotions" else rng.uniform(size=(size, width))
        table = Dataset.from_dict(
            {
                "video_id": [f"{split}-{i}" for i in range(size)],
                "embeddings": rng.standard_normal((size, frames, dim), dtype=np.float32).astype(np.float16),
                "attention_mask": np.ones((size, frames), dtype=np.int8),
                target: labels.astype(np.float32),
            },
            features=training_features(frames, dim, target),
        )
        table.info.description = describe_training_table(target)
        splits[split] = table
    return DatasetDict(splits)


def write_inputs(task: str, folder: Path, rows: int, shape: dict, tiny: bool) -> dict[str, Path]:
    """Synthetic tables / images / configs / parts in `folder`; returns the paths the trainer's options need."""
    from training.testing.synthetic import make_image_folder

    paths: dict[str, Path] = {}
    for target, name in (("emotions", "emotion"), ("traits", "traits")):
        if task in (name, "fusion"):
            paths[name] = folder / f"{name}_table"
            synthetic_table(target, rows, shape["frames"], shape["dim"]).save_to_disk(str(paths[name]))
    if task == "emonext":
        per_class = max(1, rows // 3)
        paths["images"] = make_image_folder(folder / "images", {"train": per_class, "val": 2})
    if tiny:
        from training.testing.tiny_configs import (
            tiny_emonext_config,
            tiny_emotion_config,
            tiny_fusion_config,
            tiny_trait_config,
        )

        configs = {"emotion": tiny_emotion_config(), "traits": tiny_trait_config(), "emonext": tiny_emonext_config(),
                   "fusion": tiny_fusion_config()}
        for name, config in configs.items():
            config.save_pretrained(folder / f"{name}_config")
            paths[f"{name}_config"] = folder / f"{name}_config"
    if task == "fusion":  # random trained-part stand-ins: the speed does not depend on the weights
        from modeling import EmoNeXtModel, EmotionTransformerModel, FaceFusionConfig, TraitTransformerModel
        from training.trainer_setup import load_config

        fusion_config = load_config(paths.get("fusion_config", PROJECT_ROOT / "hub_configs/face-fusion"),
                                    FaceFusionConfig, "--model_config")
        for name, model_class, config in (
            ("emotion_model", EmotionTransformerModel, fusion_config.emotion_config),
            ("trait_model", TraitTransformerModel, fusion_config.trait_config),
            ("embedder", EmoNeXtModel, fusion_config.embedder_config),
        ):
            if hasattr(config, "embedding_dim"):
                config.embedding_dim, config.max_frames = shape["dim"], shape["frames"]
            model_class(config).save_pretrained(folder / name)
            paths[name] = folder / name
    return paths


def trainer_for(task: str, paths: dict, output_dir: Path, batch: int, options: argparse.Namespace):
    """The Trainer the task's script builds, from its own option parser."""
    common = ["--output_dir", str(output_dir), "--per_device_train_batch_size", str(batch), "--report_to", "none",
              "--max_steps", str(options.steps + options.warmup), "--num_train_epochs", "1000",
              "--dataloader_num_workers", str(options.num_workers),
              "--logging_steps", "1000000", "--early_stopping_patience", "0"]
    if options.bf16 != "auto":  # left out, the trainers use bf16 where the GPU has it
        common += ["--bf16", options.bf16]

    def config(name: str) -> list[str]:
        return ["--model_config", str(paths[f"{name}_config"])] if f"{name}_config" in paths else []

    if task in ("emotion", "traits"):
        from training import sequence_training, train_emotion, train_traits

        script = train_emotion if task == "emotion" else train_traits
        args, training_args = script.parse(["--dataset", str(paths[task]), *config(task), *common])
        task_spec = script.make_task(training_args) if script is train_traits else script.make_task()
        trainer = sequence_training.build_trainer(args, training_args, task_spec).trainer
    elif task == "fusion":
        from training import train_fusion

        args = train_fusion.parse([
            "--emotion_dataset", str(paths["emotion"]), "--trait_dataset", str(paths["traits"]),
            "--emotion_model", str(paths["emotion_model"]), "--trait_model", str(paths["trait_model"]),
            "--embedder_model", str(paths["embedder"]), *config("fusion"), *common,
        ])
        trainer = train_fusion.build_trainer(*args).trainer
    else:
        from training import train_emonext

        args = train_emonext.parse(
            ["--dataset", str(paths["images"]), "--cache_dir", str(output_dir / "cache"), *config("emonext"), *common]
        )
        trainer = train_emonext.build_trainer(*args).trainer
    return trainer


def loader_rate(trainer, batches: int, warmup: int) -> float:
    """Samples/s of the training DataLoader alone."""
    loader = trainer.get_train_dataloader()
    samples, start = 0, None
    for index, batch in enumerate(_cycle(loader)):
        if index == warmup:
            start, samples = time.perf_counter(), 0
        if index == warmup + batches:
            break
        samples += len(next(iter(batch.values())))
    return samples / (time.perf_counter() - start)


def _cycle(loader):
    while True:
        yield from loader


def bench_task(task: str, options: argparse.Namespace) -> dict:
    shape = TINY if options.tiny else PRODUCTION
    batch = options.batch_size or shape["batch"][task]
    # A few batches per epoch, as on the real tables (CMU-MOSEI: 8 batches of 2048); epochs repeat as needed.
    rows = options.rows or max(4 * batch, 256)
    with tempfile.TemporaryDirectory(prefix=f"bench-train-{task}-") as folder:
        folder = Path(folder)
        paths = write_inputs(task, folder, rows, shape, options.tiny)
        trainer = trainer_for(task, paths, folder / "run", batch, options)
        loader = loader_rate(trainer, options.steps, options.warmup)
        timer = StepTimer(options.warmup)
        trainer.add_callback(timer)
        trainer.train()
        train = timer.timed_steps * batch * trainer.args.world_size / timer.seconds
        parameters = sum(p.numel() for p in trainer.model.parameters() if p.requires_grad)
    return {
        "task": task,
        "batch_size": batch,
        "rows": rows,
        "timed_steps": timer.timed_steps,
        "trainable_parameters": parameters,
        "bf16": trainer.args.bf16,
        "loader_samples_per_s": loader,
        "train_samples_per_s": train,
        "loader_share": train / loader,
        "limit": "input pipeline" if train / loader > 0.5 else "model (GPU/CPU compute)",
    }


def table(machine: dict, results: list[dict]) -> str:
    header = f"{'task':<8} {'batch':>6} {'loader samples/s':>17} {'train samples/s':>16} {'loader share':>13}  limit"
    lines = [describe(machine), header, "-" * len(header)]
    for row in results:
        lines.append(f"{row['task']:<8} {row['batch_size']:>6} {row['loader_samples_per_s']:>17.1f} "
                     f"{row['train_samples_per_s']:>16.1f} {row['loader_share']:>13.2f}  {row['limit']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                            formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--task", nargs="+", choices=TASKS, default=list(TASKS), help="Trainers to time.")
    parser.add_argument("--steps", type=int, default=30, help="Timed optimizer steps (default: 30).")
    parser.add_argument("--warmup", type=int, default=3, help="Untimed steps first (default: 3).")
    parser.add_argument("--batch_size", type=int, help="Per-device batch size (default: each recipe's).")
    parser.add_argument("--rows", type=int, help="Synthetic training rows (default: 4 batches, at least 256).")
    parser.add_argument("--num_workers", type=int, default=0, help="DataLoader worker processes (default: 0).")
    parser.add_argument("--bf16", choices=("auto", "yes", "no"), default="auto", help="bf16 mixed precision.")
    parser.add_argument("--tiny", action="store_true", help="The tests' tiny models and shapes (quick, CPU).")
    parser.add_argument("--json", type=Path, metavar="OUT", help="Also write the results and the machine as JSON.")
    options = parser.parse_args(argv)

    import datasets

    datasets.disable_progress_bars()
    machine = machine_info()
    results = [bench_task(task, options) for task in options.task]

    options_used = {key: str(value) if isinstance(value, Path) else value for key, value in vars(options).items()}
    report({"machine": machine, "options": options_used, "results": results}, table(machine, results), options.json)
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(PROG, main))
