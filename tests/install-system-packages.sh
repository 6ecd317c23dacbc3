#!/bin/sh
# The Debian packages the tests use beside the Python requirements, installed where missing (a
# no-op when all are there; apt-get, with sudo when not root):
#   chromium                          the browser tests (Playwright drives it; nothing is downloaded)
#   nginx-light                       the shipped reverse-proxy configuration in front of Daphne
#   asterisk-core-sounds-{en,ru}-wav  human telephone recordings for the speech tests
#   festival festvox-ru               a Russian caller's voice for the spoken-dialogue E2E tests
# Asterisk's own runtime libraries are installed by ../shared/asterisk/start-asterisk.sh.
set -e
missing=
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx-light"
for language in en ru; do
    [ -d /usr/share/asterisk/sounds/$language/digits ] \
        || missing="$missing asterisk-core-sounds-$language-wav asterisk-core-sounds-$language"
done
[ -d /usr/share/festival/voices/russian/msu_ru_nsh_clunits ] && command -v text2wave >/dev/null 2>&1 \
    || missing="$missing festival festvox-ru"
[ -n "$missing" ] || exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "The tests need these Debian packages (or your system's equivalents):$missing" >&2
    exit 1
fi
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing Debian packages for the tests:$missing"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
