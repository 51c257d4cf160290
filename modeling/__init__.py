"""face-fusion models: `import modeling` registers every config and model with the transformers Auto classes."""

from transformers import AutoConfig, AutoModel, AutoModelForImageClassification
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_emonext import EmoNeXtConfig
from .configuration_face_fusion import FaceFusionConfig
from .configuration_face_transformer import (
    EMOTION_LABELS,
    TRAIT_LABELS,
    EmotionTransformerConfig,
    FaceTransformerConfig,
    TraitTransformerConfig,
)
from .modeling_emonext import EmoNeXtForImageClassification, EmoNeXtModel, EmoNeXtPreTrainedModel
from .modeling_face_fusion import FaceFusionModel, FaceFusionOutput, FaceFusionPreTrainedModel
from .modeling_face_transformer import (
    EmotionTransformerModel,
    FaceTransformerModel,
    FaceTransformerOutput,
    TraitTransformerModel,
)
from .pipeline_face_video import HUB_TASK as FACE_VIDEO_HUB_TASK
from .pipeline_face_video import TASK as FACE_VIDEO_TASK
from .pipeline_face_video import FaceVideoAnalysisPipeline
from .processing_face_video import FaceVideoError, FaceVideoProcessor, NoFaceFoundError, VideoDecodeError


def _register_auto_classes():
    """Local registration (the project importable) and remote-code registration (what `save_pretrained` ships)."""
    for config_class in (EmoNeXtConfig, EmotionTransformerConfig, TraitTransformerConfig, FaceFusionConfig):
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        config_class.register_for_auto_class()
    for config_class, model_class in (
        (EmoNeXtConfig, EmoNeXtModel),
        (EmotionTransformerConfig, EmotionTransformerModel),
        (TraitTransformerConfig, TraitTransformerModel),
        (FaceFusionConfig, FaceFusionModel),
    ):
        AutoModel.register(config_class, model_class, exist_ok=True)
        model_class.register_for_auto_class("AutoModel")
    AutoModelForImageClassification.register(EmoNeXtConfig, EmoNeXtForImageClassification, exist_ok=True)
    EmoNeXtForImageClassification.register_for_auto_class("AutoModelForImageClassification")
    FaceVideoProcessor.register_for_auto_class("AutoProcessor")
    # Only the project's own task name here; the Hub repo's config carries FACE_VIDEO_HUB_TASK (see its comment).
    PIPELINE_REGISTRY.register_pipeline(
        FACE_VIDEO_TASK, pipeline_class=FaceVideoAnalysisPipeline, pt_model=AutoModel, type="video"
    )


_register_auto_classes()

__all__ = [
    "EMOTION_LABELS",
    "TRAIT_LABELS",
    "EmoNeXtConfig",
    "EmoNeXtPreTrainedModel",
    "EmoNeXtModel",
    "EmoNeXtForImageClassification",
    "FaceTransformerConfig",
    "EmotionTransformerConfig",
    "TraitTransformerConfig",
    "FaceTransformerModel",
    "FaceTransformerOutput",
    "EmotionTransformerModel",
    "TraitTransformerModel",
    "FaceFusionConfig",
    "FaceFusionPreTrainedModel",
    "FaceFusionModel",
    "FaceFusionOutput",
    "FaceVideoProcessor",
    "FaceVideoError",
    "VideoDecodeError",
    "NoFaceFoundError",
    "FaceVideoAnalysisPipeline",
    "FACE_VIDEO_TASK",
    "FACE_VIDEO_HUB_TASK",
]
