/*
 * What every fuzz target shares: the libFuzzer entry point and a check
 * that stays on in every build (assert() vanishes under NDEBUG, which
 * release-type builds define, and the corpus replay runs in those too).
 */
#ifndef OTA_FUZZ_H
#define OTA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(x) do {						\
	if (!(x)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #x);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
