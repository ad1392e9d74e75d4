#!/usr/bin/env bash
# Install the external tools the metrics tests and `wirewatch` debugging use, if missing:
#   prometheus + promtool (Debian package `prometheus`) and kcat.
# Idempotent and quiet: it does nothing when the tools are on PATH, needs no stdin,
# and runs `apt-get update` only when the package lists are missing or stale for the
# package.  Run as root (CI) or with sudo available.
set -euo pipefail

need=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v kcat >/dev/null 2>&1 || need+=(kcat)
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-tools: apt-get not found; install ${need[*]} by hand" >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "ensure-tools: need root (or sudo) to install ${need[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
quietly() {
    # apt/debconf chatter goes to a log that is shown only when the step fails.
    if ! "$@" </dev/null >"$log" 2>&1; then
        cat "$log" >&2
        echo "ensure-tools: failed: $*" >&2
        exit 1
    fi
}

# Update the lists only if apt does not know a candidate for some package yet.
for pkg in "${need[@]}"; do
    if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        quietly $SUDO apt-get update -qq
        break
    fi
done
# --no-install-recommends keeps the node exporter and other extras out.
quietly $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"

for tool in prometheus promtool kcat; do
    command -v "$tool" >/dev/null 2>&1 || { echo "ensure-tools: $tool still missing after install" >&2; exit 1; }
done
