"""Configuration of FaceFusion, the end-to-end model: EmoNeXt embedder, frozen emotion and trait transformers, and
the cross-attention fusion that predicts emotions and traits together."""

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from .configuration_emonext import EmoNeXtConfig
from .configuration_face_transformer import EmotionTransformerConfig, TraitTransformerConfig


@strict(accept_kwargs=True)
class FaceFusionConfig(PreTrainedConfig):
    r"""
    Composite configuration of [`FaceFusionModel`]. It holds the configurations of its three parts, so one
    `config.json` and one safetensors file restore the whole video-to-prediction model.

    Args:
        embedder_config (`dict` or [`EmoNeXtConfig`], *optional*):
            The face-crop embedder.
        emotion_config (`dict` or [`EmotionTransformerConfig`], *optional*):
            The emotion transformer (frozen inside the fusion model). Its `id2label` names the emotions.
        trait_config (`dict` or [`TraitTransformerConfig`], *optional*):
            The trait transformer (frozen inside the fusion model). Its `id2label` names the traits.
        num_fusion_layers (`int`, *optional*, defaults to 2):
            Encoder layers of each fusion branch.
        num_attention_heads (`int`, *optional*, defaults to 8):
            Heads of the fusion encoders and of the cross-attention.
        intermediate_size (`int`, *optional*, defaults to 2048):
            Feed-forward width of the fusion encoders.
        hidden_dropout_prob (`float`, *optional*, defaults to 0.2):
            Dropout in the fusion layers.
        hidden_act (`str`, *optional*, defaults to `"relu"`):
            Activation of the fusion encoders' feed-forward blocks (`"relu"` or `"gelu"`).
        layer_norm_eps (`float`, *optional*, defaults to 1e-5):
            Epsilon of the fusion encoders' and the cross-attention's layer norms.
        emotion_loss_weight (`float`, *optional*, defaults to 1.0):
            Weight of the emotion loss when a batch carries emotion labels.
        trait_loss_weight (`float`, *optional*, defaults to 1.0):
            Weight of the trait loss when a batch carries trait labels.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the weight initialisation of the fusion layers.

    Example:

    ```python
    >>> from modeling import FaceFusionConfig, FaceFusionModel

    >>> config = FaceFusionConfig()  # EmoNeXt-Base, 30 frames, 1024-d embeddings, 512-wide transformers
    >>> config.emotion_config.id2label[4]
    'happiness'
    ```
    """

    model_type = "face-fusion"
    sub_configs_defaults = {
        "embedder_config": EmoNeXtConfig,
        "emotion_config": EmotionTransformerConfig,
        "trait_config": TraitTransformerConfig,
    }

    embedder_config: dict | PreTrainedConfig | None = None
    emotion_config: dict | PreTrainedConfig | None = None
    trait_config: dict | PreTrainedConfig | None = None
    num_fusion_layers: int = 2
    num_attention_heads: int = 8
    intermediate_size: int = 2048
    hidden_dropout_prob: float | int = 0.2
    hidden_act: str = "relu"
    layer_norm_eps: float = 1e-5
    emotion_loss_weight: float | int = 1.0
    trait_loss_weight: float | int = 1.0
    initializer_range: float = 0.02

    @property
    def hidden_size(self) -> int:
        """Width of the fusion branches: that of the two frozen transformers."""
        return self.emotion_config.hidden_size

    @property
    def num_frames(self) -> int:
        """Longest frame sequence the model accepts."""
        return min(self.emotion_config.max_frames, self.trait_config.max_frames)

    def validate_architecture(self):
        """The three parts must agree on sizes."""
        embedding_dim = self.embedder_config.hidden_size
        for name in ("emotion_config", "trait_config"):
            sub_config = getattr(self, name)
            if sub_config.embedding_dim != embedding_dim:
                raise ValueError(
                    f"{name}.embedding_dim ({sub_config.embedding_dim}) differs from the embedder's size "
                    f"({embedding_dim})."
                )
        if self.trait_config.hidden_size != self.emotion_config.hidden_size:
            raise ValueError("the emotion and trait transformers must have the same hidden_size to be fused.")
        if self.hidden_size % self.num_attention_heads != 0:
            raise ValueError(
                f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                f"({self.num_attention_heads})."
            )


__all__ = ["FaceFusionConfig"]
