"""Configuration of EmoNeXt, the face-crop embedder: a timm ConvNeXt with a spatial transformer in front,
squeeze-excitation after each downsampling convolution and a self-attention regulariser in the training loss."""

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from .configuration_face_transformer import EMOTION_LABELS

# Stage depths and widths of timm's ConvNeXt variants (EmoNeXt's paper uses tiny to xlarge).
CONVNEXT_ARCHITECTURES = {
    "convnext_atto": ((2, 2, 6, 2), (40, 80, 160, 320)),
    "convnext_femto": ((2, 2, 6, 2), (48, 96, 192, 384)),
    "convnext_pico": ((2, 2, 6, 2), (64, 128, 256, 512)),
    "convnext_nano": ((2, 2, 8, 2), (80, 160, 320, 640)),
    "convnext_tiny": ((3, 3, 9, 3), (96, 192, 384, 768)),
    "convnext_small": ((3, 3, 27, 3), (96, 192, 384, 768)),
    "convnext_base": ((3, 3, 27, 3), (128, 256, 512, 1024)),
    "convnext_large": ((3, 3, 27, 3), (192, 384, 768, 1536)),
    "convnext_xlarge": ((3, 3, 27, 3), (256, 512, 1024, 2048)),
}


@strict(accept_kwargs=True)
class EmoNeXtConfig(PreTrainedConfig):
    r"""
    Configuration of [`EmoNeXtModel`] and [`EmoNeXtForImageClassification`].

    Args:
        backbone (`str`, *optional*, defaults to `"convnext_base.fb_in1k"`):
            timm model name (with an optional pretrained tag) of the ConvNeXt backbone: `convnext_tiny`, `_small`,
            `_base`, `_large`, `_xlarge` (or the small `_atto`.. `_nano` variants).
        depths (`list[int]`, *optional*):
            Blocks per stage. Defaults to the backbone's own; set it (with `hidden_sizes`) for a custom size.
        hidden_sizes (`list[int]`, *optional*):
            Channels per stage. The last one is the embedding size (`hidden_size`, 1024 for base).
        image_size (`int`, *optional*, defaults to 224):
            Side of the square input crops. The spatial transformer's localisation head is sized for it.
        num_channels (`int`, *optional*, defaults to 3):
            Input channels (RGB).
        drop_path_rate (`float`, *optional*, defaults to 0.1):
            Stochastic depth of the backbone (only active in training).
        se_reduction (`int`, *optional*, defaults to 16):
            Channel reduction of the squeeze-excitation blocks.
        stn_hidden_size (`int`, *optional*, defaults to 32):
            Width of the spatial transformer's regression head.
        label_smoothing (`float`, *optional*, defaults to 0.2):
            Label smoothing of the classification cross-entropy.
        attention_loss_weight (`float`, *optional*, defaults to 1.0):
            Weight of the self-attention regulariser (variance of the batch attention weights) added to the loss.
        use_pretrained_backbone (`bool`, *optional*, defaults to `False`):
            Load timm's ImageNet weights into the backbone when the model is built from this config (the start of a
            training run). Saved checkpoints carry their own weights and keep this off.
        initializer_range (`float`, *optional*, defaults to 0.02):
            Standard deviation of the truncated-normal initialisation of new layers.

    Example:

    ```python
    >>> from modeling import EmoNeXtConfig, EmoNeXtModel

    >>> config = EmoNeXtConfig(
    ...     backbone="convnext_atto", depths=[1, 1, 1, 1], hidden_sizes=[8, 16, 32, 64], image_size=32
    ... )
    >>> model = EmoNeXtModel(config)
    >>> model.config.hidden_size
    64
    ```
    """

    model_type = "emonext"

    backbone: str = "convnext_base.fb_in1k"
    depths: list[int] | tuple[int, ...] | None = None
    hidden_sizes: list[int] | tuple[int, ...] | None = None
    image_size: int = 224
    num_channels: int = 3
    drop_path_rate: float | int = 0.1
    se_reduction: int = 16
    stn_hidden_size: int = 32
    label_smoothing: float | int = 0.2
    attention_loss_weight: float | int = 1.0
    use_pretrained_backbone: bool = False
    initializer_range: float = 0.02

    def __post_init__(self, **kwargs):
        architecture = self.backbone.split(".")[0]
        default_depths, default_hidden_sizes = CONVNEXT_ARCHITECTURES.get(architecture, (None, None))
        self.depths = list(self.depths if self.depths is not None else default_depths or ())
        self.hidden_sizes = list(self.hidden_sizes if self.hidden_sizes is not None else default_hidden_sizes or ())
        if self.id2label is None:
            self.id2label = dict(enumerate(EMOTION_LABELS))
        super().__post_init__(**kwargs)

    @property
    def hidden_size(self) -> int:
        """Size of the pooled face embedding."""
        return self.hidden_sizes[-1]

    def validate_architecture(self):
        """Fails early on a backbone whose stage sizes are unknown."""
        if len(self.depths) != 4 or len(self.hidden_sizes) != 4:
            raise ValueError(
                f"backbone {self.backbone!r} is not a known ConvNeXt; give its four `depths` and `hidden_sizes`."
            )


__all__ = ["EmoNeXtConfig"]
