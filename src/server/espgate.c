#include <string.h>

#include "common/str.h"
#include "server/espgate.h"
#include "common/banned.h"

/* The seven headers updateserver.py requires, after "x-<family>-". */
static const char *const gate_required[] = {
	"STA-MAC", "AP-MAC", "free-space", "sketch-size", "sketch-md5",
	"chip-size", "sdk-version",
};

#define GATE_NREQUIRED (sizeof(gate_required) / sizeof(gate_required[0]))
#define GATE_MAX_NAME 48

enum ota_status
espgate_parse_mode(const char *name, enum gate_mode *out)
{
	if (strcmp(name, "strict") == 0)
		*out = GATE_STRICT;
	else if (strcmp(name, "relaxed") == 0)
		*out = GATE_RELAXED;
	else if (strcmp(name, "off") == 0)
		*out = GATE_OFF;
	else
		return OTA_E_INVALID;
	return OTA_OK;
}

const char *
espgate_family_name(enum esp_family f)
{
	switch (f) {
	case ESP_8266:	return "ESP8266";
	case ESP_32:	return "ESP32";
	case ESP_NONE:	break;
	}
	return "";
}

static const char *
family_header(header_fn get, void *ctx, enum esp_family f, const char *suffix)
{
	char name[GATE_MAX_NAME];

	if (str_fmt(name, sizeof(name), "x-%s-%s", espgate_family_name(f),
	    suffix) != OTA_OK)
		return NULL;
	return get(ctx, name);
}

enum ota_status
espgate_check(enum gate_mode mode, header_fn get, void *ctx,
    struct esp_info *info)
{
	const char *ua = get(ctx, "User-Agent");
	size_t i;

	memset(info, 0, sizeof(*info));
	if (ua != NULL && str_has_prefix(ua, "ESP8266-http-Update"))
		info->family = ESP_8266;
	else if (ua != NULL && str_has_prefix(ua, "ESP32-http-Update"))
		info->family = ESP_32;
	if (info->family != ESP_NONE) {
		info->sta_mac = family_header(get, ctx, info->family, "STA-MAC");
		info->sketch_md5 = family_header(get, ctx, info->family,
		    "sketch-md5");
		info->version = family_header(get, ctx, info->family,
		    "version");
		info->mode = family_header(get, ctx, info->family, "mode");
	}
	if (mode == GATE_OFF)
		return OTA_OK;
	if (info->family == ESP_NONE) {
		info->missing = "User-Agent";
		return OTA_E_FORBIDDEN;
	}
	if (mode == GATE_RELAXED)
		return OTA_OK;
	for (i = 0; i < GATE_NREQUIRED; i++) {
		if (family_header(get, ctx, info->family, gate_required[i]) ==
		    NULL) {
			info->missing = gate_required[i];
			return OTA_E_FORBIDDEN;
		}
	}
	return OTA_OK;
}
