"""The rule-based agent's time per turn: every dialogue of the corpus (tests/agent/dialogues/)
played to the agent on the sample catalog, in a throw-away test database; prints the mean, p50,
p95 and max of `turn()` in milliseconds, over all turns and over the turns that place no order
(placing one is the order service's work, and an agent that takes more orders places more).

    .venv/bin/python loadtests/bench_agent_turns.py [--agent calls.agent.rules.RuleBasedAgent]
        [--rounds 3]
"""

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--agent", default="calls.agent.rules.RuleBasedAgent")
    parser.add_argument("--rounds", type=int, default=3, help="times the corpus is played")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils.module_loading import import_string

    from calls.agent.base import CallContext
    from catalog.sample_catalog import load_sample_catalog
    from orders.models import Order
    from tests.agent.corpus import load_dialogues

    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        load_sample_catalog()
        agent = import_string(args.agent)()
        dialogues = load_dialogues()
        times: list[float] = []
        talking: list[float] = []  # the turns that placed no order
        for _ in range(args.rounds):
            for dialogue in dialogues:
                with transaction.atomic():
                    context = CallContext(
                        uuid.uuid4(), dialogue.language, caller_number=dialogue.caller_number
                    )
                    for turn in dialogue.turns:
                        orders = Order.objects.count()
                        started = time.perf_counter()
                        agent.turn(context, turn.text, keyed=turn.keyed)
                        took = (time.perf_counter() - started) * 1000
                        times.append(took)
                        if Order.objects.count() == orders:
                            talking.append(took)
                    transaction.set_rollback(True)  # every round on the same catalog
        print(f"{args.agent}, {len(dialogues)} dialogues x {args.rounds}:")
        for name, figures in (("all turns", times), ("turns placing no order", talking)):
            figures.sort()
            p95 = figures[int(len(figures) * 0.95) - 1]
            print(
                f"  {name}: {len(figures)}, mean {statistics.fmean(figures):.2f} ms, "
                f"p50 {statistics.median(figures):.2f} ms, p95 {p95:.2f} ms, "
                f"max {figures[-1]:.2f} ms"
            )
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
