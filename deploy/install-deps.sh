#!/usr/bin/env bash
# Installs everything vigia needs to build, test and run, from Debian 12
# packages only. Idempotent: a second run changes nothing. Run as root.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git
  clang-14 libfuzzer-14-dev libclang-rt-14-dev clang-format
  # libraries vigia links against
  librdkafka-dev libsimdjson-dev prometheus-cpp-dev libabsl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev
  libzstd-dev zlib1g-dev libcurl4-openssl-dev
  libssl-dev  # libcrypto: SHA-256, Ed25519 for evidence packages; libssl:
              # TLS on the metrics port
  libcrypt-dev  # crypt(3) hashes for /metrics basic auth
  # real servers and tools the tests and operators use (openssl: password
  # hashes in the /metrics auth test and the CA and certificates of the
  # metrics TLS test, as docs/metrics.md tells operators, and evidence
  # signing keys, as docs/evidence.md tells them)
  prometheus prometheus-alertmanager kcat zstd openssl
  # a real browser for the after-action report's test (tests/report_e2e_test)
  chromium
  # deployment-file checks (deploy/CMakeLists.txt); systemd for
  # systemd-analyze verify of deploy/vigia.service
  python3 python3-yaml systemd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run as root" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
