r"""Assemble a ready-to-push Hugging Face repo folder for one of the `hub_configs/` repos, and optionally push it.

Model repos (emonext-base, mosei-emotion-transformer, fiv2-trait-transformer, face-fusion) get the trained weights as
safetensors, the remote code (so `AutoModel.from_pretrained(..., trust_remote_code=True)` works without this project),
the run's `eval_results.json`, and a model card rendered from `hub_configs/<repo>/README.md` with the measured metrics
in `model-index` and the run's hyperparameters. Each card's "Use this model" snippet (built by the Hub from
`pipeline_tag` and `library_name`) runs:

* face-fusion: its `FaceVideoProcessor` (`preprocessor_config.json`), the face-video-analysis pipeline registered in
  config.json's `custom_pipelines` under `video-classification` (its pipeline_tag), an Inference Endpoints
  `handler.py` with the `requirements.txt` it needs, and an example video with the pipeline's output on it as the
  card's widget example;
* emonext-base: a transformers image processor (`preprocessor_config.json`), so the `image-classification` pipeline
  runs on a face photo, and such a photo with the model's scores as the widget example;
* the sequence transformers take embeddings, which no pipeline does: `pipeline_tag: other`, and AutoModel code.

The Space (`space`) gets the project's `app.py` and the project modules it imports (`webapp/`, `modeling/`), plus
`hub_configs/space/`'s README (Space YAML), requirements.txt and packages.txt.

Usage:
    python training/export_hub.py face-fusion --model_dir runs/fusion --output_dir hub/face-fusion \
        --repo_id org/face-fusion [--datasets org/mosei-emonext org/fiv2-emonext] [--push] [--token hf_...]
    python training/export_hub.py space --output_dir hub/space --model_id org/face-fusion \
        [--model_revision COMMIT] [--push --repo_id org/face-fusion-demo]

Trainers' `--push_to_hub` calls `publish(...)`, which runs the same export and the same upload.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from training.cli import ArgumentParser, HubPushError, UserError, first_line, run_cli

PROG = "export_hub.py"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
HUB_CONFIGS = PROJECT_ROOT / "hub_configs"
MODEL_REPOS = ("emonext-base", "mosei-emotion-transformer", "fiv2-trait-transformer", "face-fusion")
SPACE = "space"
DEFAULT_NAMESPACE = "org"
# Anything that loads by unpickling: refused, the Hub repos carry safetensors only.
PICKLED_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# Keys that legitimately differ between a trained config and the production template in hub_configs/.
_CONFIG_KEYS_NOT_COMPARED = {"architectures", "id2label", "label2id", "transformers_version", "dtype", "auto_map",
                             "class_weights", "use_pretrained_backbone", "custom_pipelines", "_name_or_path"}
SPACE_FILES = ("requirements.txt", "packages.txt")
# Files of hub_configs/face-fusion/ shipped as they are: the Inference Endpoints handler and its requirements.
FACE_FUSION_FILES = ("handler.py", "requirements.txt")
# What a model repo's card tells users to install beyond transformers (the packages its remote code imports).
INSTALL_LINES = {
    "emonext-base": "pip install transformers timm",
    "mosei-emotion-transformer": "pip install transformers torch",
    "fiv2-trait-transformer": "pip install transformers torch",
    "face-fusion": "pip install transformers timm opencv-python decord av pillow face-alignment",
}
# Papers on arXiv the repo builds on (the Hub links a model to a paper page through an `arxiv:` tag).
ARXIV_IDS = {"emonext-base": ("2501.08199",), "face-fusion": ("2501.08199",)}
# What the Space preloads from a pinned model commit: what app.py reads from the model repo.
SPACE_PRELOAD_FILES = ("config.json", "preprocessor_config.json", "model.safetensors")
# Data files app.py reads (its untrained fallback architecture), copied into the Space beside the code.
SPACE_DATA_FILES = ("hub_configs/face-fusion/config.json",)


class ExportError(UserError):
    """Input the export cannot use; the message is one sentence naming what is wrong."""


class UploadError(HubPushError):
    """The Hub (or the network) refused or failed an upload; the message is one sentence (exit code 1)."""


# ---------------------------------------------------------------------------------------------------- model repos


def check_model_dir(model_dir: str | Path) -> Path:
    """A trainer's output folder that can be exported: config.json and safetensors weights, nothing pickled.

    Raises:
        ExportError: Missing folder, no config.json, no .safetensors file, or a pickled weight file present.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ExportError(f"--model_dir {model_dir} is not a folder.")
    if not (model_dir / "config.json").is_file():
        raise ExportError(f"{model_dir} has no config.json, so it is not a save_pretrained folder.")
    pickled = sorted(p.name for p in model_dir.iterdir() if p.suffix in PICKLED_WEIGHT_SUFFIXES)
    if pickled:
        raise ExportError(
            f"{model_dir} holds {', '.join(pickled)}: only safetensors weights are exported, so re-save the model "
            "with save_pretrained and remove the pickled files."
        )
    if not any(model_dir.glob("*.safetensors")):
        raise ExportError(f"{model_dir} has no .safetensors weights to export.")
    return model_dir


def load_trained_model(repo: str, model_dir: str | Path):
    """The model saved in `model_dir`, as the class its config names, after checking it belongs in `repo`.

    Raises:
        ExportError: The folder is unusable, or holds another kind of model than `repo` publishes.
    """
    model_dir = check_model_dir(model_dir)  # before the slow imports: bad input fails at once
    from transformers import AutoConfig, AutoModel

    import modeling  # registers the configs and models with the Auto classes

    expected_type = json.loads((HUB_CONFIGS / repo / "config.json").read_text())["model_type"]
    try:
        config = AutoConfig.from_pretrained(model_dir)
    except (OSError, ValueError, KeyError) as error:
        raise ExportError(f"{model_dir}/config.json could not be loaded ({first_line(error)}).") from error
    if config.model_type != expected_type:
        raise ExportError(
            f"{model_dir} holds a {config.model_type!r} model but {repo} publishes {expected_type!r} models."
        )
    architecture = (config.architectures or [None])[0]
    model_class = getattr(modeling, architecture, None) if architecture else None
    model_class = model_class or AutoModel
    try:
        model = model_class.from_pretrained(model_dir, use_safetensors=True)
    except (OSError, ValueError, RuntimeError) as error:
        raise ExportError(f"the weights in {model_dir} could not be loaded ({first_line(error)}).") from error
    _note_architecture_differences(repo, config)
    return model.eval()


def export_model_repo(
    repo: str,
    model_dir: str | Path,
    output_dir: str | Path,
    repo_id: str | None = None,
    overwrite: bool = False,
    dataset_ids: list[str] | None = None,
) -> Path:
    """Write the Hub repo folder of `repo` (one of MODEL_REPOS) from a trained `model_dir` into `output_dir`.

    The folder is built beside `output_dir` and moved into place at the end, so an interrupted export never
    leaves a folder that looks complete.

    Args:
        repo: Which `hub_configs/` repo.
        model_dir: A trainer's `--output_dir` (save_pretrained folder, optional `eval_results.json`, and for
            face-fusion an optional `preprocessor_config.json`).
        output_dir: Where the repo folder goes.
        repo_id: The Hub id the card names (default `org/<repo>`).
        overwrite: Replace an existing non-empty `output_dir`.
        dataset_ids: Hub ids of the training tables the card links (default: the Hub ids the run recorded).

    Returns:
        `output_dir`.

    Raises:
        ExportError: Bad input (see `check_model_dir`, `load_trained_model`), or `output_dir` in the way.
    """
    if repo not in MODEL_REPOS:
        raise ExportError(f"{repo!r} is not a model repo; choose one of {', '.join(MODEL_REPOS)}.")
    output_dir = _check_output_dir(output_dir, overwrite)
    repo_id = repo_id or f"{DEFAULT_NAMESPACE}/{repo}"
    model = load_trained_model(repo, model_dir)
    model_dir = Path(model_dir)
    from training.model_card import training_section

    with _staging_dir(output_dir) as build:
        values = _card_values(repo, repo_id, model)
        widget = None
        if repo == "face-fusion":
            widget, values["example_section"] = _save_face_fusion(model, model_dir, build, repo_id)
        elif repo == "emonext-base":
            widget, values["example_section"] = _save_emonext(model, build, repo_id)
        else:
            model.save_pretrained(build)
        eval_results = _copy_eval_results(model_dir, build)
        run = _run_record(model_dir)
        values["training_section"] = training_section(run)
        extra = {"datasets": dataset_ids or hub_dataset_ids(run)}
        (build / "README.md").write_text(_render_model_card(repo, model, values, eval_results, widget, extra))
    return output_dir


def _save_face_fusion(model, model_dir: Path, build: Path, repo_id: str) -> tuple[list[dict], str]:
    """Model + processor + pipeline code + endpoint handler, and the example video with its output; returns
    (widget, card section)."""
    from transformers import AutoModel
    from transformers.pipelines import PIPELINE_REGISTRY

    from modeling.pipeline_face_video import HUB_TASK, TASK, FaceVideoAnalysisPipeline, load_processor_for
    from modeling.processing_face_video import FaceVideoProcessor
    from webapp.example_clips import EXAMPLE_NAME, EXAMPLE_TITLE, write_example_video

    if TASK not in PIPELINE_REGISTRY.supported_tasks:  # `import modeling` registers it once the package does
        PIPELINE_REGISTRY.register_pipeline(
            TASK, pipeline_class=FaceVideoAnalysisPipeline, pt_model=AutoModel, type="video"
        )
    FaceVideoProcessor.register_for_auto_class("AutoProcessor")
    processor = load_processor_for(model)  # model_dir's preprocessor_config.json, else sized from the config
    pipe = FaceVideoAnalysisPipeline(model=model, processor=processor, task=TASK, device=-1)
    # save_pretrained names the `custom_pipelines` key after this mapping; on this one object (not the class, which
    # the local registry shares) it is the Hub task, so the card's `pipeline("video-classification", ...)` finds it.
    pipe._registered_impl = {HUB_TASK: PIPELINE_REGISTRY.supported_tasks[TASK]}
    pipe.save_pretrained(build)  # weights, remote code, and `custom_pipelines` in config.json
    processor.save_pretrained(build)  # preprocessor_config.json with its AutoProcessor auto_map
    for name in FACE_FUSION_FILES:
        shutil.copyfile(HUB_CONFIGS / "face-fusion" / name, build / name)

    example = write_example_video(build / "examples" / EXAMPLE_NAME)
    result = pipe(str(example))
    scores = [{"label": item["label"], "score": round(item["score"], 4)} for item in result["emotions"]]
    widget = [{"src": _resolve_url(repo_id, f"examples/{EXAMPLE_NAME}"), "example_title": EXAMPLE_TITLE,
               "output": scores}]
    video = result["video"]
    section = "\n".join([
        f"Output of this checkpoint on [`examples/{EXAMPLE_NAME}`](examples/{EXAMPLE_NAME}), computed when this repo "
        f"was exported (a face was found on {video['faces_found']} of {video['num_frames_sampled']} sampled frames):",
        "",
        "| Emotion | Probability |",
        "|---|---|",
        *(f"| {item['label']} | {item['score']:.4f} |" for item in scores),
        "",
        "| Trait | Score |",
        "|---|---|",
        *(f"| {name} | {value:.4f} |" for name, value in result["traits"].items()),
    ])
    return widget, section


def _save_emonext(model, build: Path, repo_id: str) -> tuple[list[dict] | None, str]:
    """Model + its image processor, and (for the classifier) the example face photo with its scores."""
    from transformers import ViTImageProcessor, pipeline

    from modeling.processing_face_video import IMAGENET_MEAN, IMAGENET_STD
    from training.example_image import EXAMPLE_IMAGE_NAME, EXAMPLE_IMAGE_TITLE, write_example_image

    size = model.config.image_size
    # What the embedder was trained on: a face crop resized to a square, RGB, scaled to [0, 1], ImageNet mean/std.
    image_processor = ViTImageProcessor(
        size={"height": size, "width": size}, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD, do_convert_rgb=True
    )
    model.save_pretrained(build)
    image_processor.save_pretrained(build)
    if type(model).__name__ != "EmoNeXtForImageClassification":
        return None, "This checkpoint is the embedder alone: it gives embeddings, not scores, so it has no example."
    example = write_example_image(build / "examples" / EXAMPLE_IMAGE_NAME)
    classify = pipeline("image-classification", model=model, image_processor=image_processor, device="cpu")
    result = classify(str(example), top_k=model.config.num_labels)
    scores = [{"label": item["label"], "score": round(item["score"], 4)} for item in result]
    widget = [{"src": _resolve_url(repo_id, f"examples/{EXAMPLE_IMAGE_NAME}"), "example_title": EXAMPLE_IMAGE_TITLE,
               "output": scores}]
    section = "\n".join([
        f"Scores of this checkpoint on [`examples/{EXAMPLE_IMAGE_NAME}`](examples/{EXAMPLE_IMAGE_NAME}), computed "
        "when this repo was exported:",
        "",
        "| Expression | Probability |",
        "|---|---|",
        *(f"| {item['label']} | {item['score']:.4f} |" for item in scores),
    ])
    return widget, section


def _resolve_url(repo_id: str, filename: str) -> str:
    """Where the Hub serves a file of the repo (the widget format wants a URL; the file itself is in the repo)."""
    return f"https://huggingface.co/{repo_id}/resolve/main/{filename}"


def _card_values(repo: str, repo_id: str, model) -> dict[str, str]:
    """Placeholder values every template may use."""
    import transformers

    config = model.config
    embedder = getattr(config, "embedder_config", config if config.model_type == "emonext" else None)
    num_frames = getattr(config, "num_frames", None) or getattr(config, "max_frames", None)
    return {
        "repo_id": repo_id,
        "backbone": embedder.backbone.split(".")[0] if embedder is not None else "n/a",
        "embedding_dim": str(embedder.hidden_size if embedder is not None else getattr(config, "embedding_dim", "n/a")),
        "namespace": repo_id.split("/")[0],
        "model_name": repo_id.split("/")[-1],
        "parameters": _human_count(sum(p.numel() for p in model.parameters())),
        "num_frames": str(num_frames) if num_frames else "n/a",
        "image_size": str(embedder.image_size) if embedder is not None else "n/a",
        "transformers_version": transformers.__version__,
        "example_section": "",
        "install_line": INSTALL_LINES[repo],
    }


def _render_model_card(repo: str, model, values: dict[str, str], eval_results, widget, extra: dict) -> str:
    from training.model_card import REPO_TASKS, render_card

    overrides = {}
    if model.config.model_type == "emonext" and type(model).__name__ == "EmoNeXtModel":
        overrides["pipeline_tag"] = "image-feature-extraction"  # the embedder alone, without its FER head
    template_path = HUB_CONFIGS / repo / "README.md"
    return render_card(
        template_path.read_text(encoding="utf-8"),
        values,
        model_name=values["model_name"],
        tasks=REPO_TASKS[repo],
        eval_results=eval_results,
        widget=widget,
        metadata_overrides=overrides,
        metadata_additions=hub_metadata(repo, extra["datasets"]),
        source=str(template_path.relative_to(PROJECT_ROOT)),
    )


def hub_metadata(repo: str, dataset_ids: list[str]) -> dict[str, list[str]]:
    """Metadata list entries the export adds to the template's: the papers as `arxiv:` tags (the Hub links the paper
    pages from them) and the training tables' Hub ids."""
    return {"tags": [f"arxiv:{paper}" for paper in ARXIV_IDS.get(repo, ())], "datasets": list(dataset_ids)}


def hub_dataset_ids(run: dict[str, Any]) -> list[str]:
    """The run's training tables that are Hub dataset ids (`namespace/name`), not local folders."""
    ids = []
    for key in ("dataset", "emotion_dataset", "trait_dataset"):
        value = run.get(key)
        if isinstance(value, str) and re.fullmatch(r"[\w.-]+/[\w.-]+", value) and not Path(value).exists():
            ids.append(value)
    return ids


def _run_record(model_dir: Path) -> dict[str, Any]:
    """The `run` part of the run's eval_results.json (hyperparameters and provenance), or {}."""
    try:
        run = json.loads((model_dir / "eval_results.json").read_text()).get("run")
    except (OSError, ValueError, AttributeError):
        return {}
    return run if isinstance(run, dict) else {}


def _copy_eval_results(model_dir: Path, build: Path):
    from training.model_card import EvalResults

    source = model_dir / "eval_results.json"
    if not source.is_file():
        print(f"note: {model_dir} has no eval_results.json; the card will say no metrics were measured.",
              file=sys.stderr)
        return EvalResults()
    results = EvalResults.read(source)
    shutil.copyfile(source, build / "eval_results.json")
    return results


def _note_architecture_differences(repo: str, config) -> None:
    """Tell (not refuse) when a model differs from the production architecture the repo is meant to hold."""
    reference = _flatten(json.loads((HUB_CONFIGS / repo / "config.json").read_text()))
    actual = _flatten(config.to_dict())
    differing = sorted(key for key, value in reference.items() if key in actual and actual[key] != value)
    if differing:
        print(
            f"note: this model differs from hub_configs/{repo}/config.json in {', '.join(differing[:8])}"
            f"{' and more' if len(differing) > 8 else ''}.",
            file=sys.stderr,
        )


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in config.items():
        if key in _CONFIG_KEYS_NOT_COMPARED:
            continue
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# ---------------------------------------------------------------------------------------------------------- Space


def export_space(
    output_dir: str | Path,
    model_id: str = f"{DEFAULT_NAMESPACE}/face-fusion",
    project_root: str | Path = PROJECT_ROOT,
    overwrite: bool = False,
    model_revision: str | None = None,
) -> Path:
    """Write the Gradio Space folder: README (Space YAML), requirements, packages, app.py, the project code it
    imports and the data files it reads (`SPACE_DATA_FILES`).

    Args:
        output_dir: Where the Space folder goes.
        model_id: The face-fusion model repo the Space serves (`models:` and `preload_from_hub:` in its YAML).
        project_root: Where app.py and the packages it imports live.
        overwrite: Replace an existing non-empty `output_dir`.
        model_revision: The model repo commit the Space serves: `preload_from_hub` downloads the files app.py reads
            at that commit, and the Space variable `FACE_FUSION_REVISION` (see `space_variables_for`) makes app.py load
            it. None: the repo's main branch, unpinned.

    Returns:
        `output_dir`.

    Raises:
        ExportError: No app.py in the project, `output_dir` in the way, or a revision that is not a commit hash.
    """
    import gradio

    from training.model_card import fill_placeholders, split_front_matter

    project_root = Path(project_root)
    if not (project_root / "app.py").is_file():
        raise ExportError(f"{project_root} has no app.py, the Space's entry point.")
    output_dir = _check_output_dir(output_dir, overwrite)
    template_path = HUB_CONFIGS / SPACE / "README.md"
    if model_revision is not None and not re.fullmatch(r"[0-9a-f]{40}", model_revision):
        raise ExportError(
            f"--model_revision {model_revision!r} is not a commit hash (40 hex digits); a branch or tag is no pin."
        )
    values = {
        "model_id": model_id,
        "preload_entry": space_preload_entry(model_id, model_revision),
        "revision_text": f"at commit `{model_revision}`" if model_revision else "at its latest commit on `main`",
        "sdk_version": gradio.__version__,
        "python_version": f"{sys.version_info.major}.{sys.version_info.minor}",
    }
    readme = fill_placeholders(template_path.read_text(encoding="utf-8"), values, str(template_path))
    split_front_matter(readme, str(template_path))  # fail here, not on the Hub, if the YAML is broken
    with _staging_dir(output_dir) as build:
        (build / "README.md").write_text(readme, encoding="utf-8")
        for name in SPACE_FILES:
            shutil.copyfile(HUB_CONFIGS / SPACE / name, build / name)
        data_files = [project_root / name for name in SPACE_DATA_FILES if (project_root / name).is_file()]
        for source in [*project_files_for(project_root / "app.py", project_root), *data_files]:
            target = build / source.relative_to(project_root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return output_dir


def space_preload_entry(model_id: str, model_revision: str | None) -> str:
    """A `preload_from_hub` line: `repo_id files commit` when pinned (the Spaces config reference's form), else the
    whole repo at main."""
    if model_revision is None:
        return model_id
    return f"{model_id} {','.join(SPACE_PRELOAD_FILES)} {model_revision}"


def space_variables_for(model_id: str, model_revision: str | None) -> list[dict[str, str]]:
    """The Space variables app.py reads: which model, and at which commit."""
    variables = [{"key": "FACE_FUSION_MODEL", "value": model_id}]
    if model_revision is not None:
        variables.append({"key": "FACE_FUSION_REVISION", "value": model_revision})
    return variables


def project_files_for(entry: Path, project_root: Path) -> list[Path]:
    """`entry` and every project file it imports, followed through their own (absolute and relative) imports,
    with the `__init__.py` of each package on the way. Third-party imports are left to requirements.txt."""
    needed: set[Path] = set()
    pending = [entry]
    while pending:
        path = pending.pop()
        if path in needed:
            continue
        needed.add(path)
        for module in _imported_modules(path, project_root):
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):  # the module and every package above it
                found = _module_file(project_root, parts[:depth])
                if found is not None:
                    pending.append(found)
    return sorted(needed)


def _module_file(project_root: Path, parts: list[str]) -> Path | None:
    """The project file of a dotted module name, or None for a third-party (or missing) module."""
    base = project_root.joinpath(*parts)
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imported_modules(path: Path, project_root: Path) -> Iterable[str]:
    """Dotted names of the modules a Python file imports, relative imports resolved against its package; for
    `from package import name` both `package` and `package.name` (which may be a submodule) are given."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = list(path.relative_to(project_root).parent.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - (node.level - 1)]
                base = ".".join([*anchor, *(node.module.split(".") if node.module else [])])
            else:
                base = node.module or ""
            if base:
                yield base
            yield from (f"{base}.{alias.name}" for alias in node.names if base)


# ------------------------------------------------------------------------------------------------------- upload


def push_model_folder(
    folder: str | Path,
    repo_id: str,
    token: str | None = None,
    endpoint: str | None = None,
    private: bool = False,
    repo_type: str = "model",
    space_sdk: str | None = None,
    space_variables: list[dict[str, str]] | None = None,
    commit_message: str = "Upload from face-fusion training/export_hub.py",
) -> str:
    """Create `repo_id` if needed and upload `folder` as one commit.

    Args:
        folder: An exported repo folder.
        repo_id: "namespace/name".
        token: A write token (default: the logged-in one, or `HF_TOKEN`).
        endpoint: The Hub URL (default: `HF_ENDPOINT`, else huggingface.co).
        private: Create the repo private (an existing repo keeps its visibility).
        repo_type: "model" or "space".
        space_sdk: For Spaces, the SDK ("gradio").
        space_variables: For a new Space, environment variables (`[{"key": ..., "value": ...}]`).
        commit_message: The commit's title.

    Returns:
        The URL of the commit.

    Raises:
        ExportError: Offline mode, an invalid repo id, or an upload the Hub refused or could not receive.
    """
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, OfflineModeIsEnabled

    if constants.HF_HUB_OFFLINE:
        raise ExportError("cannot upload while HF_HUB_OFFLINE=1 is set; unset it to push.")
    folder = Path(folder)
    if not (folder / "README.md").is_file():
        raise ExportError(f"{folder} is not an exported repo folder (it has no README.md).")
    api = HfApi(endpoint=endpoint, token=token)
    try:
        api.create_repo(
            repo_id,
            repo_type=repo_type,
            private=private or None,
            exist_ok=True,
            space_sdk=space_sdk,
            space_variables=space_variables,
        )
        commit = api.upload_folder(
            folder_path=str(folder), repo_id=repo_id, repo_type=repo_type, commit_message=commit_message
        )
    except HFValidationError as error:
        raise ExportError(f"{repo_id!r} is not a valid repo id ({first_line(error)}).") from error
    except (HfHubHTTPError, OfflineModeIsEnabled, OSError) as error:
        raise UploadError(f"uploading {folder} to {repo_id} failed: {first_line(error)}.") from error
    except Exception as error:  # httpx's transport errors (unreachable endpoint) are not OSErrors
        if type(error).__module__.startswith(("httpx", "httpcore")):
            raise UploadError(f"uploading {folder} to {repo_id} failed: {first_line(error)}.") from error
        raise
    return str(commit.commit_url)


def publish(
    repo: str,
    model_dir: str | Path,
    repo_id: str,
    token: str | None = None,
    endpoint: str | None = None,
    private: bool = False,
    output_dir: str | Path | None = None,
) -> str:
    """Export `model_dir` as `repo` and push it to `repo_id`: what the trainers' `--push_to_hub` calls.

    Args:
        repo: One of MODEL_REPOS.
        model_dir: The trainer's output folder.
        repo_id: The Hub repo to push to (the trainers' `--hub_model_id`).
        token: A write token.
        endpoint: The Hub URL.
        private: Create the repo private.
        output_dir: Keep the exported folder here (default: a temporary folder, removed after the push).

    Returns:
        The URL of the commit.
    """
    if output_dir is not None:
        export_model_repo(repo, model_dir, output_dir, repo_id=repo_id, overwrite=True)
        return push_model_folder(output_dir, repo_id, token=token, endpoint=endpoint, private=private)
    with tempfile.TemporaryDirectory(prefix=f"{repo}-hub-") as folder:
        target = Path(folder) / repo
        export_model_repo(repo, model_dir, target, repo_id=repo_id)
        return push_model_folder(target, repo_id, token=token, endpoint=endpoint, private=private)


# ------------------------------------------------------------------------------------------------------ helpers


def _check_output_dir(output_dir: str | Path, overwrite: bool) -> Path:
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise ExportError(f"--output_dir {output_dir} is a file, not a folder.")
    if output_dir.is_dir() and any(output_dir.iterdir()) and not overwrite:
        raise ExportError(f"--output_dir {output_dir} is not empty; pass --overwrite to replace it.")
    return output_dir


class _staging_dir:
    """A fresh folder beside `target`; on success it replaces `target`, on failure it is removed."""

    def __init__(self, target: Path):
        self.target = target

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.build = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.partial-", dir=self.target.parent))
        self.build.chmod(0o755)  # mkdtemp makes it private; the result is an ordinary shareable folder
        return self.build

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None:
            shutil.rmtree(self.build, ignore_errors=True)
            return
        if self.target.exists():
            shutil.rmtree(self.target)
        self.build.rename(self.target)


def _human_count(count: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return str(count)


# ---------------------------------------------------------------------------------------------------------- CLI


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=PROG,
        description=__doc__.split("\n\n")[0],
        epilog=__doc__[__doc__.index("Usage:"):],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("repo", choices=(*MODEL_REPOS, SPACE), help="which hub_configs/ folder to assemble")
    parser.add_argument("--model_dir", type=Path, help="trained model folder (save_pretrained + eval_results.json)")
    parser.add_argument("--output_dir", type=Path, required=True, help="where the ready-to-push folder is written")
    parser.add_argument("--repo_id", help="Hub id to name in the card and to push to (default org/REPO)")
    parser.add_argument("--model_id", default=f"{DEFAULT_NAMESPACE}/face-fusion",
                        help="space only: the face-fusion model repo the Space serves")
    parser.add_argument("--model_revision", "--revision", dest="model_revision", metavar="COMMIT",
                        help="space only: the model repo commit the Space serves (preload_from_hub pins it)")
    parser.add_argument("--datasets", nargs="+", metavar="ID",
                        help="model repos: Hub ids of the training tables the card links (default: those the run "
                             "recorded)")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --output_dir")
    parser.add_argument("--push", action="store_true", help="upload the folder to --repo_id with huggingface_hub")
    parser.add_argument("--token", help="Hub write token (default: the logged-in token or HF_TOKEN)")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (0 done, 2 bad input, 1 upload failed: `training/cli.py`)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.repo != SPACE and args.model_dir is None:
        parser.error(f"{args.repo} needs --model_dir, the trained model folder")
    if args.push and not args.repo_id:
        parser.error("--push needs --repo_id, the Hub repo to upload to")
    return run_cli(PROG, lambda: export(args))


def export(args: argparse.Namespace) -> None:
    """Assembles the folder, and pushes it with --push."""
    if args.repo == SPACE:
        folder = export_space(args.output_dir, model_id=args.model_id, overwrite=args.overwrite,
                              model_revision=args.model_revision)
    else:
        folder = export_model_repo(args.repo, args.model_dir, args.output_dir, args.repo_id, args.overwrite,
                                   dataset_ids=args.datasets)
    print(f"Wrote {folder}")
    if args.push:
        space = args.repo == SPACE
        url = push_model_folder(
            folder,
            args.repo_id,
            token=args.token,
            private=args.private,
            repo_type="space" if space else "model",
            space_sdk="gradio" if space else None,
            space_variables=space_variables_for(args.model_id, args.model_revision) if space else None,
        )
        print(f"Pushed {folder} to {args.repo_id}: {url}")


if __name__ == "__main__":
    sys.exit(main())
