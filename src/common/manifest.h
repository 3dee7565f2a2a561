/*
 * manifest: a release's signed metadata (repository, tag, version,
 * channel, metadata version, validity window, and the path, size and
 * SHA-256 of every file), its one byte form, and the checks a device or
 * an operator runs before trusting a byte of the release.
 *
 * Format (docs/signing.md). The signed part is canonical JSON: keys sorted
 * bytewise, no insignificant whitespace, integers only (0 .. 2^53-1, so any
 * JSON parser keeps them exact; no fraction, no exponent), strings UTF-8
 * with '"', '\\' and the control characters escaped, \b \f \n \r \t in
 * their short form and the rest as \u00xx (lower-case hex); nothing else
 * is escaped. For our keys and values that is RFC 8785 (JCS) and also what
 * Python's json.dumps(obj, sort_keys=True, separators=(",", ":"),
 * ensure_ascii=False) writes. It is wrapped in a TUF-style envelope,
 * itself canonical:
 *   {"signatures":[{"keyid":HEX,"sig":BASE64},...],"signed":{...}}
 * Several signatures may be present (key rotation); one valid signature by
 * a trusted key is enough.
 *
 * A verifier never trusts the sender's bytes: it parses the envelope,
 * requires the whole text to be exactly the canonical serialisation of
 * what it parsed (so the bytes of "signed" are its canonical form, and no
 * other JSON reader can see in them anything else), checks the signatures
 * over those bytes, then checks the schema, then that the struct it hands
 * out serialises to exactly the bytes that were signed, and only then the
 * expiry. So what is used is what was signed.
 *
 * Two halves. manifest.c is the portable core a device links: C standard
 * library, json.h and the crypto ops of ota/crypto.h only (no cJSON, no
 * OpenSSL, no POSIX). manifest_sign.c is the host's: signing, and the
 * sign_key wrappers over manifest_verify with libcrypto. The files on disk
 * are manifest_check.c's (POSIX). Nothing here knows HTTP, the store, or
 * where manifests are kept.
 */
#ifndef OTA_MANIFEST_H
#define OTA_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ota/crypto.h>
#include <ota/status.h>

#include "common/buf.h"
/* Only for struct sign_key in the host functions; sign.h declares, and
 * includes nothing that is not portable. */
#include "common/sign.h"

#define MANIFEST_TYPE "ota-release"		/* the "_type" field */
#define MANIFEST_MAX_BYTES (4 * 1024 * 1024)	/* an envelope, as text */
#define MANIFEST_MAX_FILES 10000
#define MANIFEST_MAX_SIGNATURES 16
#define MANIFEST_MAX_PATH 1024		/* bytes of a file's path */
#define MANIFEST_MAX_COMPONENT 255	/* bytes of one of its components
					 * (NAME_MAX on Linux and the BSDs) */
#define MANIFEST_MAX_NAME 100		/* owner or name in "owner/name" */
#define MANIFEST_MAX_TAG 128
#define MANIFEST_MAX_CHANNEL 32		/* 1-32 of [a-z0-9._-] */
#define MANIFEST_MAX_INT 9007199254740991LL	/* 2^53 - 1 */
#define MANIFEST_MAX_DEPTH 8		/* JSON nesting; the schema has 4 */
/*
 * JSON values (json.h tokens) in the largest valid envelope: the root,
 * "signatures" and its array, "signed" and its object (5); 5 per
 * signature; 9 keys, 8 scalars and the files array (18); 7 per file. A
 * text that needs more is refused before anything is allocated for it.
 */
#define MANIFEST_MAX_TOKENS (5 + 5 * MANIFEST_MAX_SIGNATURES + 18 + \
	7 * MANIFEST_MAX_FILES)
#define MANIFEST_MAX_DIR_DEPTH 64	/* directory levels check_dir walks */
#define MANIFEST_SHA256_HEX 64
#define MANIFEST_TIME_MAX 32		/* "2026-01-01T00:00:00Z" and NUL */

struct manifest_file {
	char *path;		/* see manifest_path_valid */
	uint64_t size;
	char sha256[MANIFEST_SHA256_HEX + 1];	/* lower-case hex */
};

/*
 * The signed fields. The parse functions allocate every string and the
 * files array, and manifest_release frees them. A caller that builds one
 * to sign may point at storage of its own instead; it then must not call
 * manifest_release.
 */
struct manifest {
	char *repo;			/* "owner/name" */
	char *tag;			/* as published, e.g. "v1.2.0" */
	char *version;			/* normalised, e.g. "1.2.0" */
	char *channel;			/* "stable", ... */
	uint64_t metadata_version;	/* per repository, increasing */
	int64_t created;		/* unix seconds, UTC */
	int64_t expires;		/* unix seconds, UTC; > created */
	struct manifest_file *files;	/* sorted bytewise by path */
	size_t nfiles;			/* 1 .. MANIFEST_MAX_FILES */
};

/* Frees what the parse functions allocated and zeroes m. A zeroed m is fine. */
void manifest_release(struct manifest *m);

/*
 * True if p may name a file in a release: 1..MANIFEST_MAX_PATH bytes of
 * UTF-8, relative, '/'-separated, no empty, "." or ".." component, no
 * backslash, no control character (< 0x20, 0x7f).
 */
bool manifest_path_valid(const char *p);

/*
 * The file of m called path (exactly, bytewise), by binary search; NULL if
 * none. Valid while m is.
 */
const struct manifest_file *manifest_find(const struct manifest *m,
    const char *path);

/*
 * Checks every rule of the schema (docs/signing.md): repo is owner/name
 * (each 1-100 of [A-Za-z0-9._-], not "." or ".."); tag is a version of at
 * most MANIFEST_MAX_TAG bytes; version is its normalised form
 * ("MAJOR.MINOR.PATCH[-PRE]", equal in precedence to the tag); channel as
 * above; 1 <= metadata_version; created < expires; every integer at most
 * MANIFEST_MAX_INT; 1..MANIFEST_MAX_FILES files with valid paths,
 * strictly sorted, none a directory of another, sha256 lower-case hex.
 * OTA_E_INVALID with a one-line reason in err[errsz] (err may be NULL).
 */
__attribute__((warn_unused_result))
enum ota_status manifest_validate(const struct manifest *m, char *err,
    size_t errsz);

/*
 * Appends the canonical signed bytes of m to out. OTA_E_INVALID if m does
 * not pass manifest_validate; OTA_E_TOO_LARGE / OTA_E_NOMEM as buf (out is
 * then emptied).
 */
__attribute__((warn_unused_result))
enum ota_status manifest_canonical(const struct manifest *m, struct buf *out);

/* ---- host: signing, and verifying with sign_key (manifest_sign.c) ---- */

/*
 * Appends the envelope of m, signed by each of keys[nkeys] in that order,
 * to out. OTA_E_INVALID if m is invalid, nkeys is 0 or above
 * MANIFEST_MAX_SIGNATURES, a key cannot sign (public only) or two keys are
 * the same; errors of buf as manifest_canonical.
 */
__attribute__((warn_unused_result))
enum ota_status manifest_sign(const struct manifest *m,
    struct sign_key *const *keys, size_t nkeys, struct buf *out);

/*
 * Parses the envelope text[len] and verifies it, in this order: parse
 * (OTA_E_INVALID: not JSON, over MANIFEST_MAX_BYTES or MANIFEST_MAX_TOKENS,
 * not an envelope, not canonical text: whitespace, other key orders or
 * escapes, floats, booleans, null, duplicate keys, bad UTF-8), signature
 * (OTA_E_SIGNATURE unless a signature whose keyid is that of one of
 * trusted[ntrusted] verifies), schema (OTA_E_INVALID, manifest_validate
 * plus no missing, mistyped or unknown field and _type MANIFEST_TYPE),
 * expiry (OTA_E_EXPIRED unless now < expires). The signature comes before
 * everything that reads the signed content, so unsigned input only ever
 * gets "invalid" or "bad signature".
 *
 * *out is always initialised: it holds the manifest on OTA_OK and on
 * OTA_E_EXPIRED (so the caller can say when it expired) and is zeroed
 * otherwise; manifest_release(out) is right after any return.
 * Thread-safe.
 */
__attribute__((warn_unused_result))
enum ota_status manifest_parse_verify(const char *text, size_t len,
    struct sign_key *const *trusted, size_t ntrusted, int64_t now,
    struct manifest *out);

/* As manifest_parse_verify, with a one-line reason in err[errsz] (err may
 * be NULL) for every failure, e.g. "manifest expired at
 * 2026-01-01T00:00:00Z" or "files[2].path 'a//b' is not a normalised
 * relative path". */
__attribute__((warn_unused_result))
enum ota_status manifest_parse_verify_err(const char *text, size_t len,
    struct sign_key *const *trusted, size_t ntrusted, int64_t now,
    struct manifest *out, char *err, size_t errsz);

/* ---- portable core, continued (manifest.c) ---- */

/*
 * The core's verification, as manifest_parse_verify_err but without
 * OpenSSL: the trusted keys are raw Ed25519 public keys, a signature's
 * keyid is the lower-case hex SHA-256 of its key's raw bytes (as
 * sign_key_id), and every digest and signature check goes through c
 * (never NULL). What a device links; manifest_parse_verify_err is this
 * with libcrypto. Besides the statuses above: OTA_E_NOMEM, and whatever
 * c returns when a check cannot run at all (no valid signature found
 * and one check failed so: that status, not OTA_E_SIGNATURE).
 *
 * Heap: the tokens of text (counted first, then allocated to fit, at
 * most MANIFEST_MAX_TOKENS) while it runs, and what *out holds; text is
 * never copied.
 */
__attribute__((warn_unused_result))
enum ota_status manifest_verify(const char *text, size_t len,
    const struct ota_crypto *c,
    const unsigned char (*trusted)[OTA_ED25519_PUBLIC_LEN], size_t ntrusted,
    int64_t now, struct manifest *out, char *err, size_t errsz);

/*
 * NOT A VERIFICATION. Parses and schema-checks an envelope without looking
 * at its signatures or expiry, for tools that display or re-sign metadata
 * they already trust by other means (`ota release show`, `ota sign`).
 * Never use it to decide what to install. *out as manifest_parse_verify
 * (filled only on OTA_OK); err may be NULL.
 */
__attribute__((warn_unused_result))
enum ota_status manifest_parse_unverified(const char *text, size_t len,
    struct manifest *out, char *err, size_t errsz);

/*
 * t (unix seconds) as "2026-01-01T00:00:00Z", UTC (proleptic Gregorian,
 * no leap seconds), into out. Any t: a year outside 0..9999 gets more
 * digits or a '-' ("-0001-12-31T00:00:00Z").
 */
void manifest_time_str(int64_t t, char out[MANIFEST_TIME_MAX]);

/* ---- files (manifest_check.c) ---- */

/*
 * Reads the manifest file at path into out (appended; init it with a cap
 * of at least MANIFEST_MAX_BYTES). OTA_E_TOO_LARGE past MANIFEST_MAX_BYTES,
 * OTA_E_NOTFOUND, OTA_E_FORBIDDEN (also for anything but a regular file),
 * OTA_E_IO (errno set). Nothing is parsed.
 */
__attribute__((warn_unused_result))
enum ota_status manifest_load(const char *path, struct buf *out);

/*
 * Checks a release unpacked in dir against m: every file of m must be a
 * regular file at its path under dir with exactly its size and SHA-256.
 * Symbolic links are never followed below dir (one is an error wherever it
 * is met), so nothing outside dir is read. Unless allow_extra, a file
 * under dir that m does not list is an error too. On failure err[errsz]
 * gets one line naming the file: "main/app.py: missing" (OTA_E_NOTFOUND),
 * "main/app.py: sha256 mismatch", "...: size mismatch (N bytes, manifest
 * says M)", "...: symbolic link", "...: not a regular file", "extra file
 * 'main/y.py'" (OTA_E_INVALID); OTA_E_IO for a failing system call
 * (errno set, and named in err).
 */
__attribute__((warn_unused_result))
enum ota_status manifest_check_dir(const struct manifest *m, const char *dir,
    bool allow_extra, char *err, size_t errsz);

/*
 * Checks one image file (a firmware .bin) against m: the file m lists if
 * it lists exactly one, else the one whose basename is path's basename.
 * Size and SHA-256 must match. Errors as manifest_check_dir, plus
 * OTA_E_NOTFOUND "no file 'x.bin' in the manifest" and OTA_E_INVALID when
 * several listed files have that basename.
 */
__attribute__((warn_unused_result))
enum ota_status manifest_check_file(const struct manifest *m,
    const char *path, char *err, size_t errsz);

#endif
