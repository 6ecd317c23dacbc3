"""Chromium through Playwright for the browser tests: a fake microphone fed from a WAV file,
logging in to the admin, and reading the database from the test while Playwright's sync API
holds an event loop in the test's thread (where Django refuses database calls)."""

import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connections

from calls.voice.audio import wav_bytes

CHROMIUM = "/usr/bin/chromium"


def write_wav(path: Path, pcm: bytes, rate: int) -> Path:
    """16-bit mono PCM as a WAV file, the format Chromium's fake audio capture reads."""
    path.write_bytes(wav_bytes(pcm, rate))
    return path


@contextmanager
def chromium(microphone: Path | None = None):
    """A headless Chromium; with `microphone`, getUserMedia hears that WAV file (looped) and
    asks nobody's permission."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        pytest.fail(f"the Python package playwright is needed for this test: {error}")
    args = []
    if microphone is not None:
        args = [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}",
        ]
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    except Exception as error:
        playwright.stop()
        pytest.fail(f"Chromium ({CHROMIUM}) could not start, so the page is untested: {error}")
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


def log_in(page, base: str, username: str, password: str, next_path: str):
    """Log in through the admin's form; returns the response of the page it lands on."""
    page.goto(f"{base}/admin/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation() as landing:
        page.click("input[type=submit]")
    page.wait_for_url(re.compile(re.escape(next_path) + "$"))
    return landing.value


def in_thread(function, *args):
    """Run a database read outside the test's thread (see the module's docstring)."""

    def run():
        try:
            return function(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result(timeout=120)
