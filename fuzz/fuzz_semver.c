/*
 * Fuzzes semver parsing and ordering. Input: two tags separated by a NUL.
 * Beyond "no crash": a parsed version equals itself, and the order is
 * antisymmetric (cmp(a, b) == -cmp(b, a)).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/semver.h"

static int
sign(int c)
{
	return (c > 0) - (c < 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	struct semver a, b;
	const char *second;

	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	second = buf + strlen(buf) + 1;
	if (semver_parse(buf, &a) == OTA_OK) {
		FUZZ_CHECK(semver_cmp(&a, &a) == 0);
		if (semver_parse(second, &b) == OTA_OK)
			FUZZ_CHECK(sign(semver_cmp(&a, &b)) ==
			    -sign(semver_cmp(&b, &a)));
	}
	free(buf);
	return 0;
}
