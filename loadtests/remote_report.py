"""After a load run on the remote speech engines (ENGINES=remote): what Locust cannot see.

Reads the database, the servers' /metrics and the speech stand-in's counts, adds to Locust's
summary (`<report>.json`, under "remote") and judges:

- HTTP pool: every request's wait for a connection (callcenter_http_pool_wait_seconds), and
  requests that found none within SPEECH_API_POOL_TIMEOUT (a failure: the pool is too small);
- recorder lag: from the moment a turn ended (the call's start + the turn's end_ms) to its row
  being written (Turn.created_at), p50/p95/max, for the bot's turns (handed to the recorder as
  they end: the recorder's own lag) and the caller's (handed over once transcribed);
- orders placed per minute and notifications sent (and still pending after a drain);
- failures the stand-in injected, those that reached a caller (engine errors), and what the
  callers heard instead: every engine error must end in a spoken apology (or an operator
  route), and every call the bot ended early must be routed to an operator;
- utterances the stand-in did not recognise (a turn cut wrongly by the server is a lost turn);
- live monitor events sent to the channel layer, and lost (dropped or refused).

    python loadtests/remote_report.py --since 2026-11-30T12:00:00+00:00 --run-seconds 180 \
        --report loadtests/results/production-... --metrics http://127.0.0.1:9100/metrics \
        --standin http://127.0.0.1:8765

Exit status 1 when a check fails (the run's NFR verdict is Locust's; this adds to it).
"""

import argparse
import json
import os
import sys
import time
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NOTIFICATION_DRAIN_SECONDS = 60.0  # how long the outbox may take to send the last orders'


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format -> {"name{labels}": value}."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        try:
            values[key] = values.get(key, 0.0) + float(value)
        except ValueError:
            continue
    return values


def scrape(urls: list[str]) -> dict[str, float]:
    total: dict[str, float] = {}
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                for key, value in parse_metrics(response.read().decode()).items():
                    total[key] = total.get(key, 0.0) + value
        except OSError as error:
            print(f"cannot read {url}: {error}", file=sys.stderr)
    return total


def metric(values: dict[str, float], name: str, **labels: str) -> float:
    """The sum of a metric over the series whose labels include `labels`."""
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    return sum(
        value
        for key, value in values.items()
        if key.split("{", 1)[0] == name and all(label in key for label in wanted)
    )


def pool_waits(values: dict[str, float]) -> dict:
    """Per API: requests, mean wait, requests that waited over 10 ms, found no connection."""
    apis = sorted(
        {
            key.split('api="', 1)[1].split('"', 1)[0]
            for key in values
            if key.startswith("callcenter_http_pool_wait_seconds_count")
        }
    )
    report = {}
    for api in apis:
        count = metric(values, "callcenter_http_pool_wait_seconds_count", api=api)
        total = metric(values, "callcenter_http_pool_wait_seconds_sum", api=api)
        within_10ms = metric(values, "callcenter_http_pool_wait_seconds_bucket", api=api, le="0.01")
        report[api] = {
            "requests": int(count),
            "mean_wait_ms": round(total / count * 1000, 2) if count else 0.0,
            "waited_over_10ms": int(count - within_10ms),
            "no_connection_in_time": int(
                metric(values, "callcenter_http_pool_exhausted_total", api=api)
            ),
        }
    return report


def bucket_percentile(values: dict[str, float], name: str, fraction: float) -> float | None:
    """A histogram's percentile, as Prometheus estimates it: the bucket's upper bound."""
    buckets = sorted(
        (float(key.split('le="', 1)[1].split('"', 1)[0]), value)
        for key, value in values.items()
        if key.startswith(f"{name}_bucket{{") and 'le="+Inf"' not in key
    )
    total = metric(values, f"{name}_count")
    if not total:
        return None
    for bound, count in buckets:
        if count >= fraction * total:
            return bound
    return float("inf")


def frame_clock(values: dict[str, float]) -> dict:
    """How late the servers' 20 ms frame clock ticked (every call's audio leaves on it)."""
    name = "callcenter_frame_clock_lateness_seconds"
    ticks = metric(values, f"{name}_count")
    return {
        "ticks": int(ticks),
        "mean_late_ms": round(metric(values, f"{name}_sum") / ticks * 1000, 2) if ticks else None,
        "p99_late_ms_at_most": (
            None if not ticks else round(bucket_percentile(values, name, 0.99) * 1000, 1)
        ),
    }


def percentiles(values: list[float], fractions=(0.5, 0.95)) -> dict:
    """{"p50": ..., "p95": ..., "max": ...} (None without values)."""
    keys = [f"p{round(f * 100)}" for f in fractions] + ["max"]
    if not values:
        return dict.fromkeys(keys)
    ordered = sorted(values)
    figures = [ordered[min(len(ordered) - 1, int(len(ordered) * f))] for f in fractions]
    return dict(zip(keys, [round(v) for v in [*figures, ordered[-1]]], strict=True))


def database_figures(since: datetime, run_seconds: float, drain: float) -> dict:
    from django.db.models import Count

    from calls.models import Call, CallOutcome, Turn, TurnRole
    from calls.prompts import APOLOGY_NOT_UNDERSTOOD, APOLOGY_TRANSFER, prompt
    from orders.models import Notification, NotificationStatus, Order

    orders = Order.objects.filter(created_at__gte=since)
    notifications = Notification.objects.filter(order__in=orders)
    deadline = time.monotonic() + drain
    while (
        notifications.filter(status=NotificationStatus.PENDING).exists()
        and time.monotonic() < deadline
    ):
        time.sleep(2)
    counted = notifications.order_by().values_list("status").annotate(n=Count("id"))
    by_status = dict(counted.values_list("status", "n"))
    sent_after = [
        (sent - created).total_seconds() * 1000
        for created, sent in notifications.filter(sent_at__isnull=False).values_list(
            "created_at", "sent_at"
        )
    ]
    calls = Call.objects.filter(started_at__gte=since)
    outcomes = dict(
        calls.order_by().values_list("outcome").annotate(n=Count("id")).values_list("outcome", "n")
    )
    lags: dict[str, list[float]] = {TurnRole.CALLER: [], TurnRole.BOT: []}
    for role, created, started, end_ms in Turn.objects.filter(call__in=calls).values_list(
        "role", "created_at", "call__started_at", "end_ms"
    ):
        lag = (created - (started + timedelta(milliseconds=end_ms))).total_seconds() * 1000
        lags.setdefault(role, []).append(lag)
    bot_turns = Turn.objects.filter(call__in=calls, role=TurnRole.BOT)
    # Calls the caller hung up on while the bot had not yet answered (the run's end cuts calls
    # off): a speech failure there had nobody left to apologise to.
    last_role: dict = {}
    abandoned = calls.filter(outcome=CallOutcome.ABANDONED)
    for call_id, role in (
        Turn.objects.filter(call__in=abandoned).order_by("sequence").values_list("call", "role")
    ):
        last_role[call_id] = role
    cut_off = sum(role == TurnRole.CALLER for role in last_role.values())
    # Each answered turn's stages as the server timed them (from the end of the caller's speech).
    stages = {}
    for stage in ("total_ms", "endpoint_ms", "stt_ms", "agent_ms", "tts_ms"):
        timed = [v for v in bot_turns.values_list(stage, flat=True) if v is not None]
        stages[stage] = percentiles(timed, (0.5, 0.95, 0.99))
    # An apology counts when it was heard in full or in part (a caller who speaks over it cuts
    # it short: the turn then holds the words heard, ending in "…").
    wholes = {
        "not_understood": prompt(APOLOGY_NOT_UNDERSTOOD, "en"),
        "transfer": prompt(APOLOGY_TRANSFER, "en"),
    }
    texts = list(bot_turns.values_list("text", flat=True))
    apologies = {name: texts.count(whole) for name, whole in wholes.items()}
    apologies["cut_short"] = sum(
        text.endswith("…") and any(w.startswith(text[:-1].rstrip(",. ")) for w in wholes.values())
        for text in texts
    )
    minutes = max(run_seconds, 1) / 60
    return {
        "calls": calls.count(),
        "call_outcomes": outcomes,
        "transferred_calls": outcomes.get(CallOutcome.TRANSFERRED, 0),
        "orders_placed": orders.count(),
        "orders_per_minute": round(orders.count() / minutes, 1),
        "notifications": by_status,
        "notifications_sent": by_status.get(NotificationStatus.SENT, 0),
        "notification_sent_after_ms": percentiles(sent_after),
        "server_turn_stages_ms": stages,
        "turn_rows": sum(map(len, lags.values())),
        # A bot turn is handed to the recorder as its playback ends: its lag is the recorder's.
        # A caller turn is handed over once transcribed: endpointing and STT are in its lag.
        "recorder_lag_ms": {role: percentiles(values) for role, values in lags.items()},
        "apologies_spoken": apologies,
        "calls_cut_off_before_an_answer": cut_off,
    }


def judge(report: dict, locust: dict) -> list[str]:
    missed = []
    for api, pool in report["http_pools"].items():
        if pool["no_connection_in_time"]:
            missed.append(f"{api}: {pool['no_connection_in_time']} requests found no connection")
    errors = report["engine_errors"]
    surfaced = errors["stt"] + errors["tts"]
    spoken = sum(report["database"]["apologies_spoken"].values())
    cut_off = report["database"]["calls_cut_off_before_an_answer"]
    if spoken + cut_off < surfaced:
        missed.append(
            f"{surfaced} speech failures reached callers but {spoken} apologies were said "
            f"(and {cut_off} callers hung up before an answer)"
        )
    early = locust.get("calls_ended_by_bot_early", 0)
    if early > report["database"]["transferred_calls"]:
        missed.append(
            f"{early} calls ended early by the bot but {report['database']['transferred_calls']} "
            "were routed to an operator"
        )
    if report["live_monitor_events"]["dropped"] or report["live_monitor_events"]["failed"]:
        missed.append(f"live monitor events lost: {report['live_monitor_events']}")
    if report["standin"].get("not_recognised", 0):
        missed.append(f"{report['standin']['not_recognised']} uploads held no known utterance")
    if report["database"]["notifications"].get("pending"):
        missed.append(f"{report['database']['notifications']['pending']} notifications unsent")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--since", required=True, help="the run's start, ISO 8601 with offset")
    parser.add_argument("--run-seconds", type=float, required=True)
    parser.add_argument("--report", required=True, help="Locust's report prefix (<prefix>.json)")
    parser.add_argument("--metrics", action="append", default=[], help="a server's /metrics URL")
    parser.add_argument("--standin", default="", help="the speech stand-in's base URL")
    parser.add_argument("--drain", type=float, default=NOTIFICATION_DRAIN_SECONDS)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
    import django

    django.setup()
    values = scrape(args.metrics)
    standin = {}
    if args.standin:
        with urllib.request.urlopen(f"{args.standin}/standin/stats", timeout=5) as response:
            standin = json.load(response)
    since = datetime.fromisoformat(args.since)
    report = {
        "frame_clock": frame_clock(values),
        "live_monitor_events": {
            result: int(metric(values, "callcenter_live_events_total", result=result))
            for result in ("sent", "dropped", "failed")
        },
        "http_pools": pool_waits(values),
        "engine_errors": {
            stage: int(metric(values, "callcenter_engine_errors_total", stage=stage))
            for stage in ("stt", "tts", "agent")
        },
        "standin": standin,
        "database": database_figures(since, args.run_seconds, args.drain),
    }
    summary_path = Path(f"{args.report}.json")
    locust = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    missed = judge(report, locust)
    report["missed"] = missed
    locust["remote"] = report
    summary_path.write_text(json.dumps(locust, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    if missed:
        print("REMOTE CHECKS MISSED: " + "; ".join(missed))
        return 1
    print("remote checks met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
