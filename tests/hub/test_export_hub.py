"""training/export_hub.py: repo folders for the four models and the Space, their cards, loading them from a local
Hugging Face cache in a process that cannot import the project, and pushing them to a stand-in Hub."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import gradio
import pytest
import yaml
from huggingface_hub import ModelCard, constants

from tests.hub.conftest import EVAL_RESULTS, REPO_ID, assert_one_sentence
from tests.hub.standin_hub import StandInHub
from tests.hub_cache import PROJECT_ROOT, plant_in_hf_cache, run_clean_python
from training.export_hub import ExportError, export_model_repo, export_space, project_files_for, publish
from webapp.example_clips import EXAMPLE_NAME

REMOTE_CODE = {
    "configuration_emonext.py", "configuration_face_fusion.py", "configuration_face_transformer.py",
    "modeling_emonext.py", "modeling_face_fusion.py", "modeling_face_transformer.py",
    "processing_face_video.py", "video_decoding.py", "face_detection.py", "pipeline_face_video.py",
}


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python training/export_hub.py ARGS` as a user runs it, from the project root."""
    return subprocess.run(
        [sys.executable, "training/export_hub.py", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> Path:
    return export_space(tmp_path_factory.mktemp("space-export") / "space", model_id=REPO_ID)


# ------------------------------------------------------------------------------------------------- face-fusion


def test_face_fusion_repo_holds_weights_code_processor_pipeline_and_example(exported):
    names = set(files_of(exported))
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "README.md", "eval_results.json",
            f"examples/{EXAMPLE_NAME}"} <= names
    assert REMOTE_CODE <= names
    assert not [n for n in names if n.endswith((".bin", ".pt", ".pth", ".pkl"))]
    assert not [p for p in exported.parent.iterdir() if ".partial-" in p.name]  # the staging folder is gone

    config = json.loads((exported / "config.json").read_text())
    assert config["auto_map"] == {
        "AutoConfig": "configuration_face_fusion.FaceFusionConfig",
        "AutoModel": "modeling_face_fusion.FaceFusionModel",
    }
    # One custom pipeline, under the card's pipeline_tag: pipeline() with that task or with none finds it.
    assert list(config["custom_pipelines"]) == ["video-classification"]
    assert config["custom_pipelines"]["video-classification"]["impl"] == "pipeline_face_video.FaceVideoAnalysisPipeline"
    assert config["custom_pipelines"]["video-classification"]["pt"] == ["AutoModel"]
    assert {"handler.py", "requirements.txt"} <= names
    processor = json.loads((exported / "preprocessor_config.json").read_text())
    assert processor["auto_map"]["AutoProcessor"] == "processing_face_video.FaceVideoProcessor"
    assert (processor["num_frames"], processor["image_size"]) == (6, 32)


def test_face_fusion_card_metadata(exported, analyze):
    card = ModelCard.load(exported / "README.md")
    data = card.data
    assert data.library_name == "transformers"
    assert data.pipeline_tag == "video-classification"
    assert data.license == "cc-by-nc-4.0"
    assert data.datasets == ["cmu-mosei", "first-impressions-v2"]
    assert data.base_model == ["org/emonext-base", "org/mosei-emotion-transformer", "org/fiv2-trait-transformer"]
    assert "apparent-personality" in data.tags

    measured = {(r.dataset_split, r.dataset_type, r.metric_type): r.metric_value for r in data.eval_results}
    assert measured == {
        ("test", "cmu-mosei", "f1"): EVAL_RESULTS["test_emotion_mean_f1"],
        ("test", "cmu-mosei", "accuracy"): EVAL_RESULTS["test_emotion_mean_weighted_accuracy"],
        ("test", "first-impressions-v2", "accuracy"): EVAL_RESULTS["test_trait_mean_accuracy"],
        ("test", "first-impressions-v2", "ccc"): EVAL_RESULTS["test_trait_mean_ccc"],
        ("validation", "cmu-mosei", "f1"): EVAL_RESULTS["eval_emotion_mean_f1"],
        ("validation", "first-impressions-v2", "ccc"): EVAL_RESULTS["eval_trait_mean_ccc"],
    }

    # The widget's static output is what the pipeline says about the shipped example video.
    (widget,) = data.widget
    assert widget["src"] == f"https://huggingface.co/{REPO_ID}/resolve/main/examples/{EXAMPLE_NAME}"
    expected = analyze(str(exported / "examples" / EXAMPLE_NAME))["emotions"]
    assert [w["label"] for w in widget["output"]] == [e["label"] for e in expected]
    assert [w["score"] for w in widget["output"]] == pytest.approx([e["score"] for e in expected], abs=1e-4)


def test_face_fusion_card_text_states_data_metrics_use_and_limits(exported):
    text = (exported / "README.md").read_text()
    assert "{{" not in text and "}}" not in text
    for phrase in ("CMU-MOSEI", "First Impressions V2", "not a psychological assessment", "Out-of-scope use",
                   "Limitations and biases", "CC BY-NC 4.0", f'model="{REPO_ID}"', "0.5123", "0.3456"):
        assert phrase in text, phrase


def test_exported_repos_work_from_a_hub_cache_without_the_project(
    exported, exported_parts, space, analyze, videos, tmp_path
):
    """The user's view: repo ids in an offline HF cache, a process that cannot import this project. The Space's
    app.py is imported there too, from the Space folder alone."""
    hf_home = tmp_path / "hf_home"
    plant_in_hf_cache(exported, REPO_ID, hf_home / "hub")
    for repo, folder in exported_parts.items():
        plant_in_hf_cache(folder, f"org/{repo}", hf_home / "hub")
    code = f"""
import json, torch
from transformers import AutoModel, AutoModelForImageClassification, AutoProcessor, pipeline
model = AutoModel.from_pretrained({REPO_ID!r}, trust_remote_code=True)
processor = AutoProcessor.from_pretrained({REPO_ID!r}, trust_remote_code=True)
features = processor({str(videos["moving"])!r}, return_tensors="pt")
with torch.no_grad():
    direct = model(pixel_values=features["pixel_values"][None], attention_mask=features["attention_mask"][None])
analyze = pipeline(model={REPO_ID!r}, trust_remote_code=True)  # the task comes from the repo's config
result = analyze({str(videos["moving"])!r}, timeline_window=3)
parts = {{repo: type(AutoModel.from_pretrained("org/" + repo, trust_remote_code=True)).__name__
          for repo in ("mosei-emotion-transformer", "fiv2-trait-transformer")}}
parts["emonext-base"] = type(AutoModelForImageClassification.from_pretrained(
    "org/emonext-base", trust_remote_code=True)).__name__
import sys
sys.path.insert(0, {str(space)!r})
import app
print("RESULT" + json.dumps({{
    "classes": [type(model).__module__, type(model).__name__, type(processor).__name__, type(analyze).__name__],
    "direct": direct.emotion_probs[0].tolist(), "pipeline": result, "parts": parts,
    "space_files": [app.__file__, sys.modules["modeling"].__file__]}}))
"""
    # fp32 there as here (the `analyze` fixture): on a CPU with native bf16, "auto" would compare bf16 with fp32
    env = {"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1", "FACE_FUSION_PRECISION": "fp32"}
    run = run_clean_python(code, env=env)
    assert run.returncode == 0, run.stderr[-4000:]
    report = json.loads(run.stdout.rsplit("RESULT", 1)[1])

    module, model_class, processor_class, pipeline_class = report["classes"]
    assert module.startswith("transformers_modules.") and model_class == "FaceFusionModel"
    assert (processor_class, pipeline_class) == ("FaceVideoProcessor", "FaceVideoAnalysisPipeline")
    assert all(path.startswith(str(space)) for path in report["space_files"])
    assert report["parts"] == {"mosei-emotion-transformer": "EmotionTransformerModel",
                               "fiv2-trait-transformer": "TraitTransformerModel",
                               "emonext-base": "EmoNeXtForImageClassification"}

    local = analyze(str(videos["moving"]), timeline_window=3)
    remote = report["pipeline"]
    assert remote["frames"] == local["frames"] and remote["video"] == local["video"]
    assert [e["label"] for e in remote["emotions"]] == [e["label"] for e in local["emotions"]]
    assert [e["score"] for e in remote["emotions"]] == pytest.approx([e["score"] for e in local["emotions"]], abs=1e-5)
    assert list(remote["traits"].values()) == pytest.approx(list(local["traits"].values()), abs=1e-5)
    assert len(remote["timeline"]) == len(local["timeline"])
    assert remote["model"]["name_or_path"] == REPO_ID
    assert re.fullmatch(r"[0-9a-f]{40}", remote["model"]["revision"])  # the cached commit it was loaded from
    by_label = {e["label"]: e["score"] for e in remote["emotions"]}
    labels = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise"]
    # The pipeline runs the embedder channels_last: the same float32 sums in another order, hence not 1e-5.
    assert [by_label[label] for label in labels] == pytest.approx(report["direct"], abs=1e-4)


# ----------------------------------------------------------------------------------------------- the three parts


def test_part_cards(exported_parts):
    emonext = ModelCard.load(exported_parts["emonext-base"] / "README.md").data
    assert (emonext.pipeline_tag, emonext.base_model) == ("image-classification", "timm/convnext_base.fb_in1k")
    assert emonext.base_model_relation == "finetune" and "arxiv:2501.08199" in emonext.tags
    assert emonext.eval_results is None  # its run had no eval_results.json
    assert "No evaluation results" in (exported_parts["emonext-base"] / "README.md").read_text()

    emotion = ModelCard.load(exported_parts["mosei-emotion-transformer"] / "README.md").data
    assert {(r.dataset_split, r.metric_type): r.metric_value for r in emotion.eval_results} == {
        ("test", "f1"): 0.55, ("test", "accuracy"): 0.61, ("validation", "f1"): 0.57}
    assert emotion.datasets == ["cmu-mosei", "org/mosei-emonext"]  # the table the run trained on is linked
    emotion_text = (exported_parts["mosei-emotion-transformer"] / "README.md").read_text()
    assert "| `learning_rate` | `0.0003` |" in emotion_text and "| `seed` | `7` |" in emotion_text
    traits = ModelCard.load(exported_parts["fiv2-trait-transformer"] / "README.md").data
    assert traits.datasets == ["first-impressions-v2"] and traits.library_name == "transformers"
    # They take embeddings, which no pipeline task describes: `other` keeps the Hub from promising one.
    assert emotion.pipeline_tag == traits.pipeline_tag == "other"
    for folder in exported_parts.values():
        text = (folder / "README.md").read_text()
        assert "{{" not in text and "Out-of-scope use" in text and "model.safetensors" in set(files_of(folder))


def test_a_model_of_another_kind_is_refused(part_dirs, tmp_path):
    with pytest.raises(ExportError) as error:
        export_model_repo("fiv2-trait-transformer", part_dirs["mosei-emotion-transformer"], tmp_path / "out")
    assert_one_sentence(str(error.value), "emotion-transformer", "trait-transformer")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------------- CLI


def test_cli_help():
    run = run_cli("--help")
    assert run.returncode == 0 and "--model_dir" in run.stdout and "--push" in run.stdout


def test_cli_bad_input_is_one_sentence_and_exit_code_2(tmp_path, part_dirs):
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text("{}")
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    for name in ("config.json", "model.safetensors"):
        (pickled / name).write_bytes((part_dirs["fiv2-trait-transformer"] / name).read_bytes())
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04pickled")
    not_empty = tmp_path / "not-empty"
    not_empty.mkdir()
    (not_empty / "keep.txt").write_text("mine")

    out = ("--output_dir", str(tmp_path / "o"))
    cases = {
        ("unknown-repo", "--model_dir", str(pickled), *out): "invalid choice",
        ("face-fusion", *out): "--model_dir",
        ("face-fusion", "--model_dir", str(tmp_path / "nowhere"), *out): "not a folder",
        ("face-fusion", "--model_dir", str(no_weights), *out): "no .safetensors",
        ("fiv2-trait-transformer", "--model_dir", str(pickled), *out): "pytorch_model.bin",
        ("fiv2-trait-transformer", "--model_dir", str(pickled), "--output_dir", str(not_empty)): "--overwrite",
        ("face-fusion", "--model_dir", str(pickled), *out, "--push"): "--repo_id",
        ("space", *out, "--revision", "main"): "commit hash",
    }
    for args, words in cases.items():
        run = run_cli(*args)
        assert run.returncode == 2, (args, run.stderr)
        assert run.stdout == "" and run.stderr.count("\n") == 1, (args, run.stderr)
        assert_one_sentence(run.stderr.strip(), words)
    assert (not_empty / "keep.txt").read_text() == "mine" and not (tmp_path / "o").exists()


# -------------------------------------------------------------------------------------------------------- upload


def test_cli_push_uploads_the_exported_repo(fusion_dir, tmp_path):
    with StandInHub() as hub:
        env = hub.client_env(tmp_path / "hf_home")
        run = run_cli("face-fusion", "--model_dir", str(fusion_dir), "--output_dir", str(tmp_path / "out"),
                      "--repo_id", REPO_ID, "--push", env=env)
        assert run.returncode == 0, run.stderr[-3000:]
        repo = hub.repos[("model", REPO_ID)]
        assert repo.files == files_of(tmp_path / "out")
        assert len(repo.commits) == 1 and hub.authorizations == {"Bearer hf_standin"}
        # Weights and the video went the LFS way, the rest inline in the commit.
        assert set(hub.lfs_objects) and len(hub.lfs_objects) == 2
    assert f"Pushed {tmp_path / 'out'} to {REPO_ID}" in run.stdout


def test_publish_and_space_push_go_through_the_same_upload(part_dirs, space, monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # the suite runs offline; this talks to 127.0.0.1 only
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    from training.export_hub import push_model_folder

    with StandInHub() as hub:
        url = publish("mosei-emotion-transformer", part_dirs["mosei-emotion-transformer"], "org/emotions",
                      token="hf_trainer", endpoint=hub.endpoint)
        push_model_folder(space, "org/face-fusion-demo", token="hf_trainer", endpoint=hub.endpoint,
                          repo_type="space", space_sdk="gradio")
        model_files = hub.repos[("model", "org/emotions")].files
        space_repo = hub.repos[("space", "org/face-fusion-demo")]
    assert url.startswith(hub.endpoint)
    assert {"config.json", "model.safetensors", "README.md", "eval_results.json"} <= set(model_files)
    assert 'from_pretrained("org/emotions"' in model_files["README.md"].decode()  # the card names the pushed repo
    assert space_repo.created_with["sdk"] == "gradio"
    assert space_repo.files == files_of(space)


def test_push_to_an_unreachable_hub_is_one_sentence(exported, monkeypatch):
    from training.export_hub import UploadError, push_model_folder

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with StandInHub() as hub:
        endpoint = hub.endpoint
    with pytest.raises(UploadError) as error:  # the server is gone: connection refused
        push_model_folder(exported, REPO_ID, token="hf_x", endpoint=endpoint)
    assert_one_sentence(str(error.value), REPO_ID, "failed")


# --------------------------------------------------------------------------------------------------------- Space


def test_space_folder(space):
    names = set(files_of(space))
    assert {"README.md", "app.py", "requirements.txt", "packages.txt", "hub_configs/face-fusion/config.json"} <= names
    assert {f"modeling/{p.name}" for p in (PROJECT_ROOT / "modeling").glob("*.py")} <= names
    assert {f"webapp/{p.name}" for p in (PROJECT_ROOT / "webapp").glob("*.py")} <= names
    assert not [n for n in names if n.startswith("training/")], "the page imports nothing from training/"
    assert not [n for n in names if n.startswith("tests/") or "__pycache__" in n]

    text = (space / "README.md").read_text()
    metadata = yaml.safe_load(text.split("---")[1])
    assert metadata["sdk"] == "gradio" and metadata["app_file"] == "app.py"
    assert metadata["sdk_version"] == gradio.__version__
    assert metadata["python_version"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert metadata["models"] == [REPO_ID] and metadata["preload_from_hub"] == [REPO_ID]
    assert len(metadata["short_description"]) <= 60 and metadata["title"] and metadata["emoji"]
    assert "not a psychological assessment" in text


def test_space_pinned_to_a_model_commit(tmp_path):
    commit = "0123456789abcdef0123456789abcdef01234567"
    pinned = export_space(tmp_path / "pinned", model_id=REPO_ID, model_revision=commit)
    text = (pinned / "README.md").read_text()
    metadata = yaml.safe_load(text.split("---")[1])
    # The Spaces config reference's form: repo id, the files to fetch (comma-separated), the commit.
    (entry,) = metadata["preload_from_hub"]
    repo, files, revision = entry.split(" ")
    assert (repo, revision) == (REPO_ID, commit)
    assert set(files.split(",")) == {"config.json", "preprocessor_config.json", "model.safetensors"}
    assert f"at commit `{commit}`" in text and "FACE_FUSION_REVISION" in text

    from training.export_hub import space_variables_for

    assert space_variables_for(REPO_ID, commit) == [
        {"key": "FACE_FUSION_MODEL", "value": REPO_ID}, {"key": "FACE_FUSION_REVISION", "value": commit}]
    assert space_variables_for(REPO_ID, None) == [{"key": "FACE_FUSION_MODEL", "value": REPO_ID}]

    with pytest.raises(ExportError) as error:  # a branch moves: it is no pin
        export_space(tmp_path / "branch", model_id=REPO_ID, model_revision="main")
    assert_one_sentence(str(error.value), "'main'", "commit hash")
    assert not (tmp_path / "branch").exists()


def test_space_requirements_cover_every_import_of_its_code(space):
    """Each third-party module the Space's code imports is installed by requirements.txt or comes with gradio."""
    requirements = [
        re.split(r"[<>=!~ ;#\[]", line.strip())[0]
        for line in (space / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    installed = _dependency_closure([*requirements, "gradio"])
    providers = importlib.metadata.packages_distributions()
    local = {p.stem for p in space.glob("*.py")} | {p.name for p in space.iterdir() if p.is_dir()}
    missing = {}
    for path in space.rglob("*.py"):
        for top in _top_level_imports(path):
            if top in sys.stdlib_module_names or top in local or top == "__future__":
                continue
            dists = {_normalise(d) for d in providers.get(top, [])}
            if not dists & installed:
                missing[top] = str(path.relative_to(space))
    assert not missing, f"imported by the Space but not installed by its requirements: {missing}"


def test_space_copies_the_project_modules_app_imports(tmp_path):
    root = tmp_path / "project"
    (root / "helpers").mkdir(parents=True)
    (root / "app.py").write_text("import numpy\nimport helpers.plots\nfrom tools import x\n")
    (root / "helpers" / "__init__.py").write_text("")
    (root / "helpers" / "plots.py").write_text("from . import colours\n")
    (root / "helpers" / "colours.py").write_text("")
    (root / "tools.py").write_text("import json\nimport extra\n")
    (root / "extra.py").write_text("")
    (root / "unused.py").write_text("")
    found = {str(p.relative_to(root)) for p in project_files_for(root / "app.py", root)}
    assert found == {"app.py", "helpers/__init__.py", "helpers/plots.py", "helpers/colours.py", "tools.py", "extra.py"}


def _top_level_imports(path: Path) -> set[str]:
    import ast

    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _dependency_closure(names: list[str]) -> set[str]:
    """Installed distributions `names` pull in (runtime requirements, no extras), from the installed metadata."""
    seen: set[str] = set()
    pending = [_normalise(n) for n in names]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" in requirement:
                continue
            pending.append(_normalise(re.split(r"[<>=!~ ;(\[]", requirement)[0]))
    return seen
