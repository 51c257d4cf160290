"""A note in place of Gradio's error when the browser cannot preview an upload the analysis can still read.

Browsers play few formats (H.264, VP8/VP9, AV1); the analysis decodes many more on the server: HEVC from phones, AVI,
MKV, MPEG-4 Part 2. Gradio's video player reports any file it cannot play as an error ("Video not playable", and an
Error badge on the upload), which reads as if the upload had failed. `UNPLAYABLE_PREVIEW_JS` (for `launch(js=...)`)
catches that error on the upload's own player before Gradio sees it and shows `NOTE` under the player instead, for
as long as that file is in it; `CSS` hides the trim button meanwhile. A file that is not a video at all gets the same
note; Analyze then gives its reason.
"""

from __future__ import annotations

import json
from string import Template

NOTE = (
    "No preview: your browser cannot play this file's format. The analysis does not need one, as the server reads "
    "more formats than a browser (HEVC from phones, AVI, MKV and others): press Analyze."
)
NOTE_ID = "preview-note"

UNPLAYABLE_PREVIEW_JS = Template("""
() => {
  const note = document.createElement("p");
  note.id = $note_id;
  note.setAttribute("role", "status");
  note.textContent = $note;

  // Watches the page only while the note is up. The note stays while the player holds the upload it was shown for
  // (put back if the player's box is redrawn) and goes once it does not: cleared, replaced or recorded over.
  const watch = new MutationObserver(() => {
    const player = document.querySelector("#video-input video");
    if (player?.src !== note.dataset.src) {
      note.remove();
      watch.disconnect();
    } else if (!note.isConnected) {
      player.closest("#video-input").appendChild(note);
    }
  });

  // A media error does not bubble, but it passes the window in the capture phase, before the player's own handler.
  window.addEventListener("error", (event) => {
    const player = event.target;
    if (!(player instanceof HTMLVideoElement) || !player.closest("#video-input") || !player.src) return;
    event.stopImmediatePropagation();
    note.dataset.src = player.src;
    player.closest("#video-input").appendChild(note);
    watch.observe(document.body, {childList: true, subtree: true, attributes: true, attributeFilter: ["src"]});
  }, true);
}
""").substitute(note_id=json.dumps(NOTE_ID), note=json.dumps(NOTE))

TRIM_LABEL = "Trim video to selection"  # Gradio's trim button, whose editor waits forever on a file it cannot play
CSS = (
    f"#{NOTE_ID} {{ margin: 0; padding: 8px 12px; font-size: var(--text-sm); }}\n"
    f'#video-input:has(#{NOTE_ID}) button[aria-label="{TRIM_LABEL}"] {{ display: none; }}\n'
)
