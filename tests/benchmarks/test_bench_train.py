"""The trainers' benchmark times each real trainer (tiny models) and writes its figures with the options it ran with.

Timings are never asserted in tests.
"""

from tests.benchmarks.bench_runs import run_benchmark

TASKS = ["emotion", "traits", "fusion", "emonext"]


def test_bench_train_times_every_trainer(tmp_path):
    figures, printed = run_benchmark(
        "bench_train.py", ["--tiny", "--steps", "2", "--warmup", "1", "--bf16", "no"], tmp_path / "train.json"
    )
    assert [row["task"] for row in figures["results"]] == TASKS
    for row in figures["results"]:
        assert row["timed_steps"] == 2 and row["bf16"] is False and row["trainable_parameters"] > 0, row
        assert row["train_samples_per_s"] > 0 and row["loader_samples_per_s"] > 0, row
        assert 0 < row["loader_share"] <= 1 and row["limit"], row
        assert f"\n{row['task']:<8} {row['batch_size']:>6} " in printed
    # the options as given, JSON values (not their repr), so a reader can rerun the same command
    assert figures["options"]["task"] == TASKS and figures["options"]["steps"] == 2
    assert figures["options"]["tiny"] is True and figures["options"]["batch_size"] is None
    assert figures["machine"]["cpu_model"]
