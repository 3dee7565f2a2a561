#!/bin/sh
# Install every build, test and benchmark dependency of ota from Debian 12
# packages. Idempotent: packages already present are left alone, and apt-get
# is only asked when something is missing.
set -eu

PKGS="build-essential cmake pkg-config
libmicrohttpd-dev libcurl4-openssl-dev libcjson-dev libssl-dev libsqlite3-dev
libcmocka-dev
gcc-arm-none-eabi libnewlib-arm-none-eabi
clang llvm libclang-rt-14-dev
nginx-light wrk nghttp2-client curl python3 ca-certificates"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all dependencies present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing:$missing" >&2
	echo "install-deps: run as root (or with sudo) to install them" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
# nginx-light's package starts a system nginx on port 80; the benchmark
# starts its own on loopback, so the system one is not needed.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now nginx >/dev/null 2>&1 || true
fi
