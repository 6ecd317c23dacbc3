"""Local stand-ins for the services a shop's notifications go to, for tests only: a webhook
receiver and an HTTP SMS gateway. Both record every request and can be down on purpose."""

from tests.helpers.fake_speech_api import APIFailure, FakeAPI, Request

SMS_TOKEN = "sms-gateway-test-token"


class FakeReceivers(FakeAPI):
    WEBHOOK = "/hooks/orders"
    SMS = "/sms"

    @property
    def webhook_url(self) -> str:
        return self.url + self.WEBHOOK

    @property
    def sms_url(self) -> str:
        return self.url + self.SMS

    def routes(self) -> dict:
        return {self.WEBHOOK: self._ok, self.SMS: self._sms}

    def received(self, path: str) -> list[Request]:
        """Requests to `path` that were answered with success."""
        return [r for r in self.requests if r.path == path and 200 <= r.status < 300]

    def _ok(self, request: Request) -> tuple[int, str, bytes]:
        return 200, "application/json", b'{"ok": true}'

    def _sms(self, request: Request) -> tuple[int, str, bytes]:
        if request.headers.get("authorization") != f"Bearer {SMS_TOKEN}":
            raise APIFailure(401, "bad token")
        if not request.json or not request.json.get("to") or not request.json.get("text"):
            raise APIFailure(400, "to and text are required")
        return 202, "application/json", b'{"queued": true}'
