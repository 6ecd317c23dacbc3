#!/bin/sh
# The browser tests drive Debian's Chromium through Playwright (nothing is downloaded by
# Playwright itself). Installs the `chromium` package where it is missing; a no-op otherwise.
set -e
command -v chromium >/dev/null 2>&1 && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "The browser tests need Chromium: install it with your package manager" >&2
    echo "(Debian/Ubuntu: apt-get install chromium), so that 'chromium' is on the PATH." >&2
    exit 1
fi
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
echo "installing Debian's chromium for the browser tests"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
