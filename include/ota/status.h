/*
 * Status codes shared by every ota module and the public device API.
 *
 * Fallible functions return an enum ota_status; OTA_OK is zero so that
 * `if (st != OTA_OK)` and curl-style chaining both read naturally. The codes
 * say what went wrong, never which protocol carried it: the HTTP layer maps
 * them to status numbers in one place (http_status() in src/server/route.c).
 */
#ifndef OTA_STATUS_H
#define OTA_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Marks libota's public functions: the only symbols libota.so exports
 * (it is built with -fvisibility=hidden; scripts/check-symbols.sh checks
 * that every exported symbol starts with "ota_").
 */
#if defined(__GNUC__)
#define OTA_API __attribute__((visibility("default")))
#else
#define OTA_API
#endif

enum ota_status {
	OTA_OK = 0,
	OTA_E_INVALID,		/* malformed input */
	OTA_E_NOTFOUND,		/* no such object */
	OTA_E_FORBIDDEN,	/* exists, or might, but may not be had */
	OTA_E_TOO_LARGE,	/* a named cap was reached */
	OTA_E_NOMEM,		/* allocation failed */
	OTA_E_IO,		/* a system call failed; errno says why */
	OTA_E_BUSY,		/* try again later */
	OTA_E_UNSUPPORTED,	/* valid, but not something we do */
	OTA_E_CHANGED,		/* the object changed while we read it */
	OTA_E_EXISTS,		/* already there; refused to replace it */
	OTA_E_AUTH,		/* missing or unknown credentials */
	OTA_E_SIGNATURE,	/* no valid signature by a trusted key */
	OTA_E_EXPIRED,		/* signed metadata past its expiry time */
	OTA_E_NETWORK,		/* no connection: DNS, refused, reset, TLS */
	OTA_E_TIMEOUT,		/* a connect, read or overall deadline passed */
	OTA_E_PROTOCOL		/* the peer broke HTTP or sent what we can't use */
};

/* A short lower-case description of st; never NULL, static storage. */
OTA_API const char *ota_status_str(enum ota_status st);

/*
 * The status for a failed system call's errno: missing → NOTFOUND, denied
 * or read-only → FORBIDDEN, name too long → TOO_LARGE, no memory → NOMEM,
 * anything else → IO.
 */
OTA_API enum ota_status ota_status_from_errno(int e);

#ifdef __cplusplus
}
#endif
#endif
