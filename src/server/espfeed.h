/*
 * espfeed: version-aware firmware for ESP8266/ESP32 httpUpdate clients,
 * from the release store.
 *
 *   GET /esp/{owner}/{repo}[?channel=NAME]
 *
 * The device says what it runs in x-ESP8266-version / x-ESP32-version
 * (the sketch's "currentVersion") and x-*-sketch-md5. The release offered
 * is, in order: the tag the operator pinned for the device's station MAC
 * (`ota device set MAC --pin TAG`), else the latest release of the
 * device's channel (`--channel`), of ?channel=, or of "stable" (a channel
 * also sees the stable releases, see store_release_latest). Its image is
 * the .bin asset in a directory named "esp8266" or "esp32" for the
 * device's family, else the only .bin outside the other family's
 * directory. Only sketches are offered: another x-*-mode gets 404.
 *
 * The answer is 304 when the device already runs the release (its version
 * is a SemVer not lower than the release's or, when it sends no usable
 * version, its sketch MD5 equals the image's) and 200 with the image,
 * x-MD5 and x-SHA256 otherwise. A pinned release is sent whenever the
 * device's version differs from it, downgrades included: pinning is how an
 * operator rolls a device back.
 *
 * The gate (--gate) applies as on the catalog route. Knows the store and
 * the ESP headers, not HTTP.
 */
#ifndef OTA_ESPFEED_H
#define OTA_ESPFEED_H

#include <stdbool.h>

#include "server/route.h"
#include "server/target.h"

/* Answers req if it is for /esp/...; false (rep untouched) if not. */
bool espfeed_handle(const struct route_env *env, const struct route_req *req,
    const struct target *t, struct reply *rep);

#endif
