#!/usr/bin/env bash
# Load test with Locust: real AudioSocket calls against a real run_audiosocket and HTTP health
# checks against a real Daphne, for one profile; exits non-zero when the profile's NFR is missed.
#
#   loadtests/run_load_test.sh quick|normal|peak|stress|production|soak|capacity
#
# Profiles (users = concurrent callers):      NFR checked
#   quick        5 users,  90 s               turn latency p95 < 2 s, no errors (runs in CI)
#   normal      20 users, 180 s               turn latency p95 < 2 s, no errors
#   peak        50 users, 300 s               turn latency p95 < 3 s, errors < 5 %
#   stress     100 users, 300 s               none: finds where the service bends
#   production 200 users, 600 s               none: the configured call limit (AUDIOSOCKET_MAX_CALLS)
#   soak       200 users, 30 min              memory does not grow without bound (see below)
#   capacity   a sweep of callers x processes  the capacity table (loadtests/capacity_sweep.sh)
#
# It starts what it needs: migrates the database (DATABASE_URL, or a throw-away SQLite file),
# loads the sample catalog, synthesises the callers' utterances once, starts run_audiosocket and
# Daphne on free loopback ports, runs Locust headless and stops them. To load servers that are
# already running, set LOAD_AUDIOSOCKET=host:port and LOAD_WEB_URL=http://host:port (the report
# then has no server CPU and memory unless LOAD_SERVER_PID is set).
# Users are concurrent callers; one more Locust user checks the web process's /healthz.
# LOAD_WORKERS=N runs run_audiosocket with --workers N (one process by default).
# LOAD_VIA=asterisk places every call through a real Asterisk (ASTERISK_DIR, an unpacked
# asterisk-min build, or ../shared/asterisk/asterisk-min-*.tar.gz, unpacked under results/)
# running the project's deploy/asterisk/extensions.conf: the callers' audio crosses the PBX
# and the bot gets the caller's number from the dialplan (see loadtests/README.md).
# RUN_TIME overrides the profile's duration (e.g. RUN_TIME=2m), LOAD_USERS its callers, and
# LOAD_STOP_TIMEOUT the seconds calls in progress at the end may take to finish (60). Reports: loadtests/results/
# <profile>-<time>{_stats.csv,_stats_history.csv,_failures.csv,.html,.json,-server.log}.
#
# ENGINES=remote: speech on the remote engines (Google's API by default, REMOTE_API=openai for
# the OpenAI-compatible one) served by speech_standin.py (a stand-in with a cloud's latency and
# failures: STANDIN_ARGS passes it options, e.g. "--error-rate 0 --timeout-rate 0" or
# "--stall-after 60"), on PostgreSQL and Redis (DATABASE_URL and REDIS_URL must name them) with
# a real Celery worker sending the order notifications. The callers order tires
# (LOAD_DIALOGUE=orders); the profiles normal, peak and production then hold p95 < 2 s (peak 3 s)
# with no errors, and remote_report.py adds HTTP pool waits, recorder lag, orders per minute,
# notifications sent and the injected failures' fate (see docs/testing.md, "Remote speech
# engines"). SPEECH_API_POOL and the other settings pass through to the server.
#
# soak: the production load for 30 minutes (RUN_TIME overrides; SOAK_USERS overrides the 200
# callers, so that a smaller machine soaks at the load it sustains). memory_sampler.py records
# every SOAK_INTERVAL seconds (15) the RSS, USS, open fds and threads of run_audiosocket (and
# its workers, with LOAD_WORKERS) and Daphne, or of LOAD_SERVER_PID when the servers are not
# started here, into soak-<time>-memory.csv; soak_report.py then prints a report, writes
# soak-<time>-soak.json (and merges it into soak-<time>.json under "soak") and fails when a
# process's RSS grows faster than SOAK_MAX_GROWTH_MB_PER_HOUR (50) over the steady state (after
# a warm-up of 20 % of the run or 3 minutes, whichever is less) or its fds grow by more than
# SOAK_MAX_FD_GROWTH (50). Errors fail it only when SOAK_MAX_ERRORS is set (a count, or a rate
# such as 1%): 200 callers saturate a 2-core machine's speech-to-text, so there errors measure
# capacity, not a leak. See loadtests/README.md.
set -euo pipefail

PROFILE=${1:-quick}
[ "$PROFILE" = capacity ] && exec bash "$(dirname "$0")/capacity_sweep.sh"
case "$PROFILE" in
    quick)      USERS=5;   SPAWN=1; TIME=90s;  P95_MS=2000; MAX_ERRORS=0 ;;
    normal)     USERS=20;  SPAWN=2; TIME=180s; P95_MS=2000; MAX_ERRORS=0 ;;
    peak)       USERS=50;  SPAWN=5; TIME=300s; P95_MS=3000; MAX_ERRORS=0.05 ;;
    stress)     USERS=100; SPAWN=5; TIME=300s; P95_MS="";   MAX_ERRORS="" ;;
    production) USERS=200; SPAWN=10; TIME=600s; P95_MS="";  MAX_ERRORS="" ;;
    soak)       USERS=${SOAK_USERS:-200}; SPAWN=10; TIME=30m; P95_MS=""; MAX_ERRORS="" ;;
    *) echo "unknown profile '$PROFILE': quick, normal, peak, stress, production, soak or capacity" >&2
       exit 2 ;;
esac
USERS=${LOAD_USERS:-$USERS}
ENGINES=${ENGINES:-embedded}
if [ "$ENGINES" = remote ]; then
    # Remote engines cost this box no speech CPU: the NFR holds at every profile but stress.
    case "$PROFILE" in
        normal|production) P95_MS=2000; MAX_ERRORS=0 ;;
        peak) P95_MS=3000; MAX_ERRORS=0 ;;
    esac
elif [ "$ENGINES" != embedded ]; then
    echo "ENGINES is embedded or remote, not '$ENGINES'" >&2; exit 2
fi
TIME=${RUN_TIME:-$TIME}
# Locust times a turn to the first audible frame: a filler ("one moment") would pass for the
# reply, so load runs measure the reply itself unless STT_FILLER=true is asked for.
export STT_FILLER=${STT_FILLER:-false}

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
[ -x "$PY" ] || PY=$(command -v python3)
RESULTS=$ROOT/loadtests/results
mkdir -p "$RESULTS"
STAMP=${LOAD_STAMP:-$PROFILE-$(date +%Y%m%d-%H%M%S)}
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
export DJANGO_SETTINGS_MODULE=callcenter.settings
: "${DATABASE_URL:=sqlite:///$RESULTS/load.sqlite3}"
export DATABASE_URL
export LOG_LEVEL=${LOG_LEVEL:-WARNING}

free_port() { "$PY" -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"; }

PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_for_port() {  # host port seconds pid
    for _ in $(seq $(( $3 * 10 ))); do
        "$PY" -c "import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()" "$1" "$2" 2>/dev/null && return 0
        kill -0 "$4" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

echo "=== profile $PROFILE: $USERS callers, spawn $SPAWN/s, $TIME, $ENGINES engines"
"$PY" loadtests/make_utterances.py --output "$RESULTS/utterances" >/dev/null

if [ "$ENGINES" = remote ]; then
    # The figures are PostgreSQL's, Redis's and a Celery worker's; SQLite and in-process
    # Celery (no REDIS_URL) serve the functional test's few callers only.
    case "${DATABASE_URL:-}" in postgres*) ;; *)
        echo "ENGINES=remote without PostgreSQL (DATABASE_URL): not a measurement" >&2 ;; esac
    [ -n "${REDIS_URL:-}" ] || echo "ENGINES=remote without Redis (REDIS_URL): no Celery worker" >&2
    "$PY" loadtests/speech_standin.py --utterances "$RESULTS/utterances" \
        --port-file "$RESULTS/$STAMP-standin.port" ${STANDIN_ARGS:-} \
        >"$RESULTS/$STAMP-standin.log" 2>&1 &
    STANDIN_PID=$!
    PIDS+=("$STANDIN_PID")
    for _ in $(seq 100); do [ -s "$RESULTS/$STAMP-standin.port" ] && break; sleep 0.1; done
    [ -s "$RESULTS/$STAMP-standin.port" ] \
        || { cat "$RESULTS/$STAMP-standin.log"; echo "the speech stand-in did not start" >&2; exit 1; }
    STANDIN=http://127.0.0.1:$(cat "$RESULTS/$STAMP-standin.port")
    REMOTE_API=${REMOTE_API:-google}
    export STT_ENGINE=$REMOTE_API TTS_ENGINE=$REMOTE_API
    export GOOGLE_API_KEY=load GOOGLE_STT_URL=$STANDIN/google/v1 GOOGLE_TTS_URL=$STANDIN/google/v1
    export OPENAI_API_KEY=load STT_API_URL=$STANDIN/openai/v1 TTS_API_URL=$STANDIN/openai/v1
    # The prompts are rendered through the stand-in, into this run's own store.
    export TTS_CACHE_DIR=$RESULTS/$STAMP-tts-cache
    export NOTIFY_STAFF_EMAILS=${NOTIFY_STAFF_EMAILS:-shop@example.invalid}
    export LOAD_DIALOGUE=orders
    METRICS_PORT=$(free_port)
    export AUDIOSOCKET_METRICS_PORT=$METRICS_PORT
    echo "=== speech stand-in ($REMOTE_API API) on $STANDIN (pid $STANDIN_PID)"
fi

if [ -z "${LOAD_AUDIOSOCKET:-}" ] || [ -z "${LOAD_WEB_URL:-}" ]; then
    echo "=== database ${DATABASE_URL%%\?*}: migrate, sample catalog"
    "$PY" manage.py migrate --noinput -v 0
    "$PY" manage.py shell -c "from catalog.models import Tire; raise SystemExit(0 if Tire.objects.exists() else 1)" \
        || "$PY" manage.py load_sample_catalog
    if [ "$ENGINES" = remote ]; then
        # Hundreds of orders a minute: the load shop's stock never runs out mid-run.
        "$PY" manage.py shell -c "from catalog.models import Tire; Tire.objects.update(stock_quantity=10**6)"
    fi
fi

if [ "$ENGINES" = remote ] && [ -n "${REDIS_URL:-}" ]; then
    "$PY" -m celery -A callcenter worker --concurrency 2 --loglevel WARNING \
        >"$RESULTS/$STAMP-celery.log" 2>&1 &
    CELERY_PID=$!
    PIDS+=("$CELERY_PID")
    echo "=== celery worker (pid $CELERY_PID)"
fi

if [ -z "${LOAD_AUDIOSOCKET:-}" ]; then
    PORT=$(free_port)
    WORKER_ARGS=()
    [ "${LOAD_WORKERS:-1}" -gt 1 ] && WORKER_ARGS=(--workers "$LOAD_WORKERS")
    "$PY" manage.py run_audiosocket --host 127.0.0.1 --port "$PORT" "${WORKER_ARGS[@]}" \
        --max-calls $(( USERS > 200 ? USERS : 200 )) >"$RESULTS/$STAMP-server.log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_for_port 127.0.0.1 "$PORT" 120 "$SERVER_PID" \
        || { cat "$RESULTS/$STAMP-server.log"; echo "run_audiosocket did not start" >&2; exit 1; }
    export LOAD_AUDIOSOCKET=127.0.0.1:$PORT
    export LOAD_SERVER_PID=$SERVER_PID
    echo "=== run_audiosocket on $LOAD_AUDIOSOCKET (pid $SERVER_PID)"
fi

if [ -z "${LOAD_WEB_URL:-}" ]; then
    WEB_PORT=$(free_port)
    # /healthz probes the AudioSocket server: the one this run loads, not the default port
    export HEALTHZ_AUDIOSOCKET_ADDRESS=${HEALTHZ_AUDIOSOCKET_ADDRESS:-$LOAD_AUDIOSOCKET}
    "$PY" -m daphne -b 127.0.0.1 -p "$WEB_PORT" callcenter.asgi:application \
        >"$RESULTS/$STAMP-web.log" 2>&1 &
    WEB_PID=$!
    PIDS+=("$WEB_PID")
    wait_for_port 127.0.0.1 "$WEB_PORT" 60 "$WEB_PID" \
        || { cat "$RESULTS/$STAMP-web.log"; echo "daphne did not start" >&2; exit 1; }
    LOAD_WEB_URL=http://127.0.0.1:$WEB_PORT
    echo "=== daphne on $LOAD_WEB_URL"
fi

if [ "${LOAD_VIA:-direct}" = asterisk ]; then
    AST_DIR=$RESULTS/$STAMP-asterisk
    TARBALL=""
    if [ -n "${ASTERISK_DIR:-}" ] && [ -x "$ASTERISK_DIR/sbin/asterisk" ]; then
        mkdir -p "$AST_DIR" && cp -a "$ASTERISK_DIR/." "$AST_DIR/"
        START=$AST_DIR/start-asterisk.sh
    else
        TARBALL=$(ls "$ROOT"/../shared/asterisk/asterisk-min-*.tar.gz 2>/dev/null | tail -n 1 || true)
        [ -n "$TARBALL" ] || { echo "LOAD_VIA=asterisk needs ASTERISK_DIR or ../shared/asterisk/asterisk-min-*.tar.gz" >&2; exit 2; }
        START=$(dirname "$TARBALL")/start-asterisk.sh
    fi
    bash "$START" ${TARBALL:+--tarball "$TARBALL"} --project-dialplan deploy/asterisk/extensions.conf \
        --web "$LOAD_WEB_URL" "$AST_DIR" "$LOAD_AUDIOSOCKET" >"$RESULTS/$STAMP-asterisk.log" 2>&1 \
        || { cat "$RESULTS/$STAMP-asterisk.log"; echo "Asterisk did not start" >&2; exit 1; }
    cp loadtests/asterisk-load-caller.conf "$AST_DIR/etc/asterisk/load-caller.conf"
    grep -q load-caller.conf "$AST_DIR/etc/asterisk/extensions.conf" \
        || printf '\n#include "load-caller.conf"\n' >>"$AST_DIR/etc/asterisk/extensions.conf"
    "$AST_DIR/bin/astcli" -rx "dialplan reload" >/dev/null
    stop_asterisk() { "$AST_DIR/bin/astcli" -rx "core stop now" >/dev/null 2>&1 || true; cleanup; }
    trap stop_asterisk EXIT
    export LOAD_ASTERISK_DIR=$AST_DIR
    echo "=== Asterisk from $AST_DIR: calls enter the project dialplan (log: var/log/asterisk/full.log)"
fi

export LOAD_UTTERANCES=$RESULTS/utterances
export LOAD_SAMPLE_RATE=${LOAD_SAMPLE_RATE:-8000}
export LOAD_NFR_P95_MS=$P95_MS
export LOAD_REPORT=$RESULTS/$STAMP
[ -n "$MAX_ERRORS" ] && export LOAD_NFR_MAX_ERROR_RATE=$MAX_ERRORS

SAMPLER_PID=""
if [ "$PROFILE" = soak ]; then
    SAMPLED=()
    [ -n "${LOAD_SERVER_PID:-}" ] && SAMPLED+=(--process "run_audiosocket=$LOAD_SERVER_PID" \
        --children run_audiosocket)
    [ -n "${WEB_PID:-}" ] && SAMPLED+=(--process "daphne=$WEB_PID")
    if [ ${#SAMPLED[@]} -gt 0 ]; then
        "$PY" loadtests/memory_sampler.py --output "$RESULTS/$STAMP-memory.csv" \
            --interval "${SOAK_INTERVAL:-15}" "${SAMPLED[@]}" &
        SAMPLER_PID=$!
        PIDS+=("$SAMPLER_PID")
        echo "=== memory sampler (pid $SAMPLER_PID) every ${SOAK_INTERVAL:-15} s:" \
            "$RESULTS/$STAMP-memory.csv"
    else
        echo "=== no server process to sample (set LOAD_SERVER_PID): no memory verdict" >&2
    fi
fi

echo "=== locust"
status=0
LOAD_SINCE=$("$PY" -c "import datetime; print(datetime.datetime.now(datetime.UTC).isoformat())")
LOAD_STARTED=$(date +%s)
"$PY" -m locust -f loadtests/locustfile.py --headless --only-summary \
    --users $(( USERS + 1 )) --spawn-rate "$SPAWN" --run-time "$TIME" --stop-timeout "${LOAD_STOP_TIMEOUT:-60}" \
    --host "$LOAD_WEB_URL" --csv "$RESULTS/$STAMP" --html "$RESULTS/$STAMP.html" \
    --loglevel WARNING || status=$?
if [ -n "$SAMPLER_PID" ]; then
    kill -TERM "$SAMPLER_PID" 2>/dev/null || true
    wait "$SAMPLER_PID" 2>/dev/null || true
    soak_status=0
    "$PY" loadtests/soak_report.py --memory "$RESULTS/$STAMP-memory.csv" \
        --locust "$RESULTS/$STAMP.json" --run-time "$TIME" --output "$RESULTS/$STAMP-soak.json" \
        --max-growth-mb-per-hour "${SOAK_MAX_GROWTH_MB_PER_HOUR:-50}" \
        --max-fd-growth "${SOAK_MAX_FD_GROWTH:-50}" \
        ${SOAK_MAX_ERRORS:+--max-errors "$SOAK_MAX_ERRORS"} || soak_status=$?
    [ "$status" -eq 0 ] && status=$soak_status
    echo "=== soak: $RESULTS/$STAMP{-memory.csv,-soak.json}"
fi
if [ "$ENGINES" = remote ]; then
    echo "=== remote engines: pools, recorder, orders, notifications, injected failures"
    METRICS_ARGS=()
    for i in $(seq 0 $(( ${LOAD_WORKERS:-1} - 1 ))); do
        METRICS_ARGS+=(--metrics "http://127.0.0.1:$(( METRICS_PORT + i ))/metrics")
    done
    remote_status=0
    "$PY" loadtests/remote_report.py --since "$LOAD_SINCE" \
        --run-seconds $(( $(date +%s) - LOAD_STARTED )) --report "$RESULTS/$STAMP" \
        --standin "$STANDIN" "${METRICS_ARGS[@]}" || remote_status=$?
    [ "$status" -eq 0 ] && status=$remote_status
fi
echo "=== reports: $RESULTS/$STAMP{_stats.csv,.html,.json}"
exit $status
