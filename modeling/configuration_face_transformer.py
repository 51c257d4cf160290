"""Configurations of the face-sequence transformers: the emotion (CMU-MOSEI) and trait (First Impressions V2) models."""

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

EMOTION_LABELS = ("neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise")
TRAIT_LABELS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")


@strict(accept_kwargs=True)
class FaceTransformerConfig(PreTrainedConfig):
    r"""
    Shared configuration of the face-sequence transformer family: a sequence of per-frame face embeddings is
    projected, given learned positions, passed through post-LN encoder layers, mean-pooled over the frames that hold
    a face, and read out by a linear head. The concrete checkpoints are [`EmotionTransformerConfig`] and
    [`TraitTransformerConfig`]; the head size comes from `id2label`.

    Args:
        embedding_dim (`int`, *optional*, defaults to 1024):
            Size of each frame embedding (EmoNeXt-Base gives 1024).
        hidden_size (`int`, *optional*, defaults to 512):
            Width of the encoder.
        num_hidden_layers (`int`, *optional*, defaults to 3):
            Number of encoder layers.
        num_attention_heads (`int`, *optional*, defaults to 8):
            Attention heads per layer.
        intermediate_size (`int`, *optional*, defaults to 2048):
            Width of the feed-forward block.
        hidden_dropout_prob (`float`, *optional*, defaults to 0.2):
            Dropout in the encoder and before the head.
        hidden_act (`str`, *optional*, defaults to `"relu"`):
            Activation of the feed-forward block (`"relu"` or `"gelu"`).
        max_frames (`int`, *optional*, defaults to 30):
            Number of learned positions, i.e. the longest frame sequence the model accepts.
        layer_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon of the encoder's layer norms.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the truncated-normal weight initialisation.
    """

    model_type = "face-transformer"

    embedding_dim: int = 1024
    hidden_size: int = 512
    num_hidden_layers: int = 3
    num_attention_heads: int = 8
    intermediate_size: int = 2048
    hidden_dropout_prob: float | int = 0.2
    hidden_act: str = "relu"
    max_frames: int = 30
    layer_norm_eps: float = 1e-5
    initializer_range: float = 0.02

    def validate_architecture(self):
        """Fails early on a width the attention heads cannot split."""
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads})."
            )


@strict(accept_kwargs=True)
class EmotionTransformerConfig(FaceTransformerConfig):
    r"""
    Configuration of [`EmotionTransformerModel`]: predicts a 7-way emotion distribution (CMU-MOSEI) in the order
    `neutral, anger, disgust, fear, happiness, sadness, surprise`, trained with a class-weighted KL divergence.

    Args:
        class_weights (`list[float]`, *optional*):
            One weight per emotion for the KL loss. `None` weighs every class 1; the trainer derives weights from the
            training split's class frequencies when none are given.
        kwargs:
            See [`FaceTransformerConfig`].

    Example:

    ```python
    >>> from modeling import EmotionTransformerConfig, EmotionTransformerModel

    >>> config = EmotionTransformerConfig(embedding_dim=16, hidden_size=8, num_hidden_layers=1, num_attention_heads=2)
    >>> model = EmotionTransformerModel(config)
    >>> model.config.id2label[0]
    'neutral'
    ```
    """

    model_type = "emotion-transformer"

    class_weights: list[float | int] | None = None

    def __post_init__(self, **kwargs):
        if self.id2label is None:
            self.id2label = dict(enumerate(EMOTION_LABELS))
        if self.class_weights is not None:
            self.class_weights = [float(weight) for weight in self.class_weights]
        super().__post_init__(**kwargs)

    def validate_architecture(self):
        super().validate_architecture()
        if self.class_weights is not None and len(self.class_weights) != len(self.id2label):
            raise ValueError(
                f"class_weights has {len(self.class_weights)} entries but the model predicts {len(self.id2label)} "
                "emotions."
            )


@strict(accept_kwargs=True)
class TraitTransformerConfig(FaceTransformerConfig):
    r"""
    Configuration of [`TraitTransformerModel`]: regresses the five apparent-personality (OCEAN) traits of First
    Impressions V2, each in [0, 1], in the order `openness, conscientiousness, extraversion, agreeableness,
    neuroticism`, trained with mean squared error.

    Args:
        kwargs:
            See [`FaceTransformerConfig`].
    """

    model_type = "trait-transformer"

    def __post_init__(self, **kwargs):
        if self.id2label is None:
            self.id2label = dict(enumerate(TRAIT_LABELS))
        if self.problem_type is None:
            self.problem_type = "regression"
        super().__post_init__(**kwargs)


__all__ = [
    "EMOTION_LABELS",
    "TRAIT_LABELS",
    "FaceTransformerConfig",
    "EmotionTransformerConfig",
    "TraitTransformerConfig",
]
