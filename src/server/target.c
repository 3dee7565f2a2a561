#include <string.h>
#include <strings.h>

#include "common/path.h"
#include "common/str.h"
#include "common/url.h"
#include "server/target.h"
#include "common/banned.h"

#define TARGET_CATALOG "/_catalog"

/* Skips "scheme://authority" of an absolute-form target. */
static const char *
skip_absolute_form(const char *raw)
{
	const char *p;

	if (strncasecmp(raw, "http://", 7) == 0)
		p = raw + 7;
	else if (strncasecmp(raw, "https://", 8) == 0)
		p = raw + 8;
	else
		return raw;
	return p + strcspn(p, "/?#");
}

enum ota_status
target_parse(const char *raw, struct target *t)
{
	char decoded[TARGET_MAX_PATH];
	const char *p = skip_absolute_form(raw);
	size_t plen = strcspn(p, "?#");
	enum ota_status st;

	t->path[0] = '\0';
	t->query[0] = '\0';
	/* RFC 9112 §3.2: no whitespace or control bytes in a target. */
	for (const char *c = raw; *c != '\0'; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f)
			return OTA_E_INVALID;
	t->is_catalog = plen == strlen(TARGET_CATALOG) &&
	    memcmp(p, TARGET_CATALOG, plen) == 0;
	if (p[plen] == '?') {
		size_t qlen = strcspn(p + plen + 1, "#");

		if (qlen >= sizeof(t->query))
			return OTA_E_TOO_LARGE;
		memcpy(t->query, p + plen + 1, qlen);
		t->query[qlen] = '\0';
	}
	if ((st = url_decode(p, plen, URL_PATH, decoded, sizeof(decoded))) !=
	    OTA_OK)
		return st;
	return path_normalize(decoded, t->path, sizeof(t->path));
}
