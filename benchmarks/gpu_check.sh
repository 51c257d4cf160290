#!/usr/bin/env bash
# One GPU check, at most 8 minutes on one GPU: extraction and batch-analysis videos/s, and a short run of each trainer
# under `accelerate launch --mixed_precision bf16` with its samples/s, with the card, into benchmarks/results/.
#
#   bash benchmarks/gpu_check.sh              # from anywhere; writes benchmarks/results/*_gpu.json and a log
#
# Each step runs under its own time limit (the sum, with start-up, stays under 8 minutes) and a failed or timed-out
# step is recorded and the next one still runs. Nothing is downloaded: the models are the production architectures
# with random weights (speed does not depend on them), faces are found with OpenCV's Haar cascade (face-alignment's
# weights need the network), and the videos are written by training/testing/videos.py.
#
# Environment:
#   PYTHON   the interpreter that has torch with CUDA (default: python3)
#   RESULTS  where the JSON files and the log go (default: benchmarks/results)
#   WHEELS   a folder of wheels for the packages the machine lacks (PyAV, decord, datasets and their needs),
#            installed with --no-index into a temporary folder first. Missing packages are listed before anything runs.
#   DRY_RUN=1  the tests' tiny models on the CPU, a few seconds per step: checks the script itself anywhere.

set -u -o pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
RESULTS=${RESULTS:-benchmarks/results}
DRY_RUN=${DRY_RUN:-0}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS"
LOG="$RESULTS/gpu_check_${STAMP}.log"
export HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 PYTHONUNBUFFERED=1 TQDM_DISABLE=1 TOKENIZERS_PARALLELISM=false
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
started=$(date +%s)
failed=()

say() { echo "$*" | tee -a "$LOG"; }

# step NAME SECONDS COMMAND...: run with a time limit, log everything, remember a failure and go on.
step() {
    local name=$1 limit=$2 begin rc
    shift 2
    say "== $name (limit ${limit} s): $*"
    begin=$(date +%s)
    timeout --kill-after=15 "$limit" "$@" 2>&1 | tee -a "$LOG"
    rc=${PIPESTATUS[0]}
    say "== $name: exit $rc after $(( $(date +%s) - begin )) s"
    [ "$rc" -eq 0 ] || failed+=("$name (exit $rc)")
}

if [ -n "${WHEELS:-}" ] && compgen -G "$WHEELS/*.whl" > /dev/null; then
    say "== installing the wheels in $WHEELS into /tmp/gpu_check_site"
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/gpu_check_site "$WHEELS"/*.whl 2>&1 | tee -a "$LOG"
    export PYTHONPATH="$PYTHONPATH:/tmp/gpu_check_site"
fi

missing=$("$PYTHON" - <<'EOF'
import importlib.util
needed = ["torch", "transformers", "accelerate", "timm", "datasets", "av", "decord", "cv2", "skimage", "pyarrow"]
print(" ".join(name for name in needed if importlib.util.find_spec(name) is None))
EOF
)
if [ -n "$missing" ]; then
    say "gpu_check: missing Python packages: $missing (carry them as wheels in \$WHEELS); stopping."
    exit 2
fi

# The card, the driver and the machine, beside the numbers.
"$PYTHON" - "$RESULTS/gpu_card.json" <<'EOF' 2>&1 | tee -a "$LOG"
import json, subprocess, sys
from benchmarks.machine import machine_info
info = machine_info()
try:
    query = "name,memory.total,driver_version,clocks.max.sm,power.limit"
    info["nvidia_smi"] = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
                                        capture_output=True, text=True, timeout=30).stdout.strip()
except (OSError, subprocess.SubprocessError) as error:
    info["nvidia_smi"] = f"not available ({error})"
open(sys.argv[1], "w").write(json.dumps(info, indent=2) + "\n")
print(json.dumps(info))
EOF

if [ "$DRY_RUN" = 1 ]; then
    size=(--tiny); device=cpu; videos=2; naive=1; steps=(--steps 2 --warmup 1 --bf16 no); suffix=dryrun; precision=no
    clip=(--seconds 2)
else
    size=(); device=cuda; videos=96; naive=4; steps=(--steps 20 --warmup 3 --bf16 yes); suffix=gpu; precision=bf16
    clip=()
fi

# 1. Extraction (training/extract_embeddings.py, decode workers feeding the GPU) beside the naive loop.
step extraction 150 "$PYTHON" benchmarks/bench_extract.py "${size[@]}" "${clip[@]}" --videos "$videos" \
    --naive_videos "$naive" --json "$RESULTS/bench_extract_${suffix}.json"

# 2. The batch command (training/analyze_videos.py) beside the embedder alone on the same crops.
batch_videos=$(( videos / 2 > 2 ? videos / 2 : 2 ))  # the batch rate is timed beyond a first video
# One process: the GPU's way (more GPUs: accelerate launch); --processes is the CPU's, timed by the CPU runs.
step batch 130 "$PYTHON" benchmarks/bench_batch.py "${size[@]}" --device "$device" --videos "$batch_videos" \
    --processes 1 --json "$RESULTS/bench_batch_${suffix}.json"

# 3. Each trainer, a short run under accelerate launch with bf16 mixed precision.
launch=("$PYTHON" -m accelerate.commands.launch --num_processes 1 --num_machines 1 --mixed_precision "$precision"
        --dynamo_backend no)
[ "$DRY_RUN" = 1 ] && launch+=(--cpu)
step trainers 170 "${launch[@]}" benchmarks/bench_train.py "${size[@]}" "${steps[@]}" \
    --json "$RESULTS/bench_train_${suffix}.json"

say "== gpu_check: $(( $(date +%s) - started )) s in all; results in $RESULTS (log: $LOG)"
if [ ${#failed[@]} -gt 0 ]; then
    say "gpu_check: failed steps: ${failed[*]}"
    exit 1
fi
