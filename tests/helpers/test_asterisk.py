"""Where the real-PBX tests find Asterisk, and what they do where there is none: skip and say how
to get one on a developer's machine, fail where CI requires them (ASTERISK_REQUIRED)."""

import pytest

from tests.helpers import asterisk
from tests.helpers.asterisk import find_build, require_build


@pytest.fixture
def no_build(tmp_path, monkeypatch):
    """No unpacked build at ASTERISK_DIR and no tarball in ../shared/asterisk."""
    monkeypatch.setenv("ASTERISK_DIR", str(tmp_path / "not-a-build"))
    monkeypatch.setattr(asterisk, "SHARED", tmp_path / "shared")
    monkeypatch.delenv(asterisk.REQUIRED, raising=False)
    return tmp_path


def test_a_build_is_found_through_asterisk_dir_first_then_the_shared_tarball(no_build, monkeypatch):
    shared = no_build / "shared"
    shared.mkdir()
    (shared / "asterisk-min-22.10.1.tar.gz").write_bytes(b"")
    assert find_build() == (None, shared / "asterisk-min-22.10.1.tar.gz")

    unpacked = no_build / "unpacked"
    (unpacked / "sbin").mkdir(parents=True)
    (unpacked / "sbin" / "asterisk").write_bytes(b"")
    monkeypatch.setenv("ASTERISK_DIR", str(unpacked))
    assert find_build() == (unpacked, None)
    require_build()  # neither skips nor fails


def test_without_a_build_the_tests_skip_and_say_how_to_get_one(no_build):
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_build()
    assert "set ASTERISK_DIR" in str(skipped.value)
    assert "asterisk-min-*.tar.gz in ../shared/asterisk" in str(skipped.value)


def test_where_ci_requires_asterisk_a_missing_build_fails_the_tests(no_build, monkeypatch):
    monkeypatch.setenv(asterisk.REQUIRED, "1")
    with pytest.raises(pytest.fail.Exception) as failed:
        require_build()
    assert "ASTERISK_REQUIRED is set" in str(failed.value)
    assert "set ASTERISK_DIR" in str(failed.value)
