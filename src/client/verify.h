/*
 * verify: nothing leaves staging unverified. A file is checked while it
 * streams in (and again over what a resumed download already had) against
 * what the feed promised: its size, its Git blob SHA-1 (GitHub feeds: the
 * listing's "sha" is sha1("blob <size>\0" + bytes)) and its SHA-256 (our
 * feed's signed manifest). A release as a whole is checked against the
 * manifest: the same set of files, the same sizes, never empty.
 * Knows digests and manifests, not HTTP and not files.
 */
#ifndef OTA_VERIFY_H
#define OTA_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/crypto.h>
#include <ota/status.h>

#include "common/manifest.h"

struct verify {
	const struct ota_crypto *c;
	uint64_t size;			/* what must arrive, exactly */
	uint64_t got;
	char git_sha1[41];		/* "" when not checked */
	char sha256[65];		/* "" when not checked */
	void *sha1;			/* c's digests in progress */
	void *s256;
};

/*
 * Starts checking a file of exactly size bytes, digests through c;
 * git_sha1 (40 hex) and sha256 (64 hex) may be NULL, but not both: a file
 * nobody vouches for is not installed. OTA_E_INVALID for a malformed digest, OTA_E_NOMEM.
 */
__attribute__((warn_unused_result))
enum ota_status verify_begin(struct verify *v, const struct ota_crypto *c,
    uint64_t size, const char *git_sha1, const char *sha256);
/* More bytes; OTA_E_TOO_LARGE past the promised size. */
__attribute__((warn_unused_result))
enum ota_status verify_update(struct verify *v, const void *p, size_t n);
/*
 * Done: OTA_OK only if exactly size bytes came and every digest matches;
 * OTA_E_PROTOCOL for a short file, OTA_E_CHANGED for a wrong digest, with
 * err saying which. Frees what verify_begin took (as does verify_abort).
 */
__attribute__((warn_unused_result))
enum ota_status verify_end(struct verify *v, char *err, size_t errsz);
void verify_abort(struct verify *v);

/* What a feed listed, for verify_release. */
struct verify_file {
	const char *path;		/* release path, "main/app.py" */
	uint64_t size;
};

/*
 * The listed files must be exactly the manifest's (same paths, same
 * sizes), and there must be at least one (micropython-ota-updater.md D19:
 * an empty release never wipes a module). err names the first difference.
 */
__attribute__((warn_unused_result))
enum ota_status verify_release(const struct manifest *m,
    const struct verify_file *files, size_t n, char *err, size_t errsz);

#endif
