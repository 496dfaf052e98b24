#!/usr/bin/env bash
# What the test suite needs besides Node and npm: the independent tools and peers that check every byte
# Signet produces (poppler's pdfsig, xmlsec1, openssl, mutool, qpdf, NSS's certutil/pk12util, xmllint),
# the peers it talks to (SoftHSM as a PKCS#11 token, Chromium for pages, python3-zeep as a SOAP client)
# and python3-lxml for the XAdES archive check. `npm test` runs this first: as root on Debian it installs
# what is missing; otherwise it names the packages in one line and stops.
set -euo pipefail

need=()
for tool in pdfsig:poppler-utils xmlsec1:xmlsec1 certutil:libnss3-tools pk12util:libnss3-tools mutool:mupdf-tools \
            openssl:openssl unzip:unzip softhsm2-util:softhsm2 chromium:chromium qpdf:qpdf xmllint:libxml2-utils; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
# Debian's own python3, whatever other python is first in PATH.
for module in lxml:python3-lxml zeep:python3-zeep; do
  if ! /usr/bin/python3 -c "import ${module%%:*}" >/dev/null 2>&1; then need+=("${module##*:}"); fi
done
[ ${#need[@]} -eq 0 ] && exit 0

# Each package once (libnss3-tools provides two of the tools).
declare -A seen=()
packages=()
for package in "${need[@]}"; do
  [ -n "${seen[$package]:-}" ] || packages+=("$package")
  seen[$package]=1
done
need=("${packages[@]}")
if [ "$EUID" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "test prerequisites: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "The tests need Debian packages that are missing. Install them, then run npm test again: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
