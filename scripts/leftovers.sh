#!/usr/bin/env bash
# Lists what sandboxes leave behind on this machine — containers, volumes and networks labelled as
# labrun sandboxes on the host engine or labrun's sandbox engine, and mounted sandbox disks — and
# exits 1 if there is any. `npm test` runs it before and after the tests: anything new afterwards was
# leaked by a test, and fails the run.
set -uo pipefail
engines=("" "unix:///run/labrun-engine.sock")
found=0
for e in "${engines[@]}"; do
  h=(); [ -n "$e" ] && h=(-H "$e")
  docker "${h[@]}" info >/dev/null 2>&1 || continue
  name=${e:-host engine}
  for kind in container volume network; do
    case $kind in
      container) items=$(docker "${h[@]}" ps -a --filter label=labrun.sandbox=1 --format '{{.Names}} ({{.Label "labrun.lab"}})') ;;
      volume) items=$(docker "${h[@]}" volume ls --filter label=labrun.sandbox=1 --format '{{.Name}}') ;;
      network) items=$(docker "${h[@]}" network ls --filter label=labrun.sandbox=1 --format '{{.Name}}') ;;
    esac
    while IFS= read -r item; do
      [ -n "$item" ] || continue
      echo "leftover $kind on $name: $item"
      found=1
    done <<< "$items"
  done
done
# A sandbox disk is mounted at <state>/disks/<id>; golden builds at <golden>/<key>.building-*/mnt.
while IFS= read -r mnt; do
  [ -n "$mnt" ] || continue
  echo "leftover mount: $mnt"
  found=1
done < <(awk '$5 ~ /\/disks\/[a-z0-9]+$|\.building-[0-9a-f]+\/mnt$/ { print $5 }' /proc/self/mountinfo)
exit $found
