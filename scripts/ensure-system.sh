#!/usr/bin/env bash
# Installs the Debian packages the tests need, when missing: Chromium (WebGPU on SwiftShader) and
# Mesa's lavapipe Vulkan driver from bookworm-backports (Debian 12's own Mesa 22 is refused by Dawn).
set -euo pipefail

lvp_icd=/usr/share/vulkan/icd.d/lvp_icd.json
mesa_ok() {
  [ -f "$lvp_icd" ] || return 1
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || echo 0)
  dpkg --compare-versions "$v" ge 24 && dpkg-query -W libvulkan1 >/dev/null 2>&1
}
chromium_ok() { [ -x /usr/bin/chromium ]; }

if mesa_ok && chromium_ok; then exit 0; fi

install_steps='
cat > /etc/apt/sources.list.d/backports.sources <<X
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
X
apt-get update
apt-get install -y libvulkan1 chromium
apt-get install -y -t bookworm-backports mesa-vulkan-drivers'

if [ "$(id -u)" != 0 ]; then
  echo "Missing system packages for the GPU tests (Chromium and/or Mesa lavapipe >= 24). As root, run:" >&2
  echo "$install_steps" >&2
  exit 1
fi

echo "Installing Chromium and Mesa lavapipe (bookworm-backports)..."
export DEBIAN_FRONTEND=noninteractive
if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
  cat > /etc/apt/sources.list.d/backports.sources <<X
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
X
fi
apt-get update -qq
apt-get install -y -qq libvulkan1 chromium >/dev/null
apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null
mesa_ok && chromium_ok || { echo "Install finished but Chromium or lavapipe is still missing" >&2; exit 1; }
