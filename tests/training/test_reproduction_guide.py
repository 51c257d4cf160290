"""The README's "Reproducing the published numbers" guide runs as written: its commands (all but the extraction,
which needs the datasets' videos) on synthetic embeddings and label files in the datasets' real formats.

The training commands get one epoch, tiny models and no TensorBoard appended (options given last win), so the test
takes minutes, not days; the commands, paths and recipes are the README's own.
"""

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

from modeling import EmoNeXtConfig
from tests.training.label_files import fiv2_annotations, write_embedding_table, write_mosei_csv, write_pickle
from tests.training.synthetic import REPO_ROOT, offline_environment
from training.testing.synthetic import make_image_folder
from training.testing.tiny_configs import EMBEDDING_DIM, tiny_emonext_config, tiny_emotion_config, tiny_trait_config
from training.trainer_setup import EVAL_RESULTS, load_config

NUM_FRAMES = 4


def guide_section() -> str:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("#### Reproducing the published numbers")
    return readme[start : readme.index("\n## ", start)]


def guide_commands(section: str) -> list[str]:
    """The shell commands of the guide's bash block, continuation lines joined, comments left out."""
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    joined = block.replace("\\\n", " ")
    return [" ".join(line.split()) for line in joined.splitlines() if line.strip() and not line.startswith("#")]


def write_inputs(root: Path) -> None:
    """What the guide's commands read: extraction tables, the original's MOSEI CSVs, FIV2 pickles, FER2013 folders."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 40), ("test", 20)):
        names = [f"{split}vid{i:03d}_{i:.4f}_{i + 3.5:.4f}" for i in range(count)]
        masks = [[int(i % 4 != 0 or frame > 0) for frame in range(NUM_FRAMES)] for i in range(count)]
        write_embedding_table(root / "embeddings" / "mosei" / split, names, NUM_FRAMES, EMBEDDING_DIM, masks=masks,
                              seed=len(split))
        rows = [(name, list(rng.integers(0, 3, size=7).astype(float))) for name in names]
        write_mosei_csv(root / ("train_full.csv" if split == "train" else "test_full.csv"), rows)
    (root / "annotations").mkdir()
    for split, pickle_split, count in (("train", "training", 30), ("val", "validation", 12), ("test", "test", 12)):
        clips = [f"{split:_<11}.{i:03d}" for i in range(count)]
        masks = [[int(i % 3 != 0 or frame > 0) for frame in range(NUM_FRAMES)] for i in range(count)]
        write_embedding_table(root / "embeddings" / "fiv2" / split, clips, NUM_FRAMES, EMBEDDING_DIM, masks=masks)
        scores = {clip: tuple(float(v) for v in rng.uniform(0.2, 0.8, size=5)) for clip in clips}
        write_pickle(root / "annotations" / f"annotation_{pickle_split}.pkl", fiv2_annotations(scores))
    make_image_folder(root / "fer2013", {"train": 8, "val": 3, "test": 3})
    # Tiny stand-ins for the production architectures (appended to the training commands).
    tiny_emotion_config().save_pretrained(root / "tiny" / "emotion")
    tiny_trait_config().save_pretrained(root / "tiny" / "traits")
    tiny_emonext_config().save_pretrained(root / "tiny" / "embedder")
    # A ConvNeXt-Tiny that is tiny: timm has its ImageNet-22k weights name, which --recipe original asks for.
    tiny_emonext_config(backbone="convnext_tiny.fb_in1k").save_pretrained(root / "tiny" / "emonext")
    for folder in ("training", "hub_configs"):  # the guide runs from the repository root
        (root / folder).symlink_to(REPO_ROOT / folder)


def runnable(command: str, root: Path) -> list[str]:
    """The command with this interpreter and a one-CPU launcher, plus the test's speed-ups for the trainers."""
    words = shlex.split(command)
    if words[0] == "python":
        words[0] = sys.executable
    elif words[:2] == ["accelerate", "launch"]:
        launcher = str(Path(sys.executable).with_name("accelerate"))
        words[:2] = [launcher, "launch", "--quiet", "--cpu", "--num_processes", "1", "--num_machines", "1",
                     "--mixed_precision", "no", "--dynamo_backend", "no", "--num_cpu_threads_per_process", "1"]
    script = next((Path(word).name for word in words if word.startswith("training/")), "")
    tiny = {
        "train_emotion.py": ["--model_config", "tiny/emotion"],
        "train_traits.py": ["--model_config", "tiny/traits"],
        "train_fusion.py": ["--embedder_model", "tiny/embedder"],
        "train_emonext.py": ["--model_config", "tiny/emonext", "--from_pretrained_backbone", "false"],
    }
    if script in tiny:
        words += ["--num_train_epochs", "1", "--report_to", "none", *tiny[script]]
    return words


def test_the_guide_names_the_published_numbers():
    section = guide_section()
    for number in ("0.540", "0.570", "0.394", "0.898", "76.12", "71.4–71.6"):
        assert number in section
    commands = guide_commands(section)
    for script in ("train_emotion.py", "train_traits.py", "train_fusion.py", "train_emonext.py"):
        runs = [command for command in commands if script in command]
        assert len(runs) == 2 and sum("--recipe original" in command for command in runs) == 1, script


def test_the_guide_runs_as_written(tmp_path):
    section = guide_section()
    write_inputs(tmp_path)
    tiny_json = re.search(r"```json\n(.*?)```", section, re.S).group(1)
    (tmp_path / "emonext-tiny.json").write_text(tiny_json)
    assert load_config(tmp_path / "emonext-tiny.json", EmoNeXtConfig, "--model_config").hidden_size == 768
    env = offline_environment(tmp_path)
    for command in guide_commands(section):
        if "extract_embeddings.py" in command:
            continue  # needs the videos; tested in test_extract_embeddings.py
        finished = subprocess.run(runnable(command, tmp_path), cwd=tmp_path, env=env, capture_output=True, text=True,
                                  timeout=600)
        assert finished.returncode == 0, f"{command}\n{finished.stderr[-3000:]}"

    for run, recipe in (("mosei-original", "original"), ("mosei-improved", "improved"), ("fiv2-original", "original"),
                        ("fiv2-improved", "improved"), ("fusion-original", "original"), ("fusion-improved", "improved"),
                        ("emonext-tiny-original", "original"), ("emonext-tiny-improved", "improved")):
        results = json.loads((tmp_path / "runs" / run / EVAL_RESULTS).read_text())
        assert results["recipe"] == recipe, run
    mosei = json.loads((tmp_path / "runs" / "mosei-original" / EVAL_RESULTS).read_text())
    assert mosei["rows"]["test"] == 20 and mosei["rows"]["test_original_population"] == 15
    assert set(mosei["baseline"]["test_original_population"]) <= set(mosei["test_original_population"])
    fiv2 = json.loads((tmp_path / "runs" / "fiv2-original" / EVAL_RESULTS).read_text())
    assert fiv2["rows"]["test_original_population"] == 8 and fiv2["run"]["selection"] == "last epoch"
    emonext = json.loads((tmp_path / "runs" / "emonext-tiny-original" / EVAL_RESULTS).read_text())
    assert emonext["run"]["test_crops"] == 10 and emonext["run"]["backbone"] == "convnext_tiny.fb_in22k"
