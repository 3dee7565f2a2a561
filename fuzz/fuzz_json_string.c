/*
 * Fuzzes the catalog's JSON string writer with arbitrary file names: the
 * output must be ASCII, quoted, and contain no raw control byte, whatever
 * bytes the filesystem holds.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/buf.h"
#include "server/catalog.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = malloc(size + 1);
	struct buf out;
	size_t i;

	memcpy(name, data, size);
	name[size] = '\0';
	buf_init(&out, 64 * 1024);
	if (catalog_json_string(&out, name) == OTA_OK) {
		FUZZ_CHECK(out.len >= 2 && out.data[0] == '"' &&
		    out.data[out.len - 1] == '"');
		for (i = 0; i < out.len; i++)
			FUZZ_CHECK((unsigned char)out.data[i] >= 0x20 &&
			    (unsigned char)out.data[i] < 0x80);
	}
	buf_release(&out);
	free(name);
	return 0;
}
