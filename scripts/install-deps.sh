#!/usr/bin/env bash
# Installs the Debian 12 packages nmlab needs. Idempotent and fast when everything is present.
set -euo pipefail
pkgs=(cmake ninja-build g++ libeigen3-dev libboost-program-options-dev libhdf5-dev libyaml-cpp-dev
      libbenchmark-dev libgtest-dev libgmock-dev python3-h5py python3-matplotlib python3-numpy
      hdf5-tools dataset-fashion-mnist zlib1g-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
