/*
 * path: confine request paths to a root directory.
 *
 * Two steps, both needed. path_normalize() works on the decoded request
 * path as text: it drops empty and "." components and refuses "..",
 * backslashes and control bytes, so a traversal attempt is recognised and
 * answered 403 before the filesystem is touched. path_resolve() then asks
 * the filesystem (realpath) where the result really is and refuses anything
 * that is not the root or below it, compared by whole path components (so
 * "/srv/fw2" is not inside "/srv/fw"). Symbolic links that stay inside the
 * root are followed; links that lead out are treated as missing.
 * This module knows paths, not HTTP.
 */
#ifndef OTA_PATH_H
#define OTA_PATH_H

#include <stdbool.h>
#include <stddef.h>

#include <ota/status.h>

/*
 * Normalises a decoded, '/'-separated relative path into out[outsz]:
 * leading, repeated and trailing slashes and "." components removed.
 * "" means the root itself. OTA_E_FORBIDDEN for "..", '\\' or a byte below
 * 0x20 or 0x7f; OTA_E_TOO_LARGE if it won't fit.
 */
__attribute__((warn_unused_result))
enum ota_status path_normalize(const char *in, char *out, size_t outsz);

/* True if p is root or lies below it, by whole components. Both canonical. */
bool path_is_within(const char *root, const char *p);

/*
 * Resolves a normalised relative path under a canonical root (as from
 * realpath) into out[outsz], symlinks resolved. OTA_E_NOTFOUND if it does
 * not exist or leads outside the root, OTA_E_FORBIDDEN on EACCES, OTA_E_IO
 * otherwise (errno set).
 */
__attribute__((warn_unused_result))
enum ota_status path_resolve(const char *root, const char *rel, char *out,
    size_t outsz);

/*
 * Opens the file at a normalised relative path under a canonical root for
 * reading, with the same confinement as path_resolve: into *fd, owned by
 * the caller. rootfd is the root opened as a directory. The fast path is
 * one openat2(RESOLVE_BENEATH) call, where the kernel refuses any step out
 * of the root; only when it says a link would leave (an absolute link, which
 * may still point inside) or lacks openat2 is path_resolve asked, so the
 * answer is the same either way. Any file type is opened: the caller checks.
 * OTA_E_NOTFOUND, OTA_E_FORBIDDEN or OTA_E_IO as path_resolve.
 */
__attribute__((warn_unused_result))
enum ota_status path_open(const char *root, int rootfd, const char *rel,
    int *fd);

/* The last component of p (a pointer into p). */
const char *path_basename(const char *p);

#endif
