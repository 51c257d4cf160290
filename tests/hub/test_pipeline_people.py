"""people="all": every person of a real-photo clip analysed on their own frames, most prominent first."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from modeling.face_detection import box_iou
from training.testing.photo_faces import two_people_presence
from training.testing.tiny_configs import NUM_FRAMES


@pytest.fixture(scope="module")
def clip(videos):
    return videos["two_people"]


def presence(result) -> list[tuple[bool, bool]]:
    """Who is really in frame at each sampled frame of the result, from the clip's script."""
    count = round(2.0 * 15)
    return [two_people_presence(frame["index"] / (count - 1)) for frame in result["frames"]]


def test_every_person_is_analysed_on_the_frames_they_are_in(analyze, clip):
    result = analyze(str(clip), people="all", timeline_window=2)
    assert json.loads(json.dumps(result)) == result
    people = result["people"]
    assert len(people) == 2 and len({person["id"] for person in people}) == 2
    # The first is the main person: the same analysis as the top level.
    for key in ("emotions", "traits", "frames", "timeline"):
        assert people[0][key] == result[key]
    assert result["video"]["faces_found"] == people[0]["frames_seen"]

    truth = presence(result)
    left = [person for person in people if person["frames"][person["thumbnail_frame"]]["box"][0] < 160]
    right = [person for person in people if person not in left]
    assert len(left) == len(right) == 1
    for person, column in ((left[0], 0), (right[0], 1)):
        seen = [frame["face_found"] for frame in person["frames"]]
        assert seen == [present[column] for present in truth]  # enters and leaves when the clip says
        assert person["frames_seen"] == sum(seen)
        assert all((frame["box"] is None) == (not frame["face_found"]) for frame in person["frames"])
        assert person["frames"][person["thumbnail_frame"]]["face_found"]
        scores = [item["score"] for item in person["emotions"]]
        assert sum(scores) == pytest.approx(1.0, abs=1e-5) and all(0 <= v <= 1 for v in person["traits"].values())
        assert person["timeline"]  # windows with this person's face
    assert left[0]["traits"] != right[0]["traits"]  # two people, two analyses


def test_each_persons_numbers_are_the_model_on_that_persons_crops_only(analyze, clip):
    result = analyze(str(clip), people="all")
    faces = analyze.processor.extract_faces(str(clip), people="all")
    for person, extracted in zip(result["people"], faces["people"], strict=True):
        pixels = analyze.processor.normalize(extracted["crops"])[None]
        mask = torch.from_numpy(extracted["face_found"].astype(np.int64))[None]
        with torch.no_grad():
            expected = analyze.model(pixel_values=pixels, attention_mask=mask).trait_logits[0].clamp(0, 1)
        torch.testing.assert_close(torch.tensor(list(person["traits"].values())), expected, atol=1e-4, rtol=0)
        for frame, box, found in zip(person["frames"], extracted["boxes"], extracted["face_found"], strict=True):
            assert frame["face_found"] == bool(found)
            if found:
                assert box_iou(np.array(frame["box"]), box) > 0.99


def test_thresholds_decide_who_counts_and_main_is_unchanged(analyze, clip):
    main = analyze(str(clip))
    assert "people" not in main
    strict = analyze(str(clip), people="all", min_person_frames=NUM_FRAMES)  # nobody else is in every frame
    assert [p["frames"] for p in strict["people"]] == [main["frames"]] and strict["emotions"] == main["emotions"]
    tiny_faces_only = analyze(str(clip), people="all", min_face_fraction=0.9)  # no face is 90% of the frame
    assert len(tiny_faces_only["people"]) == 1


def test_a_list_of_videos_keeps_each_videos_people_apart(analyze, clip, videos):
    single = [analyze(str(clip), people="all"), analyze(str(videos["moving"]), people="all")]
    batched = analyze([str(clip), str(videos["moving"])], people="all", batch_size=2)
    assert [len(r["people"]) for r in batched] == [2, 1]
    for one, many in zip(single, batched, strict=True):
        for a, b in zip(one["people"], many["people"], strict=True):
            assert a["frames"] == b["frames"]
            assert a["traits"] == pytest.approx(b["traits"], abs=1e-4)


@pytest.mark.parametrize("options", [{"people": "everyone"}, {"min_person_frames": 0}, {"min_face_fraction": 2}])
def test_bad_people_options_are_one_sentence(analyze, clip, options):
    with pytest.raises(ValueError) as caught:
        analyze(str(clip), **options)
    assert str(caught.value).endswith(".") and "\n" not in str(caught.value)
