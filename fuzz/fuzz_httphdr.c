/*
 * Fuzzes Range and If-None-Match parsing. Input: an 8-byte object size,
 * then the header value. A satisfiable range must lie inside the object.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "server/httphdr.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t objsize = 0, start = 0, len = 0;
	char *value;

	if (size < sizeof(objsize))
		return 0;
	memcpy(&objsize, data, sizeof(objsize));
	objsize >>= 16;	/* keep sizes plausible, still up to 2^48 */
	value = malloc(size - sizeof(objsize) + 1);
	memcpy(value, data + sizeof(objsize), size - sizeof(objsize));
	value[size - sizeof(objsize)] = '\0';
	if (range_parse(value, objsize, &start, &len) == RANGE_OK) {
		FUZZ_CHECK(len > 0);
		FUZZ_CHECK(start < objsize);
		FUZZ_CHECK(len <= objsize - start);
	}
	(void)etag_match(value, "\"abc\"");
	free(value);
	return 0;
}
