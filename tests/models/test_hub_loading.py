"""Loading from the Hub, offline: repo ids resolved from a hand-built Hugging Face cache, the production configs in
hub_configs/, and timm's ImageNet weights (`use_pretrained_backbone=True`) planted where timm looks for them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModel

from modeling import EmoNeXtConfig, EmotionTransformerConfig, FaceFusionConfig, FaceFusionModel, TraitTransformerConfig
from tests.hub_cache import PROJECT_ROOT, plant_in_hf_cache, run_clean_python
from tests.models.remote_code import RemoteCase
from tests.models.test_modeling_face_fusion import FaceFusionModelTester

HUB_CONFIGS = PROJECT_ROOT / "hub_configs"
EMOTIONS = ("neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise")
TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")


def remote_cases(root: Path, hf_home: Path) -> dict[str, RemoteCase]:
    """A tiny fusion model planted in the clean process's Hub cache as "org/face-fusion" (run by `remote_results`
    in conftest.py, whose process has HF_HOME=hf_home and HF_HUB_OFFLINE=1)."""
    tester = FaceFusionModelTester()
    model = tester.build(seed=21)
    model.save_pretrained(root / "saved")
    plant_in_hf_cache(root / "saved", "org/face-fusion", hf_home / "hub")
    inputs = {"pixel_values": tester.prepare_pixel_values(), "attention_mask": tester.prepare_attention_mask()}
    with torch.no_grad():
        output = model(**inputs)
    expected = {field: output[field] for field in ("emotion_logits", "emotion_probs", "trait_logits")}
    return {"repo_id": RemoteCase("org/face-fusion", "AutoModel", inputs, expected)}


class TestRepoIdFromOfflineCache:
    """`AutoModel.from_pretrained("org/face-fusion", trust_remote_code=True)` as a user runs it, with the Hub
    replaced by a local cache: a clean process (project not importable), HF_HUB_OFFLINE=1 and HF_HOME only."""

    def test_plant_in_hf_cache_layout(self, tmp_path):
        (tmp_path / "saved").mkdir()
        (tmp_path / "saved" / "config.json").write_text("{}")
        snapshot = plant_in_hf_cache(tmp_path / "saved", "org/face-fusion", tmp_path / "hub")
        repo = tmp_path / "hub" / "models--org--face-fusion"
        assert snapshot.parent == repo / "snapshots"
        assert re.fullmatch("[0-9a-f]{40}", snapshot.name)
        assert (repo / "refs" / "main").read_text() == snapshot.name
        assert (snapshot / "config.json").read_text() == "{}"

    def test_clean_python_cannot_import_the_project(self):
        result = run_clean_python("import os, sys; print(os.environ['PROBE'], sys.path)", env={"PROBE": "seen"})
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith("seen")
        assert repr(str(PROJECT_ROOT)) not in result.stdout  # venv paths below the root may remain
        result = run_clean_python("import modeling")
        assert "ModuleNotFoundError: No module named 'modeling'" in result.stderr

    def test_face_fusion_by_repo_id(self, remote_results):
        result = remote_results["hub/repo_id"]
        result.assert_matches_expected()
        assert result.class_name == "FaceFusionModel"
        assert result.name_or_path == "org/face-fusion"
        # The code came from the planted snapshot (its module is named after the repo id), not from the project.
        assert result.module.startswith("transformers_modules.org.face_hyphen_fusion."), result.module


def hub_config_folders() -> list[Path]:
    return sorted(path.parent for path in HUB_CONFIGS.glob("*/config.json"))


class TestHubConfigs:
    """hub_configs/<repo>/config.json holds the production architecture of each Hub repo."""

    def test_every_model_repo_has_a_config(self):
        names = {folder.name for folder in hub_config_folders()}
        assert {"emonext-base", "mosei-emotion-transformer", "fiv2-trait-transformer", "face-fusion"} <= names

    @pytest.mark.parametrize("folder", hub_config_folders(), ids=lambda folder: folder.name)
    def test_loads_with_auto_config(self, folder):
        config = AutoConfig.from_pretrained(folder)
        expected_type = json.loads((folder / "config.json").read_text())["model_type"]
        assert config.model_type == expected_type
        assert type(config) in (EmoNeXtConfig, EmotionTransformerConfig, TraitTransformerConfig, FaceFusionConfig)

    def test_emonext_base(self):
        config = AutoConfig.from_pretrained(HUB_CONFIGS / "emonext-base")
        assert isinstance(config, EmoNeXtConfig)
        assert config.backbone.split(".")[0] == "convnext_base"
        assert config.hidden_sizes == [128, 256, 512, 1024] and config.hidden_size == 1024
        assert config.depths == [3, 3, 27, 3]
        assert config.image_size == 224
        assert config.use_pretrained_backbone is False  # a published checkpoint carries its own weights
        assert tuple(config.id2label[index] for index in range(7)) == EMOTIONS

    @pytest.mark.parametrize(
        "name, config_class, labels",
        [
            ("mosei-emotion-transformer", EmotionTransformerConfig, EMOTIONS),
            ("fiv2-trait-transformer", TraitTransformerConfig, TRAITS),
        ],
    )
    def test_face_transformers(self, name, config_class, labels):
        config = AutoConfig.from_pretrained(HUB_CONFIGS / name)
        assert isinstance(config, config_class)
        assert config.embedding_dim == 1024
        assert config.max_frames == 30
        assert tuple(config.id2label[index] for index in range(len(labels))) == labels

    def test_face_fusion_matches_its_parts(self):
        config = AutoConfig.from_pretrained(HUB_CONFIGS / "face-fusion")
        assert isinstance(config, FaceFusionConfig)
        assert config.num_frames == 30
        assert config.embedder_config.hidden_size == 1024
        assert config.emotion_config.embedding_dim == config.trait_config.embedding_dim == 1024
        # The composite repo embeds the same architectures as the three standalone repos.
        for sub_config, name in (
            (config.embedder_config, "emonext-base"),
            (config.emotion_config, "mosei-emotion-transformer"),
            (config.trait_config, "fiv2-trait-transformer"),
        ):
            standalone = AutoConfig.from_pretrained(HUB_CONFIGS / name).to_diff_dict()
            embedded = sub_config.to_diff_dict()
            for key in ("architectures", "_name_or_path", "transformers_version", "id2label", "label2id"):
                standalone.pop(key, None)
                embedded.pop(key, None)
            assert embedded == standalone, name

    def test_production_face_fusion_builds_on_the_meta_device(self):
        config = AutoConfig.from_pretrained(HUB_CONFIGS / "face-fusion")
        with torch.device("meta"):
            model = AutoModel.from_config(config)
        assert isinstance(model, FaceFusionModel)
        assert {parameter.device.type for parameter in model.parameters()} == {"meta"}
        embedder_parameters = sum(parameter.numel() for parameter in model.embedder.parameters())
        backbone_parameters = sum(parameter.numel() for parameter in model.embedder.backbone.parameters())
        # timm's convnext_base without its classifier has 87.6 M parameters; STN and SE blocks add about 1 M.
        assert 87.0e6 < backbone_parameters < 88.0e6
        assert 87.0e6 < embedder_parameters < 90.0e6
        assert model.emotion_model.encoder.projection.in_features == 1024


# --- timm's pretrained=True path, offline ------------------------------------------------------------------------

TIMM_REPO = "timm/convnext_atto.d2_in1k"

# Runs with the project importable and HF_HUB_CACHE pointing at the planted cache (read at import time, hence a
# separate process). Each step reports its result or its error, so one failure does not hide the others.
_TIMM_SCRIPT = """
import json, shutil, sys
import torch
from safetensors.torch import save_file
from modeling import EmoNeXtConfig, EmoNeXtModel, EmotionTransformerModel, FaceFusionModel, TraitTransformerModel
from training.testing.tiny_configs import tiny_emotion_config, tiny_trait_config

work, planted_repo = sys.argv[1], sys.argv[2]
report = {}

def step(name, function):
    try:
        report[name] = {"value": function(), "error": None}
    except Exception as error:
        report[name] = {"value": None, "error": f"{type(error).__name__}: {error}"[:500]}

config = EmoNeXtConfig(backbone="convnext_atto.d2_in1k", image_size=32, use_pretrained_backbone=True)
model = EmoNeXtModel(config).eval()
save_file({k: v.contiguous() for k, v in model.backbone.state_dict().items()}, work + "/built_backbone.safetensors")
model.save_pretrained(work + "/saved")
report["saved_use_pretrained_backbone"] = json.load(open(work + "/saved/config.json"))["use_pretrained_backbone"]

# From here on timm's weights are gone: anything that still asks for them fails (offline, not in the cache).
shutil.rmtree(planted_repo)
pixel_values = torch.randn(2, 3, 32, 32)
with torch.no_grad():
    expected = model(pixel_values).pooler_output

def reload():
    reloaded = EmoNeXtModel.from_pretrained(work + "/saved").eval()
    with torch.no_grad():
        return torch.equal(reloaded(pixel_values).pooler_output, expected)

def fuse():
    embedder = EmoNeXtModel.from_pretrained(work + "/saved")
    dim = embedder.config.hidden_size
    emotion = EmotionTransformerModel(tiny_emotion_config(embedding_dim=dim))
    trait = TraitTransformerModel(tiny_trait_config(embedding_dim=dim))
    fusion = FaceFusionModel.from_parts(embedder, emotion, trait, num_fusion_layers=1, num_attention_heads=2)
    return fusion.config.embedder_config.use_pretrained_backbone

step("from_pretrained_outputs_equal", reload)
step("from_parts_use_pretrained_backbone", fuse)
print("REPORT" + json.dumps(report))
"""


def plant_timm_weights(cache_dir: Path, work_dir: Path) -> dict[str, torch.Tensor]:
    """Writes a recognisable (seeded random) convnext_atto checkpoint where timm's `pretrained=True` looks for it."""
    generator = torch.Generator().manual_seed(1234)
    reference = timm.create_model("convnext_atto", pretrained=False).state_dict()
    weights = {name: torch.randn(tensor.shape, generator=generator) for name, tensor in reference.items()}
    folder = work_dir / "convnext_atto.d2_in1k"
    folder.mkdir(parents=True)
    save_file(weights, str(folder / "model.safetensors"))
    plant_in_hf_cache(folder, TIMM_REPO, cache_dir)
    return weights


@pytest.fixture(scope="module")
def timm_offline(tmp_path_factory):
    """Builds an EmoNeXt with use_pretrained_backbone=True against planted timm weights, saves it, removes the
    planted weights and reloads it, all in one subprocess; returns (report, planted weights, built backbone)."""
    work = tmp_path_factory.mktemp("timm-offline")
    cache = work / "hub"
    planted = plant_timm_weights(cache, work)
    env = {key: value for key, value in os.environ.items() if key not in ("HUGGINGFACE_HUB_CACHE", "HF_HOME")}
    env.update(HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE="1", HF_HOME=str(work / "hf_home"), PYTHONPATH=str(PROJECT_ROOT))
    planted_repo = cache / ("models--" + TIMM_REPO.replace("/", "--"))
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_TIMM_SCRIPT), str(work), str(planted_repo)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads(result.stdout.rsplit("REPORT", 1)[1])
    return report, planted, load_file(str(work / "built_backbone.safetensors"))


class TestTimmPretrainedBackboneOffline:
    def test_backbone_gets_the_planted_weights(self, timm_offline):
        _, planted, built = timm_offline
        # timm drops the ImageNet classifier (num_classes=0); everything else is copied.
        assert set(built) == {name for name in planted if not name.startswith("head.fc.")}
        mismatched = [name for name, tensor in built.items() if not torch.equal(tensor, planted[name])]
        assert mismatched == []

    def test_reloading_a_saved_model_does_not_fetch_timm_weights(self, timm_offline):
        report, _, _ = timm_offline
        step = report["from_pretrained_outputs_equal"]
        assert step["error"] is None, step["error"]
        assert step["value"] is True

    def test_saved_config_turns_use_pretrained_backbone_off(self, timm_offline):
        # The saved weights already hold the ImageNet start; a saved True would re-download them whenever the
        # config is built outside from_pretrained (AutoModel.from_config, FaceFusionModel.from_parts).
        report, _, _ = timm_offline
        assert report["saved_use_pretrained_backbone"] is False

    def test_fusion_from_a_saved_embedder_works_offline(self, timm_offline):
        report, _, _ = timm_offline
        step = report["from_parts_use_pretrained_backbone"]
        assert step["error"] is None, step["error"]
        assert step["value"] is False
