/*
 * cache.c — opening the cache directory (mirrors/ and trees/) and keeping
 * libgit2 initialised for as long as a cache is open.
 *
 * The root is made absolute once, here: snapshot alternates and overlayfs
 * lowerdir options carry absolute paths, so a relative root would break the
 * moment a job container or another process looks at them. Because the
 * snapshot paths end up in mount options, the root may not contain the
 * characters overlayfs uses as separators.
 */
#include "overlay/overlay_int.h"

#include "common/error.h"
#include "common/fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int overlay_cache_open(overlay_cache **out, const char *dir) {
  if (!dir || !*dir)
    return airgap_error_set(AIRGAP_EINVALID, "no cache directory given");
  if (strpbrk(dir, ",:\\ \t\n"))
    return airgap_error_set(AIRGAP_EINVALID,
                            "cache directory \"%s\" contains ',', ':', '\\' or whitespace, which "
                            "overlayfs mount options cannot carry; choose another path",
                            dir);
  int error = fs_mkdir_p(dir, 0755);
  if (error < 0)
    return error;
  overlay_cache *cache = calloc(1, sizeof(*cache));
  if (!cache)
    return airgap_error_set(AIRGAP_ERROR, "out of memory");
  cache->root = realpath(dir, NULL);
  if (!cache->root) {
    error = airgap_error_set_errno(AIRGAP_ERROR, "cannot resolve cache directory %s", dir);
    free(cache);
    return error;
  }
  if (git_libgit2_init() < 0) {
    error = ov_git_error(-1, "cannot initialise libgit2");
    free(cache->root);
    free(cache);
    return error;
  }
  cache->mirrors_dir = ov_strf("%s/mirrors", cache->root);
  cache->trees_dir = ov_strf("%s/trees", cache->root);
  if (!cache->mirrors_dir || !cache->trees_dir) {
    error = AIRGAP_ERROR;
    goto fail;
  }
  if ((error = ov_mkdir(cache->mirrors_dir, 0755)) < 0 ||
      (error = ov_mkdir(cache->trees_dir, 0755)) < 0)
    goto fail;
  *out = cache;
  return 0;
fail:
  overlay_cache_free(cache);
  return error;
}

void overlay_cache_free(overlay_cache *cache) {
  if (!cache)
    return;
  free(cache->root);
  free(cache->mirrors_dir);
  free(cache->trees_dir);
  free(cache);
  git_libgit2_shutdown();
}
