# deploy/image-lib.sh — what deploy/emulator-image and deploy/airgap-image
# share, sourced by both: a root file system of airgap executables, the
# libraries they load and busybox, `docker import`ed with no registry.
# The caller sets `me` (its name, for messages) and `root_dir`.

# Debian's static busybox, or a clear error.
image_busybox_path() {
  local busybox
  busybox=$(dpkg -L busybox-static 2>/dev/null | grep -E '/bin/busybox$' | head -n1 || true)
  [ -n "$busybox" ] && [ -x "$busybox" ] || { echo "$me: busybox-static is not installed; run deploy/install-deps" >&2; exit 1; }
  echo "$busybox"
}

# image_copy_libraries ROOTFS EXE...: the shared libraries each executable
# loads (and the loader), at the paths it loads them from, and those the
# emulator loads on demand (EMULATOR_ON_DEMAND_LIBRARIES: libzip, libcurl).
image_copy_libraries() {
  local rootfs=$1 exe on_demand
  shift
  on_demand=$(sed -n 's/^#define EMULATOR_ON_DEMAND_LIBRARIES "\(.*\)"$/\1/p' "$root_dir/emulator/emulator.h")
  for exe in "$@"; do
    LD_TRACE_LOADED_OBJECTS=1 LD_PRELOAD="$on_demand" "$exe" 2>/dev/null |
      awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
  done | sort -u | while read -r lib; do cp -L --parents "$lib" "$rootfs"; done
}

# image_add_busybox ROOTFS BUSYBOX: /bin/busybox, its applet links, and the
# passwd and group files of root and nobody.
image_add_busybox() {
  local rootfs=$1 busybox=$2
  install -m 0755 "$busybox" "$rootfs/bin/busybox"
  "$busybox" --list-full | while IFS= read -r applet; do
    [ "$applet" = bin/busybox ] || [ -e "$rootfs/$applet" ] || { mkdir -p "$rootfs/$(dirname "$applet")"; ln -s /bin/busybox "$rootfs/$applet"; }
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
}

# image_import ROOTFS TAG [--change …]...: imports the tree as TAG; the image
# it replaced, untagged now, is removed unless a container uses it.
image_import() {
  local rootfs=$1 tag=$2 old_id
  shift 2
  old_id=$(docker image inspect -f '{{ .Id }}' "$tag" 2>/dev/null || true)
  tar -C "$rootfs" --numeric-owner -c . | docker import "$@" - "$tag" >/dev/null
  if [ -n "$old_id" ] && [ "$old_id" != "$(docker image inspect -f '{{ .Id }}' "$tag")" ]; then
    docker image rm "$old_id" >/dev/null 2>&1 || true
  fi
}
