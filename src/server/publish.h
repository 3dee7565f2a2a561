/*
 * publish: turning files into a release of the store, and changing a
 * release afterwards (promote, yank), with its signed manifest kept in
 * step. Used by `ota publish` / `ota release` and by the HTTP API.
 *
 * Publishing runs in two phases. First every file is copied into the blob
 * store (each blob atomic; see blobstore.h) and hashed (SHA-256, MD5, Git
 * blob SHA-1). Then, in one database transaction, the repository's next
 * metadata version is taken, the manifest is built, signed and stored as a
 * blob, and the release and its assets are inserted. A crash in phase one
 * leaves unreferenced blobs and the old state; the commit is the single
 * step after which the whole release exists.
 *
 * Knows the store, files and manifests; not HTTP.
 */
#ifndef OTA_PUBLISH_H
#define OTA_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/status.h>

#include "common/sign.h"
#include "server/store.h"

#define PUBLISH_MAX_DEPTH 32		/* directory levels below a PATH */
#define PUBLISH_DEFAULT_EXPIRES_DAYS 365
#define PUBLISH_MAX_EXPIRES_DAYS (100 * 366)
#define PUBLISH_KEYS_DIR "keys"

/* One file to publish: where it is, and its path in the release. */
struct publish_file {
	char *src;		/* filesystem path */
	char *path;		/* asset path: relative, normalised */
};

struct publish_opts {
	const char *owner;
	const char *name;
	const char *tag;
	const char *channel;	/* NULL: STORE_DEFAULT_CHANNEL */
	const char *notes;	/* NULL: none */
	bool draft;
	bool prerelease;	/* also implied by a SemVer pre-release tag */
	bool force;		/* replace a release with the same tag */
	unsigned expires_days;	/* 0: PUBLISH_DEFAULT_EXPIRES_DAYS */
	struct sign_key *const *keys;	/* sign the manifest with these */
	size_t nkeys;
};

/*
 * Expands paths (files, or directories walked recursively) into files,
 * sorted by asset path. A file's asset path is its last component; a
 * directory's files keep their paths below the directory's last component
 * ("src/main" gives "main/app.py", "main/lib/x.py"). A PATH itself may
 * be a symbolic link (published under its own name); links, devices and
 * sockets inside a directory, duplicate asset paths and a path that is
 * both a file and a directory are refused. err[errsz] names the
 * offending path.
 */
__attribute__((warn_unused_result))
enum ota_status publish_collect(const char *const *paths, size_t npaths,
    struct publish_file **out, size_t *nout, char *err, size_t errsz);
void publish_files_free(struct publish_file *f, size_t n);

/*
 * Publishes files as release o->tag of o->owner/o->name (created if new).
 * OTA_E_INVALID for a tag that is not a version, a bad name or channel, no
 * files; OTA_E_EXISTS if the tag (or one of the same version) exists and
 * o->force is not set. out (may be NULL) receives the release.
 */
__attribute__((warn_unused_result))
enum ota_status publish_release(struct store *s, const struct publish_opts *o,
    const struct publish_file *files, size_t nfiles,
    struct store_release *out, char *err, size_t errsz);

/* A file already in the blob store, for publish_blobs. */
struct publish_blobref {
	const char *path;	/* asset path */
	const char *sha256;	/* blob name */
};

/*
 * As publish_release, for files uploaded before (the HTTP API): refs are
 * sorted in place; every blob must exist. OTA_E_INVALID names the
 * offending path in err.
 */
__attribute__((warn_unused_result))
enum ota_status publish_blobs(struct store *s, const struct publish_opts *o,
    struct publish_blobref *refs, size_t nrefs, struct store_release *out,
    char *err, size_t errsz);

/*
 * Signs a new manifest for release r (after its channel changed, or to
 * extend its expiry): next metadata version, blob, release row updated.
 * Call inside a transaction.
 */
__attribute__((warn_unused_result))
enum ota_status publish_resign(struct store *s, struct store_release *r,
    struct sign_key *const *keys, size_t nkeys, unsigned expires_days,
    char *err, size_t errsz);

enum publish_change {
	PUBLISH_PROMOTE,	/* to a channel; publishes a draft, clears
				 * the pre-release flag; re-signs */
	PUBLISH_YANK,		/* never offered as latest again */
	PUBLISH_UNYANK,
	PUBLISH_RESIGN		/* a new manifest: next metadata version,
				 * new expiry */
};

/*
 * Applies one change to release tag of owner/name in one transaction,
 * signing with the repository's key where the manifest changes. channel
 * (PROMOTE; NULL: the default) and expires_days (0: the default) as for
 * publishing. out (may be NULL) receives the release as it now is.
 * OTA_E_NOTFOUND (err says which) if there is no such release.
 */
__attribute__((warn_unused_result))
enum ota_status publish_change(struct store *s, const char *owner,
    const char *name, const char *tag, enum publish_change what,
    const char *channel, unsigned expires_days, struct store_release *out,
    char *err, size_t errsz);

/*
 * The signing key of repository owner/name in the store
 * (<store>/keys/<owner>/<name>.key); with create, a new key pair is made if
 * there is none and *created says so. OTA_E_NOTFOUND without create.
 */
__attribute__((warn_unused_result))
enum ota_status publish_repo_key(struct store *s, const char *owner,
    const char *name, bool create, struct sign_key **key, bool *created,
    char *err, size_t errsz);

/* The path of a repository's key (".key") or public key (".pub"). */
__attribute__((warn_unused_result))
enum ota_status publish_key_path(struct store *s, const char *owner,
    const char *name, const char *ext, char *out, size_t outsz);

/* Checks a channel name: 1–32 of [a-z0-9._-]. */
bool publish_channel_valid(const char *channel);

#endif
