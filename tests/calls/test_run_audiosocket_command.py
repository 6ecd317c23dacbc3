"""The run_audiosocket command refuses bad options with a readable message before it binds."""

import ipaddress

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from calls.management.commands.run_audiosocket import Command


def _options(**changes) -> dict:
    parser = Command().create_parser("manage.py", "run_audiosocket")
    return {**vars(parser.parse_args([])), **changes}


def test_by_default_it_listens_on_loopback_and_allows_only_loopback_peers():
    config = Command.build_config(_options())
    assert (config.host, config.port, config.max_calls) == ("127.0.0.1", 9092, 200)
    assert config.allowed_peers == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )


def test_allowed_peers_are_read_as_networks():
    config = Command.build_config(_options(allow=["192.168.10.5", "10.0.0.0/8"]))
    assert ipaddress.ip_address("10.1.2.3") in config.allowed_peers[1]
    assert config.allowed_peers[0] == ipaddress.ip_network("192.168.10.5/32")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"port": 70000}, "--port 70000 is not a TCP port"),
        ({"max_calls": 0}, "--max-calls must be at least 1"),
        ({"max_pending": 0}, "--max-pending must be at least 1"),
        ({"idle_timeout": 0}, "--idle-timeout must be above 0"),
        ({"grace_period": -1}, "--grace-period cannot be negative"),
        ({"allow": ["asterisk.local"]}, "--allow 'asterisk.local' is not an address"),
    ],
)
def test_bad_options_are_refused_by_name(changes, message):
    with pytest.raises(CommandError, match=message):
        Command.build_config(_options(**changes))


def test_several_workers_need_a_fixed_port():
    with pytest.raises(CommandError, match="needs a fixed --port"):
        call_command("run_audiosocket", "--workers", "2", "--port", "0")
