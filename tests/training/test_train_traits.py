"""train_traits.py under `accelerate launch`: a run killed mid-training resumes from its last checkpoint and ends with
a model that clearly beats predicting the training mean on held-out clips."""

import json
import os
import signal
import subprocess
import textwrap
import time

import numpy as np
import pytest
import torch
from transformers import AutoModel

import modeling  # noqa: F401 - registers the Auto classes
from modeling import TraitTransformerModel
from tests.training.synthetic import REPO_ROOT, launch_command, offline_environment, run_launched
from training.metrics import trait_mean_baseline, trait_metrics
from training.testing.synthetic import make_table, save_table
from training.testing.tiny_configs import tiny_trait_config
from training.trainer_setup import EVAL_RESULTS, TRAINER_STATE, complete_checkpoints

EPOCHS = 8
BATCH = 16
STEPS_PER_EPOCH = 256 // BATCH


def predict(model, split) -> np.ndarray:
    split = split.with_format("torch")
    with torch.no_grad():
        return model(split["embeddings"][:].float(), split["attention_mask"][:]).logits.numpy()


@pytest.mark.timeout(300)
def test_killed_run_resumes_from_its_last_checkpoint_and_beats_the_mean(tmp_path):
    table = make_table("traits")
    save_table(table, tmp_path / "table")
    tiny_trait_config().save_pretrained(tmp_path / "config")
    output_dir = tmp_path / "run"
    arguments = [
        "--dataset", str(tmp_path / "table"), "--output_dir", str(output_dir),
        "--model_config", str(tmp_path / "config"),
        "--num_train_epochs", str(EPOCHS), "--learning_rate", "3e-3", "--per_device_train_batch_size", str(BATCH),
        "--early_stopping_patience", "0", "--report_to", "none", "--seed", "3",
    ]

    # First run: killed (SIGKILL, the whole process group) as soon as the first epoch's checkpoint is complete.
    log = tmp_path / "killed-run.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            launch_command("train_traits.py", *arguments), cwd=REPO_ROOT, env=offline_environment(tmp_path),
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 200
        while not complete_checkpoints(output_dir) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    checkpoints = complete_checkpoints(output_dir)
    assert checkpoints, f"no checkpoint appeared before the kill:\n{log.read_text()[-3000:]}"
    assert not (output_dir / EVAL_RESULTS).exists(), "the run finished before it could be killed"
    last = checkpoints[-1]
    killed_state = json.loads((last / TRAINER_STATE).read_text())
    assert killed_state["global_step"] < EPOCHS * STEPS_PER_EPOCH

    # --resume_from_checkpoint latest continues from the killed run's last checkpoint to the end.
    resumed = run_launched("train_traits.py", *arguments, "--resume_from_checkpoint", "latest", tmp_path=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from {last} (step {killed_state['global_step']})" in resumed.stdout
    results = json.loads((output_dir / EVAL_RESULTS).read_text())
    assert results["run"]["global_step"] == EPOCHS * STEPS_PER_EPOCH
    final_state = json.loads((complete_checkpoints(output_dir)[-1] / TRAINER_STATE).read_text())
    # The history before the kill is carried over as it was, run times included (a run started over would have
    # measured new ones), and every epoch was evaluated once.
    assert any("eval_mean_ccc" in entry for entry in killed_state["log_history"])
    assert final_state["log_history"][: len(killed_state["log_history"])] == killed_state["log_history"]
    assert len([entry for entry in final_state["log_history"] if "eval_mean_ccc" in entry]) == EPOCHS

    # The saved model is the best validation epoch, it loads with AutoModel, and it learned the traits.
    model = AutoModel.from_pretrained(output_dir).eval()
    assert isinstance(model, TraitTransformerModel)
    assert (model.config.embedding_dim, model.config.max_frames) == (64, 6)
    validation = trait_metrics(predict(model, table["validation"]), np.asarray(table["validation"]["traits"]))
    assert validation["mean_ccc"] == pytest.approx(results["run"]["best_metric"], abs=1e-5)
    assert results["run"]["best_metric"] == max(entry["eval_mean_ccc"] for entry in final_state["log_history"]
                                                if "eval_mean_ccc" in entry)
    test_targets = np.asarray(table["test"]["traits"])
    test = trait_metrics(predict(model, table["test"]), test_targets)
    assert test["mean_mse"] == pytest.approx(results["test"]["mean_mse"], abs=1e-5)
    baseline = trait_metrics(trait_mean_baseline(np.asarray(table["train"]["traits"]), len(test_targets)), test_targets)
    assert results["baseline"]["test"]["mean_mse"] == pytest.approx(baseline["mean_mse"])
    assert test["mean_mse"] < 0.4 * baseline["mean_mse"]
    assert test["mean_accuracy"] > baseline["mean_accuracy"] + 0.05
    assert test["mean_ccc"] > 0.6


def test_failed_hub_push_is_one_sentence_and_keeps_the_saved_model(tmp_path, capsys):
    from tests.training.synthetic import one_torch_thread
    from training import train_traits

    save_table(make_table("traits", sizes={"train": 32, "validation": 8}), tmp_path / "table")
    tiny_trait_config().save_pretrained(tmp_path / "config")
    with one_torch_thread():
        code = train_traits.main([
            "--dataset", str(tmp_path / "table"), "--output_dir", str(tmp_path / "run"),
            "--model_config", str(tmp_path / "config"), "--num_train_epochs", "1", "--report_to", "none",
            "--push_to_hub", "--hub_model_id", "org/fiv2-trait-transformer",  # offline in the tests
        ])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    # The Hub export ran (it refuses folders with pickles or without eval_results.json) and stopped at the upload.
    assert err[-1].startswith(f"train_traits.py: error: the model was saved to {tmp_path / 'run'}, but pushing it "
                              "to org/fiv2-trait-transformer failed")
    assert "HF_HUB_OFFLINE" in err[-1]
    assert (tmp_path / "run" / EVAL_RESULTS).is_file() and not (tmp_path / "run" / "training_args.bin").exists()
    assert isinstance(AutoModel.from_pretrained(tmp_path / "run"), TraitTransformerModel)


def test_push_to_hub_publishes_the_run_which_loads_by_its_id_over_http(tmp_path):
    """`--push_to_hub` to a stand-in Hub: the exported repo arrives, and a user with neither the project nor a cache
    loads it by its id over HTTP (the repo's own code, `trust_remote_code=True`) with the run's weights."""
    from safetensors.torch import load_file

    from tests.hub.standin_hub import StandInHub
    from tests.hub_cache import run_clean_python

    save_table(make_table("traits", sizes={"train": 32, "validation": 8}), tmp_path / "table")
    tiny_trait_config().save_pretrained(tmp_path / "config")
    repo_id = "org/fiv2-trait-transformer"
    with StandInHub() as hub:
        hub_env = hub.client_env(tmp_path / "hf_home")
        trained = subprocess.run(
            launch_command("train_traits.py", "--dataset", str(tmp_path / "table"), "--output_dir",
                           str(tmp_path / "run"), "--model_config", str(tmp_path / "config"), "--num_train_epochs",
                           "1", "--report_to", "none", "--push_to_hub", "--hub_model_id", repo_id),
            cwd=REPO_ROOT, env={**offline_environment(tmp_path), **hub_env}, capture_output=True, text=True,
            timeout=240,
        )
        assert trained.returncode == 0, trained.stderr[-3000:]
        files = hub.repos[("model", repo_id)].files
        loaded = run_clean_python(textwrap.dedent(f"""
            from safetensors.torch import save_file
            from transformers import AutoModel
            model = AutoModel.from_pretrained({repo_id!r}, trust_remote_code=True)
            save_file(model.state_dict(), {str(tmp_path / "loaded.safetensors")!r})
            print(type(model).__name__)
        """), env={**hub_env, "HF_HOME": str(tmp_path / "user_home")})
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert {"config.json", "model.safetensors", "README.md", EVAL_RESULTS} <= set(files)
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in files)  # weights as safetensors only
    assert f'from_pretrained("{repo_id}"' in files["README.md"].decode()
    assert loaded.stdout.split()[-1] == "TraitTransformerModel"
    run_weights = load_file(tmp_path / "run" / "model.safetensors")
    user_weights = load_file(tmp_path / "loaded.safetensors")
    assert run_weights.keys() == user_weights.keys()
    assert all(torch.equal(run_weights[name], user_weights[name]) for name in run_weights)
