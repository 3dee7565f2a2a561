#include <string.h>
#include <strings.h>

#include "common/str.h"
#include "server/httphdr.h"
#include "common/banned.h"

enum range_result
range_parse(const char *value, uint64_t size, uint64_t *start, uint64_t *len)
{
	const char *p;
	uint64_t a, b;

	/* An empty file has no byte to range over: send it all (nothing). */
	if (value == NULL || size == 0 || strncasecmp(value, "bytes=", 6) != 0)
		return RANGE_NONE;
	p = value + 6;
	if (strchr(p, ',') != NULL)
		return RANGE_NONE;
	if (*p == '-') {
		p++;
		if (!str_read_u64(&p, &b) || *p != '\0')
			return RANGE_NONE;
		if (b == 0)
			return RANGE_UNSATISFIABLE;
		if (b > size)
			b = size;
		*start = size - b;
		*len = b;
		return RANGE_OK;
	}
	if (!str_read_u64(&p, &a) || *p++ != '-')
		return RANGE_NONE;
	if (*p == '\0')
		b = UINT64_MAX;
	else if (!str_read_u64(&p, &b) || *p != '\0' || b < a)
		return RANGE_NONE;
	if (a >= size)
		return RANGE_UNSATISFIABLE;
	if (b >= size)
		b = size - 1;
	*start = a;
	*len = b - a + 1;
	return RANGE_OK;
}

bool
etag_match(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = inm;

	if (inm == NULL)
		return false;
	while (*p != '\0') {
		size_t n;

		p += strspn(p, " \t,");
		if (*p == '*')
			return true;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		n = strcspn(p, ",");
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == elen && memcmp(p, etag, n) == 0)
			return true;
		p += strcspn(p, ",");
	}
	return false;
}
