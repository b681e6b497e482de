#!/bin/bash
# edgefleet: run once at first boot on Raspberry Pi OS bookworm.
#
# fleet-image prepare puts this file on the boot partition and appends
#   systemd.run=/boot/firmware/firstrun.sh systemd.run_success_action=reboot
#   systemd.unit=kernel-command-line.target
# to cmdline.txt, as Raspberry Pi Imager does. It runs an earlier firstrun.sh
# (Imager's settings) if the image had one, then the edgefleet installer, then
# takes itself off the kernel command line and deletes itself; the Pi reboots
# and edge-minion.service starts. The installer's output is kept on the boot
# partition (edgefleet/firstboot.log), readable with a card reader.
set +e
BOOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LOG=$BOOT/edgefleet/firstboot.log

if [ -f "$BOOT/edgefleet/previous-firstrun.sh" ]; then
  bash "$BOOT/edgefleet/previous-firstrun.sh" >>"$LOG" 2>&1
  rm -f "$BOOT/edgefleet/previous-firstrun.sh"
fi
bash "$BOOT/edgefleet/firstboot.sh" --no-start >>"$LOG" 2>&1
echo "firstboot.sh exited $?" >>"$LOG"

# Boot normally from now on, whatever happened: the log says what to fix.
sed -i -E 's/ systemd\.run(_success_action|_failure_action)?=[^ ]*//g; s/ systemd\.unit=kernel-command-line\.target//g' \
  "$BOOT/cmdline.txt"
rm -f "$BOOT/firstrun.sh"
exit 0
