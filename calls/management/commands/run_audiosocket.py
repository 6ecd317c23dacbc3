"""`manage.py run_audiosocket`: the AudioSocket server that Asterisk connects to."""

import ipaddress

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from calls.audiosocket.process import serve, serve_workers
from calls.audiosocket.server import ServerConfig
from calls.language_settings import shop_languages


class Command(BaseCommand):
    help = "Serve phone calls from Asterisk over AudioSocket (TCP)."
    requires_system_checks = ["__all__"]

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--host",
            default=settings.AUDIOSOCKET_HOST,
            help="Address to listen on (default %(default)s: loopback only).",
        )
        parser.add_argument(
            "--port",
            type=int,
            default=settings.AUDIOSOCKET_PORT,
            help="TCP port (default %(default)s; 0 picks a free one).",
        )
        parser.add_argument(
            "--max-calls",
            type=int,
            default=settings.AUDIOSOCKET_MAX_CALLS,
            help="Calls served at once per process; more hear a busy message.",
        )
        parser.add_argument(
            "--max-pending",
            type=int,
            default=settings.AUDIOSOCKET_MAX_PENDING,
            help="Connections that may wait for their UUID at once per process; more are "
            "closed at once.",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=settings.AUDIOSOCKET_WORKERS,
            help="Processes sharing the port through SO_REUSEPORT.",
        )
        parser.add_argument(
            "--handshake-timeout",
            type=float,
            default=settings.AUDIOSOCKET_HANDSHAKE_TIMEOUT,
            help="Seconds a new connection has to send its UUID.",
        )
        parser.add_argument(
            "--idle-timeout",
            type=float,
            default=settings.AUDIOSOCKET_IDLE_TIMEOUT,
            help="Seconds without a packet before a call is ended.",
        )
        parser.add_argument(
            "--grace-period",
            type=float,
            default=settings.AUDIOSOCKET_GRACE_PERIOD,
            help="Seconds live calls may go on after SIGTERM.",
        )
        parser.add_argument(
            "--allow",
            action="append",
            default=None,
            metavar="NETWORK",
            help="Peer address or network allowed to connect (repeatable; "
            "default: AUDIOSOCKET_ALLOWED_PEERS, loopback).",
        )
        parser.add_argument(
            "--metrics-port",
            type=int,
            default=settings.AUDIOSOCKET_METRICS_PORT,
            help="Serve /metrics (Prometheus) and /healthz over HTTP on PORT "
            "(0: off; worker i uses PORT + i).",
        )
        parser.add_argument(
            "--metrics-host",
            default=settings.AUDIOSOCKET_METRICS_HOST,
            help="Address the /metrics and /healthz endpoint binds to "
            "(default %(default)s: loopback only).",
        )

    def handle(self, *args, **options) -> None:
        config = self.build_config(options)
        workers = options["workers"]
        if workers < 1:
            raise CommandError("--workers must be at least 1.")
        if workers > 1 and config.port == 0:
            raise CommandError("--workers above 1 needs a fixed --port (they share it).")
        status = serve_workers(config, workers) if workers > 1 else serve(config)
        if status:
            raise CommandError(f"the AudioSocket server stopped with status {status}")

    @staticmethod
    def build_config(options: dict) -> ServerConfig:
        for name in ("port", "metrics_port"):
            if not 0 <= options[name] <= 65535:
                raise CommandError(f"--{name.replace('_', '-')} {options[name]} is not a TCP port.")
        for name in ("max_calls", "max_pending"):
            if options[name] < 1:
                raise CommandError(f"--{name.replace('_', '-')} must be at least 1.")
        for name in ("handshake_timeout", "idle_timeout"):
            if options[name] <= 0:
                raise CommandError(f"--{name.replace('_', '-')} must be above 0 seconds.")
        if options["grace_period"] < 0:
            raise CommandError("--grace-period cannot be negative.")
        allowed = []
        for entry in options["allow"] or settings.AUDIOSOCKET_ALLOWED_PEERS:
            try:
                allowed.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError as error:
                raise CommandError(
                    f"--allow {entry!r} is not an address or network: {error}"
                ) from error
        return ServerConfig(
            host=options["host"],
            port=options["port"],
            max_calls=options["max_calls"],
            max_pending=options["max_pending"],
            handshake_timeout=options["handshake_timeout"],
            idle_timeout=options["idle_timeout"],
            grace_period=options["grace_period"],
            allowed_peers=tuple(allowed),
            language=shop_languages()[0],
            languages=shop_languages(),
            metrics_port=options["metrics_port"],
            metrics_host=options["metrics_host"],
        )
