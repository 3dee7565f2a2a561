/*
 * store_backend: the database seam under store.c. A backend stores and
 * fetches rows; every rule (names, versions, order, visibility, token
 * secrets) is store.c's, so a new backend only speaks its SQL dialect.
 * store_sqlite.c is the embedded one.
 *
 * Conventions: db is the backend's handle. Lists return malloc'd arrays the
 * caller frees with the store_*_free functions; an empty list is (NULL, 0).
 * A unique-key clash is OTA_E_EXISTS, a missing row OTA_E_NOTFOUND, a
 * locked database (after the busy timeout) OTA_E_BUSY, anything else
 * OTA_E_IO with the reason in errmsg().
 */
#ifndef OTA_STORE_BACKEND_H
#define OTA_STORE_BACKEND_H

#include "server/store.h"

enum store_tx {
	STORE_TX_BEGIN,		/* takes the write lock now */
	STORE_TX_COMMIT,
	STORE_TX_ROLLBACK
};

struct store_backend {
	const char *name;
	enum ota_status (*open)(void **db, const char *path, bool create,
	    char *err, size_t errsz);
	void (*close)(void *db);
	const char *(*errmsg)(void *db);
	enum ota_status (*tx)(void *db, enum store_tx op);
	enum ota_status (*generation)(void *db, uint64_t *gen);

	/* id > 0 looks up by id, else by owner/name (case-insensitive). */
	enum ota_status (*repo_get)(void *db, int64_t id, const char *owner,
	    const char *name, struct store_repo *out);
	enum ota_status (*repo_insert)(void *db, struct store_repo *r);
	enum ota_status (*repo_update)(void *db, const struct store_repo *r);
	enum ota_status (*repo_list)(void *db, struct store_repo **out,
	    size_t *n);

	enum ota_status (*release_insert)(void *db, struct store_release *r);
	enum ota_status (*release_update)(void *db,
	    const struct store_release *r);
	enum ota_status (*release_delete)(void *db, int64_t id);
	enum ota_status (*release_get)(void *db, int64_t repo_id,
	    const char *tag, struct store_release *out);
	/* Every release of the repository, in no order. */
	enum ota_status (*release_list)(void *db, int64_t repo_id,
	    struct store_release **out, size_t *n);

	enum ota_status (*asset_insert)(void *db, int64_t release_id,
	    const struct store_asset *a);
	/* prefix "" is every asset; else those whose path is below it. */
	enum ota_status (*asset_list)(void *db, int64_t release_id,
	    const char *prefix, struct store_asset **out, size_t *n);
	enum ota_status (*asset_get)(void *db, int64_t release_id,
	    const char *path, struct store_asset *out);

	enum ota_status (*device_get)(void *db, const char *mac,
	    struct store_device *out);
	/* Upsert; remove when channel and pin are both "". */
	enum ota_status (*device_put)(void *db, const struct store_device *d);
	enum ota_status (*device_list)(void *db, struct store_device **out,
	    size_t *n);

	/* Inserts e (sets its id) and drops the device's events past keep. */
	enum ota_status (*event_insert)(void *db, struct store_event *e,
	    size_t keep);
	/* Newest first; device NULL: every device. */
	enum ota_status (*event_list)(void *db, const char *device,
	    size_t limit, struct store_event **out, size_t *n);

	enum ota_status (*token_insert)(void *db, const char *hash,
	    struct store_token *t);
	enum ota_status (*token_get)(void *db, const char *hash,
	    struct store_token *out);
	enum ota_status (*token_list)(void *db, struct store_token **out,
	    size_t *n);
	enum ota_status (*token_delete)(void *db, int64_t id);
};

extern const struct store_backend store_sqlite_backend;

#endif
