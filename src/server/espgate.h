/*
 * espgate: decide whether a download request comes from an ESP8266/ESP32
 * httpUpdate client, and pick out what it says about the device.
 *
 * The strict gate is updateserver.py's: the User-Agent must start with
 * "ESP8266-http-Update" or "ESP32-http-Update" (case-sensitive prefix) and
 * seven x-<family>-* headers must be present, named for the same family
 * (values are not checked; names are case-insensitive). This is presence,
 * not authentication: anyone can forge it. The relaxed gate asks only for
 * the User-Agent, for ESP32 cores that omit sketch-md5 (before arduino-esp32
 * PR #2176) or the MACs (SoCs without Wi-Fi); the open gate asks nothing.
 * Knows request headers through a look-up callback, not HTTP.
 */
#ifndef OTA_ESPGATE_H
#define OTA_ESPGATE_H

#include <ota/status.h>

enum gate_mode { GATE_STRICT, GATE_RELAXED, GATE_OFF };
enum esp_family { ESP_NONE, ESP_8266, ESP_32 };

/* Returns the value of header name (case-insensitive), or NULL. */
typedef const char *(*header_fn)(void *ctx, const char *name);

struct esp_info {
	enum esp_family family;
	/* borrowed from the request, NULL when not sent */
	const char *sta_mac;
	const char *sketch_md5;
	const char *version;
	const char *mode;
	/*
	 * why the gate refused, static storage: "User-Agent", or the
	 * missing header's name after "x-<family>-", e.g. "STA-MAC"
	 */
	const char *missing;
};

/* "strict", "relaxed" or "off" → mode; OTA_E_INVALID otherwise. */
__attribute__((warn_unused_result))
enum ota_status espgate_parse_mode(const char *name, enum gate_mode *out);

/*
 * Fills info from the request and applies the gate. OTA_OK to serve,
 * OTA_E_FORBIDDEN (info->missing says what) to answer 403.
 */
__attribute__((warn_unused_result))
enum ota_status espgate_check(enum gate_mode mode, header_fn get, void *ctx,
    struct esp_info *info);

const char *espgate_family_name(enum esp_family f);

#endif
