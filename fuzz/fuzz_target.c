/*
 * Fuzzes the request-target parser and the catalog query look-up: the
 * first bytes any client controls. Invariants checked beyond "no crash":
 * a parsed path is normalised (no "..", no empty or "." component, no
 * leading slash) and a decoded value never holds a NUL.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/url.h"
#include "server/target.h"

static void
check_path(const char *p)
{
	const char *c = p;

	FUZZ_CHECK(p[0] != '/');
	while (*c != '\0') {
		size_t n = strcspn(c, "/");

		FUZZ_CHECK(n > 0);
		FUZZ_CHECK(!(n == 1 && c[0] == '.'));
		FUZZ_CHECK(!(n == 2 && c[0] == '.' && c[1] == '.'));
		c += n;
		if (*c == '/')
			c++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *raw = malloc(size + 1);
	struct target *t = malloc(sizeof(*t));
	char v[1024];

	memcpy(raw, data, size);
	raw[size] = '\0';
	if (target_parse(raw, t) == OTA_OK) {
		check_path(t->path);
		if (url_query_get(t->query, "op", v, sizeof(v)) == OTA_OK)
			FUZZ_CHECK(strlen(v) < sizeof(v));
		if (url_query_get(t->query, "path", v, sizeof(v)) == OTA_OK)
			FUZZ_CHECK(memchr(v, '\0', strlen(v)) == NULL);
	}
	free(t);
	free(raw);
	return 0;
}
