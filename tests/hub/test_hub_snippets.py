"""Each exported repo as a Hub user meets it: the "Use this model" code the Hub builds from the card's YAML, the
card's own code blocks, the widget's static outputs and the Inference Endpoints handler, all run in a process that
cannot import the project, against an offline Hugging Face cache holding the exported folders."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from huggingface_hub import ModelCard

from tests.hub.conftest import REPO_ID
from tests.hub_cache import PROJECT_ROOT, plant_in_hf_cache, run_clean_python
from training.example_image import EXAMPLE_IMAGE_NAME
from training.testing.tiny_configs import EMBEDDING_DIM, NUM_FRAMES
from webapp.example_clips import EXAMPLE_NAME

# huggingface.js packages/tasks/src/library-to-tasks.ts, LIBRARY_TASK_MAPPING.transformers: the pipeline tags for which
# the Hub shows a `pipeline(...)` snippet for a transformers model (for any other tag it shows the Auto class only).
TRANSFORMERS_PIPELINE_TAGS = {
    "audio-classification", "automatic-speech-recognition", "depth-estimation", "document-question-answering",
    "feature-extraction", "fill-mask", "image-classification", "image-feature-extraction", "image-segmentation",
    "image-to-image", "image-to-text", "image-text-to-text", "mask-generation", "object-detection",
    "question-answering", "summarization", "table-question-answering", "text-classification", "text-generation",
    "text-to-audio", "text-to-speech", "token-classification", "translation", "video-classification",
    "visual-question-answering", "zero-shot-classification", "zero-shot-image-classification",
    "zero-shot-object-detection",
}
# The image the Hub's image-classification snippet calls the pipeline on; offline, the repo's own photo stands in.
HUB_SAMPLE_IMAGE = "https://huggingface.co/datasets/huggingface/documentation-images/resolve/main/hub/parrots.png"
PARTS = ("emonext-base", "mosei-emotion-transformer", "fiv2-trait-transformer")


def hub_snippets(repo_id: str, folder: Path) -> list[str]:
    """The transformers snippets the Hub shows for a repo, as huggingface.js `model-libraries-snippets.ts`
    (`transformers`) builds them: a pipeline snippet when the pipeline_tag has one, then the Auto-class snippet."""
    data = ModelCard.load(folder / "README.md").data
    assert data.library_name == "transformers"
    remote = ", trust_remote_code=True" if "custom_code" in (data.tags or []) else ""
    snippets = []
    if data.pipeline_tag in TRANSFORMERS_PIPELINE_TAGS:
        lines = ["from transformers import pipeline", "",
                 f'pipe = pipeline("{data.pipeline_tag}", model="{repo_id}"{remote})']
        if data.pipeline_tag == "image-classification":
            lines.append(f'pipe("{HUB_SAMPLE_IMAGE}")')
        snippets.append("\n".join(lines))
    auto_map = json.loads((folder / "config.json").read_text())["auto_map"]
    auto_model = max((key for key in auto_map if key.startswith("AutoModel")), key=len)  # the most specific head
    snippets.append("\n".join([
        f"from transformers import {auto_model}",
        f'model = {auto_model}.from_pretrained("{repo_id}"{remote}, device_map="auto")',
    ]))
    return snippets


def card_code_blocks(folder: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (folder / "README.md").read_text(), flags=re.DOTALL)


def readme_from_python_blocks() -> list[str]:
    """The project README's "From Python" code, sized for the tiny test models (30 frames of 1024-d embeddings in
    production, NUM_FRAMES of EMBEDDING_DIM here)."""
    text = (PROJECT_ROOT / "README.md").read_text()
    section = text.split("### From Python", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    tiny = {"(1, 30, 1024)": f"(1, {NUM_FRAMES}, {EMBEDDING_DIM})", "(1, 30,": f"(1, {NUM_FRAMES},"}
    for production, test in tiny.items():
        blocks = [block.replace(production, test) for block in blocks]
    return blocks


@pytest.fixture(scope="module")
def exported_embedder(tmp_path_factory) -> Path:
    """emonext-base exported from the embedder alone (EmoNeXtModel, no expression head)."""
    import torch

    from modeling import EmoNeXtModel
    from training.export_hub import export_model_repo
    from training.testing.tiny_configs import tiny_emonext_config

    torch.manual_seed(0)
    run = tmp_path_factory.mktemp("embedder-run")
    EmoNeXtModel(tiny_emonext_config()).eval().save_pretrained(run)
    return export_model_repo("emonext-base", run, tmp_path_factory.mktemp("embedder") / "out", "org/emonext-embedder")


@pytest.fixture(scope="module")
def hub_home(exported, exported_parts, exported_embedder, tmp_path_factory) -> Path:
    """HF_HOME whose offline cache holds the four exported repos under their ids, and the embedder-only export."""
    hf_home = tmp_path_factory.mktemp("hf_home")
    plant_in_hf_cache(exported, REPO_ID, hf_home / "hub")
    for repo, folder in exported_parts.items():
        plant_in_hf_cache(folder, f"org/{repo}", hf_home / "hub")
    plant_in_hf_cache(exported_embedder, "org/emonext-embedder", hf_home / "hub")
    return hf_home


def run_snippets(cases: dict[str, str], hf_home: Path, work_dir: Path) -> dict[str, dict]:
    """Runs each case's code in its own namespace, all in one clean process (from `work_dir`), and returns what each
    left in its `report` variable, or its error."""
    program = f"""
import json, os, traceback
os.chdir({str(work_dir)!r})
cases = json.loads({json.dumps(cases)!r})
reports = {{}}
for name, code in cases.items():
    space = {{}}
    try:
        exec(code, space)
        reports[name] = {{"report": space.get("report"), "error": None}}
    except Exception as error:
        reports[name] = {{"report": None, "error": f"{{type(error).__name__}}: {{error}}"[:800]}}
print("REPORTS" + json.dumps(reports, default=str))
"""
    run = run_clean_python(program, env={"HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(run.stdout.rsplit("REPORTS", 1)[1])


@pytest.fixture(scope="module")
def snippet_runs(exported, exported_parts, exported_embedder, hub_home, tmp_path_factory) -> dict[str, dict]:
    """Every repo's Hub snippets and card code blocks, run in one clean process; each case adds a `report` line."""
    work = tmp_path_factory.mktemp("snippet-work")
    (work / "clip.mp4").write_bytes((exported / "examples" / EXAMPLE_NAME).read_bytes())  # the cards' file names
    photo = exported_parts["emonext-base"] / "examples" / EXAMPLE_IMAGE_NAME
    (work / "face.jpg").write_bytes(photo.read_bytes())

    cases = {}
    fusion_pipe, fusion_auto = hub_snippets(REPO_ID, exported)
    cases["face-fusion/hub-pipeline"] = fusion_pipe + (
        "\nresult = pipe('clip.mp4')"
        "\nreport = {'class': type(pipe).__name__, 'module': type(pipe).__module__, 'emotions': result['emotions']}"
    )
    cases["face-fusion/no-task"] = (
        f"from transformers import pipeline\npipe = pipeline(model={REPO_ID!r}, trust_remote_code=True)\n"
        "report = {'class': type(pipe).__name__, 'task': pipe.task}"
    )
    cases["face-fusion/hub-auto"] = fusion_auto + "\nreport = {'class': type(model).__name__}"
    for index, block in enumerate(card_code_blocks(exported)):
        cases[f"face-fusion/card-{index}"] = block + "\nreport = 'ran'"

    emonext = exported_parts["emonext-base"]
    emonext_pipe, emonext_auto = hub_snippets("org/emonext-base", emonext)
    assert HUB_SAMPLE_IMAGE in emonext_pipe
    cases["emonext-base/hub-pipeline"] = emonext_pipe.replace(HUB_SAMPLE_IMAGE, "face.jpg").replace(
        'pipe("face.jpg")', 'top = pipe("face.jpg")'
    ) + "\nreport = {'top': top, 'all': pipe('face.jpg', top_k=7)}"
    cases["emonext-base/hub-auto"] = emonext_auto + "\nreport = {'class': type(model).__name__}"
    for index, block in enumerate(card_code_blocks(emonext)):
        cases[f"emonext-base/card-{index}"] = block + "\nreport = 'ran'"
    embedder_pipe, _ = hub_snippets("org/emonext-embedder", exported_embedder)
    cases["emonext-embedder/hub-pipeline"] = embedder_pipe + (
        "\nimport numpy as np\nreport = {'shape': list(np.array(pipe('face.jpg')).shape)}")

    for repo in PARTS[1:]:
        snippets = hub_snippets(f"org/{repo}", exported_parts[repo])
        assert len(snippets) == 1, f"{repo}: the Hub would show a pipeline snippet that cannot run"
        cases[f"{repo}/hub-auto"] = snippets[0] + "\nreport = {'class': type(model).__name__}"
        for index, block in enumerate(card_code_blocks(exported_parts[repo])):
            cases[f"{repo}/card-{index}"] = block + "\nreport = 'ran'"
    for index, block in enumerate(readme_from_python_blocks()):
        cases[f"README/from-python-{index}"] = block + "\nreport = 'ran'"
    return run_snippets(cases, hub_home, work)


def test_every_snippet_and_card_block_runs_in_a_clean_process(snippet_runs):
    failed = {name: run["error"] for name, run in snippet_runs.items() if run["error"]}
    assert not failed, failed
    assert sum(name.startswith("face-fusion/card-") for name in snippet_runs) == 2
    assert sum(name.startswith("emonext-base/card-") for name in snippet_runs) == 2
    assert all(f"{repo}/card-0" in snippet_runs for repo in PARTS[1:])
    assert sum(name.startswith("README/from-python-") for name in snippet_runs) == 2


def test_face_fusion_video_classification_is_its_own_pipeline(snippet_runs, exported):
    hub = snippet_runs["face-fusion/hub-pipeline"]["report"]
    assert hub["class"] == "FaceVideoAnalysisPipeline"
    assert hub["module"].startswith("transformers_modules."), hub["module"]  # the repo's code, not the project's
    no_task = snippet_runs["face-fusion/no-task"]["report"]
    assert no_task == {"class": "FaceVideoAnalysisPipeline", "task": "video-classification"}
    assert snippet_runs["face-fusion/hub-auto"]["report"] == {"class": "FaceFusionModel"}

    # The card's widget output is what a fresh run of the repo's own pipeline says about the repo's own example.
    (widget,) = ModelCard.load(exported / "README.md").data.widget
    assert [w["label"] for w in widget["output"]] == [e["label"] for e in hub["emotions"]]
    assert [w["score"] for w in widget["output"]] == pytest.approx([e["score"] for e in hub["emotions"]], abs=1e-4)


def test_emonext_image_classification_scores_the_seven_expressions(snippet_runs, exported_parts):
    report = snippet_runs["emonext-base/hub-pipeline"]["report"]
    labels = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise"]
    assert sorted(item["label"] for item in report["all"]) == sorted(labels)
    assert sum(item["score"] for item in report["all"]) == pytest.approx(1.0, abs=1e-4)
    assert report["top"] == report["all"][:5]  # the Hub's snippet, with the pipeline's default top_k
    assert snippet_runs["emonext-base/hub-auto"]["report"] == {"class": "EmoNeXtForImageClassification"}

    folder = exported_parts["emonext-base"]
    (widget,) = ModelCard.load(folder / "README.md").data.widget
    assert widget["src"] == f"https://huggingface.co/org/emonext-base/resolve/main/examples/{EXAMPLE_IMAGE_NAME}"
    assert (folder / "examples" / EXAMPLE_IMAGE_NAME).is_file()
    assert [w["label"] for w in widget["output"]] == [item["label"] for item in report["all"]]
    assert [w["score"] for w in widget["output"]] == pytest.approx([i["score"] for i in report["all"]], abs=1e-4)
    processor = json.loads((folder / "preprocessor_config.json").read_text())
    assert processor["size"] == {"height": 32, "width": 32}  # the tiny model's image_size
    assert processor["image_mean"] == [0.485, 0.456, 0.406] and processor["image_std"] == [0.229, 0.224, 0.225]


def test_the_embedder_alone_extracts_image_features(snippet_runs, exported_embedder):
    assert ModelCard.load(exported_embedder / "README.md").data.pipeline_tag == "image-feature-extraction"
    assert getattr(ModelCard.load(exported_embedder / "README.md").data, "widget", None) is None  # no scores
    shape = snippet_runs["emonext-embedder/hub-pipeline"]["report"]["shape"]
    assert shape[0] == 1 and EMBEDDING_DIM in shape, shape  # one image, its EMBEDDING_DIM-channel features


def test_sequence_transformers_promise_no_pipeline(snippet_runs):
    assert snippet_runs["mosei-emotion-transformer/hub-auto"]["report"] == {"class": "EmotionTransformerModel"}
    assert snippet_runs["fiv2-trait-transformer/hub-auto"]["report"] == {"class": "TraitTransformerModel"}


def test_install_lines_cover_what_the_remote_code_imports(exported, exported_parts):
    """The card's `pip install` line (and face-fusion's requirements.txt) name every third-party package the repo's
    own .py files import, torch and transformers aside."""
    from tests.hub.test_export_hub import _top_level_imports

    import_names = {"cv2": "opencv-python", "PIL": "pillow", "face_alignment": "face-alignment"}
    folders = {"face-fusion": exported, **exported_parts}
    for repo, folder in folders.items():
        (install,) = re.findall(r"```bash\n(pip install [^\n]*)\n```", (folder / "README.md").read_text())
        named = set(install.split()[2:])
        imported = set().union(*(_top_level_imports(path) for path in folder.glob("*.py")))
        needed = {import_names.get(name, name) for name in imported if name in {
            "timm", "cv2", "decord", "av", "PIL", "face_alignment", "numpy", "torch", "transformers"}}
        assert needed - {"numpy", "torch", "transformers"} <= named, (repo, needed, named)
    requirements = (exported / "requirements.txt").read_text()
    for package in ("timm", "opencv-python", "decord", "av", "face-alignment"):
        assert re.search(rf"^{package}\b", requirements, flags=re.MULTILINE), package


# ----------------------------------------------------------------------------------------- Inference Endpoints


def test_endpoint_handler_answers_bytes_base64_and_bad_payloads(exported, hub_home, tmp_path):
    """`EndpointHandler(path)` as Inference Endpoints runs it: the repo folder on disk, the handler imported from it."""
    clip = exported / "examples" / EXAMPLE_NAME
    encoded = base64.b64encode(clip.read_bytes()).decode()
    program = f"""
import base64, json, sys
sys.path.insert(0, {str(exported)!r})
from handler import EndpointHandler
handler = EndpointHandler({str(exported)!r})
video = open({str(clip)!r}, "rb").read()
answers = {{
    "bytes": handler({{"inputs": video, "parameters": {{"timeline_window": 3}}}}),
    "base64": handler({{"inputs": {encoded!r}}}),
    "not_base64": handler({{"inputs": "this is not a video"}}),
    "not_a_video": handler({{"inputs": b"plain text, not a video at all"}}),
    "no_inputs": handler({{"parameters": {{}}}}),
    "unknown_option": handler({{"inputs": video, "parameters": {{"colour": "blue"}}}}),
    "crops": handler({{"inputs": video, "parameters": {{"return_face_crops": True}}}}),
}}
print("ANSWERS" + json.dumps(answers))
"""
    run = run_clean_python(program, env={"HF_HOME": str(hub_home), "HF_HUB_OFFLINE": "1"})
    assert run.returncode == 0, run.stderr[-4000:]
    answers = json.loads(run.stdout.rsplit("ANSWERS", 1)[1])

    from_bytes, from_base64 = answers["bytes"], answers["base64"]
    assert "error" not in from_bytes and "error" not in from_base64
    assert [e["label"] for e in from_bytes["emotions"]] == [e["label"] for e in from_base64["emotions"]]
    assert from_bytes["traits"] == pytest.approx(from_base64["traits"])
    assert len(from_bytes["timeline"]) > 0 and from_bytes["video"]["faces_found"] > 0
    assert from_bytes["precision"] in ("fp32", "bf16")
    (widget,) = ModelCard.load(exported / "README.md").data.widget  # the export's own run on the same clip
    assert [w["score"] for w in widget["output"]] == pytest.approx(
        [e["score"] for e in from_base64["emotions"]], abs=1e-4)

    for name in ("not_base64", "not_a_video", "no_inputs", "unknown_option", "crops"):
        answer = answers[name]
        assert list(answer) == ["error"], (name, answer)
        message = answer["error"]
        assert "\n" not in message and "Traceback" not in message and message.endswith("."), (name, message)
    assert "base64" in answers["not_base64"]["error"]
    assert "colour" in answers["unknown_option"]["error"]
