#!/bin/bash
# edgefleet first-boot installer for Raspberry Pi OS.
#
# fleet-image prepare copies this script, with its payload, to
# /boot/firmware/edgefleet/ on the SD card. It runs once at first boot, as root:
# from firstrun.sh (bookworm, systemd.run= on the kernel command line) or from
# cloud-init's runcmd (trixie). It
#   1. creates the system user "edgefleet" (groups gpio, dialout, i2c, spi when present),
#   2. installs edgefleet into /opt/edgefleet/venv from the wheels in bundle/, offline,
#   3. writes /etc/edgefleet/minion.yaml, with the id given or derived from the serial number,
#   4. moves the secrets (device key, claim token, Wi-Fi key) into place and deletes them
#      from the boot partition,
#   5. installs the hardened edge-minion.service, the power helper and its sudoers rule,
#      enables the service and (unless --no-start) starts it.
# Running it again changes nothing: every step compares before it writes.
#
# Usage: firstboot.sh [--no-start] [--no-system]
#   --no-start    enable the service but do not start it (firstrun.sh: a reboot follows)
#   --no-system   skip what needs a real system (useradd, chown, systemctl, nmcli, rfkill),
#                 for tests with ROOT=/scratch/dir
# Environment:
#   ROOT          install under this directory instead of / (tests, image building)
#   EDGEFLEET_SRC the payload directory (default: this script's directory)
#   PYTHON        the interpreter for the virtual environment (default: python3)
#   EDGEFLEET_PROC the proc/sys root for the serial number (default: $ROOT)
set -euo pipefail
shopt -s inherit_errexit  # a failure inside $(...) stops the script too
umask 022

SRC=${EDGEFLEET_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
ROOT=${ROOT:-}
ROOT=${ROOT%/}
HW=${EDGEFLEET_PROC:-$ROOT}
PYTHON=${PYTHON:-python3}
START=1
SYSTEM=1
for arg in "$@"; do
  case $arg in
    --no-start) START=0 ;;
    --no-system) SYSTEM=0 ;;
    *) echo "firstboot.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

USER_NAME=edgefleet
PREFIX=/opt/edgefleet
VENV=$PREFIX/venv
CONF_DIR=/etc/edgefleet
STATE=/var/lib/edgefleet/minion
UNIT=/etc/systemd/system/edge-minion.service
WANTS=/etc/systemd/system/multi-user.target.wants/edge-minion.service
HELPER=/usr/local/libexec/edgefleet-power
SUDOERS=/etc/sudoers.d/edgefleet-power
WIFI=/etc/NetworkManager/system-connections/edgefleet-wifi.nmconnection

log() { printf 'edgefleet-firstboot: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# put_file SOURCE DEST MODE: install SOURCE as DEST with MODE unless it is there already.
put_file() {
  local src=$1 dest=$ROOT$2 mode=$3
  if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "${mode#0}" ]; then
    return 0
  fi
  install -D -m "$mode" "$src" "$dest"
  log "installed $2"
}

# take_secret NAME DEST MODE: move a secret from the boot partition into place.
take_secret() {
  local name=$1
  [ -f "$SRC/$name" ] || return 0
  put_file "$SRC/$name" "$2" "$3"
  rm -f "$SRC/$name"
  log "removed $name from the boot partition"
}

serial_number() {
  local f serial=""
  for f in "$HW/sys/firmware/devicetree/base/serial-number" "$HW/proc/device-tree/serial-number"; do
    if [ -r "$f" ]; then serial=$(tr -d '\0' <"$f"); break; fi
  done
  if [ -z "$serial" ] && [ -r "$HW/proc/cpuinfo" ]; then
    serial=$(sed -n 's/^Serial[[:space:]]*:[[:space:]]*//p' "$HW/proc/cpuinfo" | head -n 1)
  fi
  serial=$(printf '%s' "$serial" | tr -d '[:space:]' | tr 'A-F' 'a-f' | sed 's/^0*//')
  [ -n "$serial" ] || die "no serial number in $HW/proc/cpuinfo or the device tree (use --id)"
  printf '%s\n' "$serial"
}

minion_id() {
  local id
  if [ -n "${EDGEFLEET_ID:-}" ]; then
    id=$EDGEFLEET_ID
  elif [ "${EDGEFLEET_ID_FROM:-}" = serial ]; then
    local serial
    serial=$(serial_number)
    id="${EDGEFLEET_ID_PREFIX:-}$serial"
  else
    die "firstboot.env sets neither EDGEFLEET_ID nor EDGEFLEET_ID_FROM=serial"
  fi
  [[ $id =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]] || die "invalid minion id '$id'"
  printf '%s\n' "$id"
}

create_user() {
  [ "$SYSTEM" = 1 ] || return 0
  if ! getent passwd "$USER_NAME" >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/edgefleet --no-create-home \
      --shell /usr/sbin/nologin --comment "edgefleet minion" "$USER_NAME"
    log "created user $USER_NAME"
  fi
  local group
  for group in gpio dialout i2c spi; do
    if getent group "$group" >/dev/null && ! id -nG "$USER_NAME" | tr ' ' '\n' | grep -qx "$group"; then
      usermod -a -G "$group" "$USER_NAME"
      log "added $USER_NAME to group $group"
    fi
  done
}

install_venv() {
  local bundle=$SRC/bundle marker=$ROOT$PREFIX/bundle.sha256 digest pip_wheel
  [ -f "$bundle/manifest.json" ] || die "no install bundle in $bundle"
  digest=$(sha256sum "$bundle/manifest.json" | cut -d' ' -f1)
  if [ -x "$ROOT$VENV/bin/edge-minion" ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$digest" ]; then
    return 0
  fi
  if [ ! -x "$ROOT$VENV/bin/python" ]; then
    "$PYTHON" -m venv --without-pip "$ROOT$VENV"
    log "created $VENV"
  fi
  pip_wheel=$(find "$bundle" -maxdepth 1 -name 'pip-*.whl' | sort | tail -n 1)
  [ -n "$pip_wheel" ] || die "no pip wheel in $bundle"
  # No index, no configuration, no network: only the wheels on the card.
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root PIP_CONFIG_FILE=/dev/null \
    "$ROOT$VENV/bin/python" "$pip_wheel/pip" install --no-index --find-links "$bundle" \
    --no-cache-dir --disable-pip-version-check --no-warn-script-location --quiet --upgrade edgefleet
  printf '%s\n' "$digest" >"$marker"
  log "installed edgefleet into $VENV from the bundle"
}

install_config() {
  local id=$1 tmp
  tmp=$(mktemp)
  { printf 'id: %s\n' "$id"; cat "$SRC/minion.yaml"; } >"$tmp"
  put_file "$tmp" "$CONF_DIR/minion.yaml" 0640
  rm -f "$tmp"
  install -d -m 0700 "$ROOT$STATE" "$ROOT$STATE/pki"
  take_secret pki/minion.pem "$STATE/pki/minion.pem" 0400
  take_secret pki/minion.pub "$STATE/pki/minion.pub" 0644
  if [ -f "$SRC/pki/minion_master.pub" ]; then
    put_file "$SRC/pki/minion_master.pub" "$STATE/pki/minion_master.pub" 0644
  fi
  take_secret claim_token "$STATE/claim_token" 0600
  if [ "$SYSTEM" = 1 ]; then
    chgrp "$USER_NAME" "$ROOT$CONF_DIR/minion.yaml"
    chown -R "$USER_NAME:$USER_NAME" "$ROOT/var/lib/edgefleet"
  fi
}

install_wifi() {
  [ -f "$SRC/wifi.nmconnection" ] || return 0
  take_secret wifi.nmconnection "$WIFI" 0600
  if [ "$SYSTEM" = 1 ]; then
    if [ -n "${EDGEFLEET_WIFI_COUNTRY:-}" ] && command -v raspi-config >/dev/null; then
      raspi-config nonint do_wifi_country "$EDGEFLEET_WIFI_COUNTRY" || log "could not set the Wi-Fi country"
    fi
    rfkill unblock wifi 2>/dev/null || true
    nmcli connection reload 2>/dev/null || true
  fi
}

install_service() {
  put_file "$SRC/edgefleet-power" "$HELPER" 0755
  if command -v visudo >/dev/null && ! visudo -cqf "$SRC/edgefleet-power.sudoers"; then
    die "edgefleet-power.sudoers does not parse; not installing it"
  fi
  put_file "$SRC/edgefleet-power.sudoers" "$SUDOERS" 0440
  put_file "$SRC/edge-minion.service" "$UNIT" 0644
  # What "systemctl enable" does for WantedBy=multi-user.target; works without a running systemd.
  if [ "$(readlink "$ROOT$WANTS" 2>/dev/null)" != "$UNIT" ]; then
    mkdir -p "$(dirname "$ROOT$WANTS")"
    ln -sfn "$UNIT" "$ROOT$WANTS"
    log "enabled edge-minion.service"
  fi
  if [ "$SYSTEM" = 1 ]; then
    systemctl daemon-reload
    if [ "$START" = 1 ]; then
      systemctl start --no-block edge-minion.service
    fi
  fi
}

main() {
  [ -f "$SRC/firstboot.env" ] || die "no firstboot.env in $SRC"
  # shellcheck source=/dev/null
  . "$SRC/firstboot.env"
  local id
  id=$(minion_id)
  log "installing the edgefleet minion as '$id' (payload $SRC, root ${ROOT:-/})"
  create_user
  install_venv
  install_config "$id"
  install_wifi
  install_service
  sync
  log "done"
}

main
