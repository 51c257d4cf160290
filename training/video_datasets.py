"""Where the videos of CMU-MOSEI and First Impressions V2 live on disk, and how a list of them becomes face crops.

Folder layouts (those of the original extraction scripts):

* CMU-MOSEI: ``--split train`` reads ``<base>/train/*.mp4``; ``dev`` and ``test`` read
  ``<base>/test_full/<split>/*.mp4``.
* First Impressions V2: ``<base>/<split>/<folder>/*.mp4`` with split ``train``, ``val`` or ``test`` and folders such
  as ``training80_01`` (the 75 inner zips of the training set). Videos lying directly in ``<base>/<split>/`` are
  taken too when no ``--folders`` are named.

Every container the decoders read is taken, whatever the case of its extension (``VIDEO_EXTENSIONS``: ``.mp4 .m4v
.mov .mkv .webm .avi .mpg .mpeg .wmv .flv .3gp .ts``); every other file is listed as skipped, with the reason, so the
failure log can say so.
A video's id is its file name without the extension (FIV2 ids look like ``J4GQm9j0JZ0.003``).

``VideoCropDataset`` is a torch ``Dataset`` over such a list whose items are the processor's face crops (or the
reason there are none), so a ``DataLoader`` can decode and detect in worker processes while the model embeds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from modeling.processing_face_video import FaceVideoError, FaceVideoProcessor
from modeling.video_decoding import VIDEO_EXTENSIONS
from training.cli import UserError, first_line

DATASET_SPLITS = {"cmu-mosei": ("train", "dev", "test"), "fiv2": ("train", "val", "test")}


class VideoLayoutError(UserError):
    """The dataset folder does not have the expected layout; the message is one sentence."""


@dataclass(frozen=True)
class VideoFile:
    """One video to extract.

    Attributes:
        video_id: The file name without its extension; the table's key.
        path: The file.
        folder: FIV2's sub-folder (``training80_01``), or None.
    """

    video_id: str
    path: Path
    folder: str | None = None


def split_directory(dataset: str, base_path: Path, split: str) -> Path:
    """The folder holding one split's videos (or, for FIV2, its sub-folders)."""
    if dataset not in DATASET_SPLITS:
        raise VideoLayoutError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASET_SPLITS)}.")
    if split not in DATASET_SPLITS[dataset]:
        raise VideoLayoutError(
            f"{dataset} has no split {split!r}; expected one of {', '.join(DATASET_SPLITS[dataset])}."
        )
    if dataset == "cmu-mosei" and split != "train":
        return Path(base_path) / "test_full" / split
    return Path(base_path) / split


@dataclass(frozen=True)
class SkippedFile:
    """A file in a split's folders that is not taken as a video.

    Attributes:
        path: The file.
        reason: Why, as the end of a sentence ("not a video file: .txt is not one of .mp4, ...").
    """

    path: Path
    reason: str


@dataclass
class SplitFiles:
    """Every file found in one split's folders: the videos (sorted by id) and the files skipped."""

    videos: list[VideoFile]
    skipped: list[SkippedFile]


def list_videos(dataset: str, base_path: str | Path, split: str, folders: list[str] | None = None) -> list[VideoFile]:
    """All videos of one split, sorted by video id (``list_split_files`` without the skipped files)."""
    return list_split_files(dataset, base_path, split, folders).videos


def list_split_files(
    dataset: str, base_path: str | Path, split: str, folders: list[str] | None = None
) -> SplitFiles:
    """All files of one split: the videos, sorted by video id, and the other files with the reason each is skipped.

    Args:
        dataset: ``cmu-mosei`` or ``fiv2``.
        base_path: The dataset's root folder.
        split: ``train``/``dev``/``test`` (CMU-MOSEI) or ``train``/``val``/``test`` (FIV2).
        folders: FIV2 only: the sub-folders to read (default: every sub-folder, plus videos lying in the split
            folder itself).

    Returns:
        The videos (every file with one of ``VIDEO_EXTENSIONS``, in any case) and the skipped files.

    Raises:
        VideoLayoutError: A missing folder, no video at all, or two files with the same id.
    """
    base_path = Path(base_path)
    if not base_path.is_dir():
        raise VideoLayoutError(f"--base_path {base_path} is not a folder.")
    directory = split_directory(dataset, base_path, split)
    if not directory.is_dir():
        raise VideoLayoutError(f"{directory} does not exist, but the {dataset} {split} videos are read from there.")
    if folders and dataset != "fiv2":
        raise VideoLayoutError("--folders is for First Impressions V2 (--dataset fiv2) only.")

    if dataset == "fiv2":
        if folders:
            missing = [name for name in folders if not (directory / name).is_dir()]
            if missing:
                raise VideoLayoutError(f"{directory} has no sub-folder {', '.join(missing)}.")
            sources = [(directory / name, name) for name in dict.fromkeys(folders)]
        else:
            sources = [(directory, None)] + [(d, d.name) for d in sorted(directory.iterdir()) if d.is_dir()]
    else:
        sources = [(directory, None)]

    videos: dict[str, VideoFile] = {}
    skipped: list[SkippedFile] = []
    for source, folder in sources:
        for path in sorted(source.iterdir()):
            if not path.is_file():
                continue
            if path.suffix.lower() not in VIDEO_EXTENSIONS:
                kind = f"{path.suffix} is" if path.suffix else "a file without an extension is"
                skipped.append(SkippedFile(path, f"not a video file ({kind} not one of {', '.join(VIDEO_EXTENSIONS)})"))
                continue
            video = VideoFile(path.stem, path, folder)
            if video.video_id in videos:
                raise VideoLayoutError(
                    f"video id {video.video_id!r} is both {videos[video.video_id].path} and {path}; ids must be unique."
                )
            videos[video.video_id] = video
    if not videos:
        where = f"{directory} or its sub-folders" if dataset == "fiv2" and not folders else directory
        if folders:
            where = ", ".join(str(directory / name) for name in folders)
        others = f" ({len(skipped)} other file(s) there)" if skipped else ""
        raise VideoLayoutError(f"no video file ({', '.join(VIDEO_EXTENSIONS)}) found in {where}{others}.")
    return SplitFiles([videos[key] for key in sorted(videos)], skipped)


def share_of_process(videos: list[VideoFile], process_index: int, num_processes: int) -> list[VideoFile]:
    """The videos one of ``num_processes`` processes extracts: every ``num_processes``-th, from ``process_index``.

    Interleaving (rather than contiguous blocks) keeps the shares within one video of each other even when a
    resumed run has only a few videos left.
    """
    if not 0 <= process_index < num_processes:
        raise ValueError(f"process_index {process_index} is not in [0, {num_processes}).")
    return videos[process_index::num_processes]


@dataclass
class VideoCrops:
    """The face crops of one video, or why it has none.

    Attributes:
        video: The video.
        crops: (T, S, S, 3) uint8 RGB crops, or None on failure.
        face_found: (T,) bool, True where the face was detected (elsewhere the nearest detection's box was used).
        error: The processor's one-sentence reason, or None.
        error_type: The exception's class name (``VideoDecodeError``, ``NoFaceFoundError``, ...), or None.
        retry: True for an unexpected error (not the processor's verdict on the file): a rerun tries the video again.
        seconds: Time spent per stage: ``decode``, ``detect``, ``crop``.
    """

    video: VideoFile
    crops: torch.Tensor | None = None
    face_found: np.ndarray | None = None
    error: str | None = None
    error_type: str | None = None
    retry: bool = False
    seconds: dict[str, float] = field(default_factory=dict)
    others: list[VideoCrops] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.crops is not None

    def rows(self) -> list[VideoCrops]:
        """This item, then (with people="all") every other person's, each keyed `<video_id>#<person_id>`."""
        return [self, *self.others]


PERSON_SEPARATOR = "#"  # people="all": a person's row id is <video_id>#<person_id>


def person_row_id(video_id: str, person_id: int) -> str:
    return f"{video_id}{PERSON_SEPARATOR}{person_id}"


def video_of_row(row_id: str) -> str:
    """The video id of a table row: the row id itself, or the part before `#<person_id>` (people="all")."""
    video_id, separator, person = row_id.rpartition(PERSON_SEPARATOR)
    return video_id if separator and person.isdigit() else row_id


def face_crops(processor: FaceVideoProcessor, video: VideoFile, people: str = "main") -> VideoCrops:
    """Runs the processor's stages on one video and times each (what ``processor(video)`` does, without normalising).

    Crops stay uint8 until they are batched for the model: a quarter of the memory of float pixels. With
    ``people="all"`` every person the processor keeps gets their own item (main person first, the others in
    ``others``), keyed ``<video_id>#<person_id>``.

    Raises:
        FaceVideoError: The video cannot be decoded or shows no face.
    """
    starts = {}
    faces = processor.extract_faces(
        video.path, people=people, on_stage=lambda stage: starts.setdefault(stage, time.perf_counter())
    )
    end = time.perf_counter()
    seconds = {
        "decode": starts["faces"] - starts["decode"],
        "detect": starts["crop"] - starts["faces"],
        "crop": end - starts["crop"],
    }
    if people == "main":
        return VideoCrops(video, torch.from_numpy(faces["crops"]), faces["face_found"], seconds=seconds)
    items = [
        VideoCrops(
            replace(video, video_id=person_row_id(video.video_id, person["person_id"])),
            torch.from_numpy(person["crops"]),
            person["face_found"],
        )
        for person in faces["people"]
    ]
    items[0].seconds, items[0].others = seconds, items[1:]
    return items[0]


class VideoCropDataset(torch.utils.data.Dataset):
    """Videos in, ``VideoCrops`` out; a video that cannot be used comes out with its reason instead of raising.

    Args:
        videos: The videos, in the order they are to be extracted.
        processor: The face processor (its detector is built lazily in each worker).
        people: "main" (one row per video) or "all" (one row per person, `<video_id>#<person_id>`).
    """

    def __init__(self, videos: list[VideoFile], processor: FaceVideoProcessor, people: str = "main"):
        self.videos = videos
        self.processor = processor
        self.people = people

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> VideoCrops:
        video = self.videos[index]
        try:
            return face_crops(self.processor, video, self.people)
        except FaceVideoError as error:
            return VideoCrops(video, error=str(error), error_type=type(error).__name__)
        except Exception as error:  # noqa: BLE001 - one odd file must not end a run over thousands; it is logged
            return VideoCrops(
                video, error=f"{video.path.name}: unexpected {type(error).__name__}: {first_line(error)}.",
                error_type=type(error).__name__, retry=True,
            )


def keep_items(items: list) -> list:
    """DataLoader ``collate_fn`` that hands a batch of ``VideoCrops`` over as the list it is."""
    return items
