#!/bin/sh
# Installs every Debian 12 package vigil needs to build, test and benchmark.
# One list, used by `make demo`, `make test` and CI. Idempotent: does nothing
# when every package is already present. Needs root (or sudo) and apt.
set -eu

PACKAGES="
build-essential pkg-config meson ninja-build
libgmime-3.0-dev libgumbo-dev libcurl4-openssl-dev libpsl-dev libidn2-dev
libicu-dev libyara-dev libsqlite3-dev libmilter-dev
libjansson-dev libjemalloc-dev libssl-dev libmagic-dev libarchive-dev libcmocka-dev libmicrohttpd-dev
zlib1g-dev tzdata
libglib2.0-dev
python3
postfix
chromium fonts-dejavu-core
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
	if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
		echo "install-deps: need root to install:$missing" >&2; exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
# postfix (the milter tests' private MTA, tests/postfix/harness.py) asks
# which mail setup to write: none. It then writes no main.cf and starts
# nothing; the tests run their own instance.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
