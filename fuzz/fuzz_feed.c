/*
 * Fuzzes the updater's feed parsers: a module's config file, a
 * releases/latest answer and a contents listing, all text a hostile or
 * broken server (or a captive portal) controls. Invariants beyond "no
 * crash": an accepted listing entry lies below its directory, is one
 * normalised component deeper, and its relative path never climbs out;
 * an accepted config's API base and a release's URLs are http(s).
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "client/feed.h"

static int
is_http(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct feed_entry e[16];
	struct feed_config c;
	struct feed_release r;
	const char *text = (const char *)data;
	char err[256];
	size_t i, n;

	if (feed_config_parse(text, size, &c, err, sizeof(err)) == OTA_OK) {
		FUZZ_CHECK(is_http(c.url) && is_http(c.api));
		FUZZ_CHECK(strchr(c.token, ' ') == NULL);
	}
	if (feed_release_parse(text, size, &r, err, sizeof(err)) == OTA_OK) {
		FUZZ_CHECK(r.tag[0] != '\0');
		FUZZ_CHECK(r.manifest_url[0] == '\0' || is_http(r.manifest_url));
	}
	if (feed_listing_parse(text, size, "main/lib", e, 16, &n, err,
	    sizeof(err)) == OTA_OK) {
		FUZZ_CHECK(n <= 16);
		for (i = 0; i < n; i++) {
			FUZZ_CHECK(strncmp(e[i].path, "main/lib/", 9) == 0);
			FUZZ_CHECK(strchr(e[i].path + 9, '/') == NULL);
			FUZZ_CHECK(strcmp(e[i].rel, "lib/..") != 0 &&
			    strcmp(e[i].rel, "lib/.") != 0);
			FUZZ_CHECK(strncmp(e[i].rel, "lib/", 4) == 0);
			FUZZ_CHECK(strchr(e[i].rel, '\\') == NULL);
			if (e[i].type == FEED_FILE)
				FUZZ_CHECK(is_http(e[i].download_url) &&
				    strlen(e[i].sha) == 40);
		}
	}
	return 0;
}
