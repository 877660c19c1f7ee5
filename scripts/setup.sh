#!/usr/bin/env bash
# Set up the project on a fresh Debian 12 machine with Python 3.11.
#   bash scripts/setup.sh          runtime: system libraries for offscreen rendering, .venv with the packages
#   bash scripts/setup.sh --test   also the test tools: Chromium, mosquitto, Node's glTF validator and CesiumJS,
#                                  pytest, Playwright
set -euo pipefail
cd "$(dirname "$0")/.."
want_tests=0
[ "${1:-}" = "--test" ] && want_tests=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: Mesa EGL/GL for VTK's headless rendering; Chromium, Node and the mosquitto
# MQTT broker for the tests.
pkgs=(libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri libglu1-mesa libxrender1)
[ $want_tests = 1 ] && pkgs+=(chromium nodejs npm mosquitto)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
# Node/npm may come from elsewhere (e.g. nodesource); accept them if they are on PATH.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<< "${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
if [ $want_tests = 1 ]; then
  .venv/bin/python -m pip install -q -e ".[test]"
  # The official Khronos glTF validator (npm), kept outside the repository.
  npm_dir="${XDG_CACHE_HOME:-$HOME/.cache}/citytwin/npm"
  [ -d "$npm_dir/node_modules/gltf-validator" ] || npm install --silent --prefix "$npm_dir" gltf-validator >/dev/null
  # CesiumJS, the real 3D Tiles client the tests load the exported tileset in (offline).
  [ -d "$npm_dir/node_modules/cesium" ] || npm install --silent --prefix "$npm_dir" cesium >/dev/null
  # The tests start their own brokers; the packaged service is not needed.
  if command -v systemctl >/dev/null && systemctl is-active --quiet mosquitto 2>/dev/null; then
    as_root systemctl stop mosquitto || true
  fi
else
  .venv/bin/python -m pip install -q -e .
fi
echo "set up: $(.venv/bin/python --version), virtualenv .venv"
