#!/bin/sh
# stage_images.sh BIN_DIR WEB_DIR OUT_DIR: lays out each image's files, OUT_DIR/<name>/...
# (<name> is the binary without "evc-": central, cp-fleet, evcctl...), with
# /usr/local/bin/evc-entrypoint pointing at the binary and the web apps in the edge's.
# Used by services/Dockerfile's build stage and by `./evc stage` (Tilt's host builds).
set -eu
bin_dir="$1"; web_dir="$2"; out="$3"
rm -rf "$out"
for bin in "$bin_dir"/*; do
  file="$(basename "$bin")"
  [ "$file" = evc-bench ] && continue   # built with the tests only
  name="${file#evc-}"
  install -D -m 0755 "$bin" "$out/$name/usr/local/bin/$file"
  ln -s "$file" "$out/$name/usr/local/bin/evc-entrypoint"
done
mkdir -p "$out/edge/usr/share/evc"
cp -r "$web_dir" "$out/edge/usr/share/evc/web"
