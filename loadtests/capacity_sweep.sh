#!/usr/bin/env bash
# Capacity sweep (`run_load_test.sh capacity`): the normal profile's load (real AudioSocket calls
# from Locust) at a rising number of concurrent callers, on the embedded engines, with 1 and 2
# run_audiosocket processes (--workers), one fresh server per step; then the capacity table:
# callers vs turn latency p50/p95/p99 and errors, and the largest number of callers within the
# NFR (turn latency p95 < 2 s, no errors) for each number of processes (capacity_table.py).
#
#   CAPACITY_CALLERS   callers per step                   default "5 10 15 20 30 40 50"
#   CAPACITY_WORKERS   run_audiosocket processes          default "1 2"
#   CAPACITY_RUN_TIME  Locust run time per step           default 120s
#   CAPACITY_FULL=1    go on after a step misses the NFR  (default: the next process count)
#
# Anything else the server reads passes through (STT_WORKERS, STT_WINDOW_MARGIN, STT_MODEL,
# STT_EARLY_SILENCE_MS, DATABASE_URL, REDIS_URL...). The filler ("one moment") is off unless
# STT_FILLER=true: Locust's turn latency is the first audible frame after the caller's speech,
# and the figure wanted is the reply's. A call turned away for capacity counts as an error.
# Output: loadtests/results/capacity-<time>/ (w<processes>-c<callers>{.json,.log,...},
# conditions.json, capacity.md, capacity.json). Take the figures on a quiet machine.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)
CALLERS=${CAPACITY_CALLERS:-"5 10 15 20 30 40 50"}
WORKERS=${CAPACITY_WORKERS:-"1 2"}
STEP_TIME=${CAPACITY_RUN_TIME:-120s}
NAME=capacity-$(date +%Y%m%d-%H%M%S)
OUT=$ROOT/loadtests/results/$NAME
mkdir -p "$OUT"
export STT_FILLER=${STT_FILLER:-false}

"$PY" - "$OUT/conditions.json" "$STEP_TIME" <<'PYEOF'
import json, os, sys
keys = ("STT_WORKERS", "STT_THREADS", "STT_MODEL", "STT_WINDOW_MARGIN", "STT_EARLY_SILENCE_MS",
        "STT_FILLER", "VAD_END_SILENCE_MS", "LOAD_SAMPLE_RATE", "LOAD_VIA")
conditions = {"cores": os.cpu_count(), "load average at start": os.getloadavg()[0].__round__(2),
              "run time per step": sys.argv[2]}
conditions.update({key: os.environ[key] for key in keys if key in os.environ})
with open(sys.argv[1], "w") as out:
    json.dump(conditions, out, indent=2)
PYEOF

for workers in $WORKERS; do
    for callers in $CALLERS; do
        step=w$workers-c$callers
        echo "=== capacity: $callers callers, $workers process(es), $STEP_TIME ($OUT/$step.log)"
        LOAD_USERS=$callers LOAD_WORKERS=$workers RUN_TIME=$STEP_TIME LOAD_STAMP=$NAME/$step \
            bash loadtests/run_load_test.sh normal >"$OUT/$step.log" 2>&1
        status=$?
        grep -E '"p(50|95)"|NFR' "$OUT/$step.log" | head -4 | sed 's/^/    /'
        if [ "$status" -ne 0 ] && [ -z "${CAPACITY_FULL:-}" ]; then
            echo "    missed the NFR: more callers would too (CAPACITY_FULL=1 goes on)"
            break
        fi
    done
done

"$PY" loadtests/capacity_table.py "$OUT" --p95-ms 2000 --max-error-rate 0
