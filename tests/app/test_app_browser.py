"""The web page in a real browser: Playwright driving Debian's Chromium (headless, nothing downloaded) against
`python app.py` running as a server process. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from fractions import Fraction

import av
import pytest

from tests.app.conftest import MAX_UPLOAD_MB
from training.testing.tiny_configs import NUM_FRAMES
from training.testing.videos import astronaut_head, paste, render_frames
from webapp.unplayable_preview import NOTE, NOTE_ID, TRIM_LABEL

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
EMOTIONS = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise"]
TIMEOUT_MS = 90_000

pytestmark = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason="needs Debian's chromium: apt-get install -y chromium (.ci/run does)"
)


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:  # one per module: the sync API does not nest
        yield playwright


@pytest.fixture(scope="module")
def browser(playwright):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def camera_clip(tmp_path_factory):
    """A face clip as Y4M, which Chromium's fake camera plays in a loop instead of its test pattern."""
    path = tmp_path_factory.mktemp("camera") / "face.y4m"
    head = astronaut_head()
    frames = render_frames(30, (320, 240), lambda canvas, t: paste(canvas, head, (128 + 64 * t, 120), 170))
    with av.open(str(path), mode="w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=Fraction(15))
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture(scope="module")
def camera_browser(playwright, camera_clip):
    """Chromium whose webcam is a fake device playing `camera_clip`, with the permission prompt answered."""
    fake_camera = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={camera_clip}",
    ]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + fake_camera)
    yield browser
    browser.close()


@contextmanager
def opened_page(browser, url, **context_options):
    """A fresh page on the app; yields it, then checks that nothing was requested from outside the machine."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **context_options)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    outside = []  # requests leaving the machine: none are expected (no fonts, no CDN, no analytics)
    local = ("http://127.0.0.1", "data:", "blob:")
    page.on("request", lambda request: None if request.url.startswith(local) else outside.append(request.url))
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Analyze").wait_for()
    yield page
    context.close()
    assert not outside, outside


@pytest.fixture
def page(browser, app_server):
    with opened_page(browser, app_server.url) as page:
        yield page


def wait_for_emotions(page) -> None:
    emotions = page.locator("#emotions")
    for label in EMOTIONS:
        emotions.get_by_text(label, exact=True).first.wait_for()


def upload(page, path) -> None:
    page.locator("#video-input input[type=file]").first.set_input_files(str(path))


def test_upload_analyze_and_see_every_result(page, videos, artifacts):
    upload(page, videos["gap"])
    page.locator("#video-input video").first.wait_for()
    page.get_by_role("button", name="Analyze").click()

    page.locator("#traits-text").get_by_text("Openness").wait_for()
    wait_for_emotions(page)
    page.locator("#traits canvas, #traits svg").first.wait_for()
    page.locator("#timeline canvas, #timeline svg").first.wait_for()
    gallery = page.locator("#faces img")
    gallery.nth(NUM_FRAMES - 1).wait_for()
    assert gallery.count() == NUM_FRAMES
    assert page.locator("#faces").get_by_text("not in frame").count() > 0, "face-less frames are marked"
    assert "org/face-fusion" in page.locator("#model-info").inner_text()
    page.screenshot(path=str(artifacts / "app_result.png"), full_page=True)


def test_bad_file_gets_one_message_and_the_outputs_keep_their_result(page, videos, artifacts):
    upload(page, videos["face"])
    page.locator("#video-input video").first.wait_for()
    page.get_by_role("button", name="Analyze").click()
    wait_for_emotions(page)
    page.locator("#faces img").nth(NUM_FRAMES - 1).wait_for()
    emotions_before = page.locator("#emotions").inner_text()

    page.locator("#video-input").get_by_label("Clear").first.click()  # the video's own clear button
    upload(page, videos["text"])
    page.get_by_role("button", name="Analyze").click()
    message = page.get_by_text("notes.mp4 could not be decoded").filter(visible=True)
    message.first.wait_for()
    time.sleep(1)  # anything else the refusal would paint has had time to appear
    page.screenshot(path=str(artifacts / "app_bad_input.png"), full_page=True)
    assert message.count() == 1, "one message"
    for output in ("#emotions", "#traits", "#traits-text", "#timeline", "#faces"):
        assert page.locator(output).get_by_text("Error", exact=True).count() == 0, f"no error badge on {output}"
    assert page.locator("#emotions").inner_text() == emotions_before, "the previous result stays"
    assert page.locator("#faces img").count() == NUM_FRAMES


def test_a_video_the_browser_cannot_play_gets_a_note_and_is_analyzed(page, videos, artifacts):
    """A phone's HEVC clip: Chromium cannot preview it, which Gradio would report as an error, but the server reads
    it. The page says so under the player instead, the analysis runs, and the note goes with the file."""
    hevc = "document.createElement('video').canPlayType('video/mp4; codecs=\"hvc1.1.6.L93.B0\"')"
    assert page.evaluate(hevc) == "", "this Chromium plays HEVC: the test needs a format it cannot play (AVI)"
    upload(page, videos["phone"])
    note = page.locator(f"#{NOTE_ID}")
    note.wait_for()
    assert note.inner_text() == NOTE
    page.screenshot(path=str(artifacts / "app_unplayable_upload.png"), full_page=True)
    assert page.get_by_text("Video not playable").count() == 0, "no error for a file the analysis reads"
    assert page.locator("#video-input").get_by_text("Error", exact=True).count() == 0
    assert page.get_by_label(TRIM_LABEL).is_hidden(), "no trim editor for a clip it cannot load"
    page.get_by_role("button", name="Analyze").click()
    wait_for_emotions(page)
    page.locator("#faces img").nth(NUM_FRAMES - 1).wait_for()

    page.locator("#video-input").get_by_label("Clear").first.click()
    note.wait_for(state="detached")
    upload(page, videos["face"])  # H.264, which it plays: no note
    page.wait_for_function("document.querySelector('#video-input video')?.readyState >= 2")
    assert note.count() == 0
    assert page.get_by_label(TRIM_LABEL).is_visible(), "a playable clip keeps its trim button"


def test_too_large_file_is_refused_on_the_page(page, videos):
    upload(page, videos["too_large"])
    page.get_by_text(f"exceed the maximum allowed size of {MAX_UPLOAD_MB:.1f}").first.wait_for()


def test_clicking_an_example_shows_its_answer_without_analyze(browser, app_server):
    """Examples are cached lazily: the first click anywhere computes the answer, every later click shows it."""
    for _ in range(2):  # the second page gets the stored answer
        with opened_page(browser, app_server.url) as page:
            page.get_by_text("Close-up: a slow zoom onto a face").click()
            page.locator("#video-input video").first.wait_for()
            wait_for_emotions(page)
            page.locator("#faces img").nth(NUM_FRAMES - 1).wait_for()
    assert app_server.log_text().count("Caching examples at") == 1, "computed once, then served from the cache"


@pytest.fixture(scope="module")
def webcam_analysis(camera_browser, app_server, artifacts) -> list[str]:
    """Record two seconds with the (fake) webcam, press Analyze; returns the face gallery's captions."""
    with opened_page(camera_browser, app_server.url, permissions=["camera", "microphone"]) as page:
        page.get_by_role("button", name="Capture from camera").click()
        page.get_by_text("Click to Access Webcam").click()
        page.get_by_role("button", name="start recording").click()
        time.sleep(2)
        page.get_by_role("button", name="start recording").click()  # the same button stops
        page.locator("#video-input video").first.wait_for()
        page.get_by_role("button", name="Analyze").click()
        wait_for_emotions(page)
        page.locator("#faces img").nth(NUM_FRAMES - 1).wait_for()
        page.screenshot(path=str(artifacts / "app_webcam.png"), full_page=True)
        return page.locator("#faces .caption-label, #faces [class*=caption]").all_inner_texts()


def test_webcam_recording_is_analyzed(webcam_analysis):
    assert len(webcam_analysis) == NUM_FRAMES, webcam_analysis
    assert all(caption.startswith("frame ") for caption in webcam_analysis)


def test_webcam_recording_is_sampled_across_its_length(webcam_analysis):
    assert len(set(webcam_analysis)) == NUM_FRAMES, webcam_analysis


def test_everyone_gets_a_card_and_the_annotated_clip_is_offered(page, videos, artifacts):
    upload(page, videos["two_people"])
    page.locator("#video-input video").first.wait_for()
    page.locator("#people-option").get_by_text("Everyone seen").click()
    page.get_by_role("button", name="Analyze").click()

    cards = page.locator("#people-cards .person-card")
    cards.nth(1).wait_for()
    assert cards.count() == 2, "one card per person in the two-people clip"
    assert cards.first.get_by_text("Main person").count() == 1, "the most prominent first"
    assert all("sampled frames" in text for text in cards.all_inner_texts())
    assert cards.locator("img").count() == 2, "each card shows the person's face"
    clip = page.locator("#annotated-video video").first
    clip.wait_for()
    assert "annotated.mp4" in (clip.get_attribute("src") or "")
    with page.expect_download() as download:
        page.locator("#annotated-video").get_by_label("Download").first.click()
    assert download.value.suggested_filename.endswith(".annotated.mp4")
    page.screenshot(path=str(artifacts / "app_people.png"), full_page=True)


def test_a_photo_in_the_upload_control_is_rejected_visibly(page, videos, artifacts):
    """The control itself turns a photo away, with a message naming it; it is never dropped without a word, and
    Analyze then asks for a video (the processor's own sentence is for photos sent through the API)."""
    upload(page, videos["still_image"])
    page.get_by_text("Invalid file type: photo.jpg").filter(visible=True).first.wait_for()
    page.screenshot(path=str(artifacts / "app_photo_upload.png"), full_page=True)
    assert page.locator("#video-input video").count() == 0, "the photo is not taken as the video"
    page.get_by_role("button", name="Analyze").click()
    page.get_by_text("Upload or record a video first").filter(visible=True).first.wait_for()
