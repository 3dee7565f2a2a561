/*
 * host: libota's implementations of its ops structs for a Linux-class
 * device: libcurl for the transport, the POSIX file system (two slots and
 * a symlink) for the storage, OpenSSL's libcrypto for the crypto. A
 * microcontroller build leaves this header out and brings its own.
 */
#ifndef OTA_HOST_H
#define OTA_HOST_H

#include <ota/crypto.h>
#include <ota/status.h>
#include <ota/storage.h>
#include <ota/transport.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A libcurl transport in *t (ota_transport_free). Initialises libcurl's
 * globals once per process, thread-safely. OTA_E_NOMEM or
 * OTA_E_UNSUPPORTED (libcurl older than 7.88, or its init failed).
 */
__attribute__((warn_unused_result))
OTA_API enum ota_status ota_transport_curl_new(struct ota_transport **t);
/* Calls t->free(t->ctx) and frees t. Accepts NULL. */
OTA_API void ota_transport_free(struct ota_transport *t);

/*
 * A POSIX storage for the modules under root (the device's root, which
 * holds config/ and one folder per module) in *s (ota_storage_free).
 * Each open module holds an flock(2), so two processes never update one
 * module at once.
 */
__attribute__((warn_unused_result))
OTA_API enum ota_status ota_storage_posix_new(struct ota_storage **s,
    const char *root);
OTA_API void ota_storage_free(struct ota_storage *s);

/* OpenSSL's libcrypto (3.0 or later). Static; never NULL. */
OTA_API const struct ota_crypto *ota_crypto_libcrypto(void);

#ifdef __cplusplus
}
#endif
#endif
