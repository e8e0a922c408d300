#!/usr/bin/env bash
# Installs bubblewrap (the code interpreter's sandbox) from Debian's packages when it is missing: as root,
# or through sudo when it asks for no password. Otherwise it says what to do; the server then reports the
# interpreter as unavailable rather than running code unsandboxed.
set -uo pipefail
command -v bwrap >/dev/null 2>&1 && exit 0
install=(apt-get install -y -qq bubblewrap)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null) && exit 0
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && command -v apt-get >/dev/null 2>&1; then
  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null) && exit 0
fi
echo "warning: bubblewrap (bwrap) is not installed and could not be installed here; the code interpreter" >&2
echo "         will refuse to run code until it is (Debian/Ubuntu: sudo apt install bubblewrap)." >&2
exit 0
