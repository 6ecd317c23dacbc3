"""The process around the AudioSocket server: one event loop until SIGTERM or SIGINT, then a
drain; or N worker processes sharing the port (SO_REUSEPORT), supervised and restarted."""

import asyncio
import logging
import multiprocessing
import os
import signal
import time
from contextlib import AsyncExitStack
from dataclasses import replace

from django.db import connections

from .server import AudioSocketServer, ServerConfig

logger = logging.getLogger(__name__)


def serve(config: ServerConfig, ready_message: bool = True) -> int:
    """Run one server process until SIGTERM or SIGINT, then drain. Returns the exit status."""
    return asyncio.run(_serve(config, ready_message))


async def _serve(config: ServerConfig, ready_message: bool) -> int:
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[signal.Signals] = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda s=sig: stop.done() or stop.set_result(s))
    async with AsyncExitStack() as stack:
        server = AudioSocketServer(config)
        await server.start()
        stack.push_async_callback(server.shutdown)
        if ready_message:
            print(
                f"AudioSocket server (pid {os.getpid()}) listening on "
                f"{config.host}:{server.port}, up to {config.max_calls} calls",
                flush=True,
            )
        received = await stop
        logger.info("received %s: stopping", received.name)
    return 0


def serve_workers(config: ServerConfig, workers: int) -> int:
    """Run `workers` server processes on one port (SO_REUSEPORT) and supervise them."""
    context = multiprocessing.get_context("fork")
    connections.close_all()  # never share a database connection across a fork
    config = replace(config, reuse_port=True)
    processes: dict[int, multiprocessing.Process] = {}
    stopping = False

    def start(index: int) -> None:
        worker_config = replace(
            config, metrics_port=config.metrics_port + index if config.metrics_port else 0
        )
        process = context.Process(
            target=_worker_main, args=(worker_config,), name=f"audiosocket-{index}"
        )
        process.start()
        processes[index] = process

    def forward(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for process in processes.values():
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    for index in range(workers):
        start(index)
    status = 0
    while processes:
        for index, process in list(processes.items()):
            process.join(timeout=0.2)
            if process.is_alive():
                continue
            del processes[index]
            if process.exitcode != 0:
                status = 1
                if not stopping:
                    logger.error("worker %d exited with %s; restarting it", index, process.exitcode)
                    time.sleep(1)
                    start(index)
    return 0 if stopping else status


def _worker_main(config: ServerConfig) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    raise SystemExit(serve(config))
