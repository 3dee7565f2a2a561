#include <string.h>

#include "common/url.h"
#include "common/banned.h"

#define URL_MAX_KEY 64

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

enum ota_status
url_decode(const char *s, size_t n, enum url_mode mode, char *out,
    size_t outsz)
{
	size_t i, o = 0;

	if (outsz == 0)
		return OTA_E_TOO_LARGE;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi = -1, lo = -1;

			if (n - i >= 3) {
				hi = hexval((unsigned char)s[i + 1]);
				lo = hexval((unsigned char)s[i + 2]);
			}
			if (hi >= 0 && lo >= 0) {
				c = hi * 16 + lo;
				i += 2;
			} else if (mode == URL_PATH)
				goto invalid;
		} else if (c == '+' && mode == URL_QUERY)
			c = ' ';
		if (c == '\0')
			goto invalid;
		if (o + 1 >= outsz) {
			out[0] = '\0';
			return OTA_E_TOO_LARGE;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return OTA_OK;
invalid:
	out[0] = '\0';
	return OTA_E_INVALID;
}

enum ota_status
url_query_get(const char *query, const char *key, char *out, size_t outsz)
{
	const char *p = query;
	char k[URL_MAX_KEY];

	while (p != NULL && *p != '\0') {
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));

		if (eq != NULL && eq + 1 < end &&
		    url_decode(p, (size_t)(eq - p), URL_QUERY, k, sizeof(k)) ==
		    OTA_OK && strcmp(k, key) == 0)
			return url_decode(eq + 1, (size_t)(end - eq - 1),
			    URL_QUERY, out, outsz);
		p = amp ? amp + 1 : NULL;
	}
	return OTA_E_NOTFOUND;
}

enum ota_status
url_encode(struct buf *b, const char *s, bool keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	enum ota_status rc = OTA_OK;
	char esc[3];

	for (; *s != '\0' && rc == OTA_OK; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~' || (c == '/' && keep_slash))
			rc = buf_add(b, s, 1);
		else {
			esc[0] = '%';
			esc[1] = hex[c >> 4];
			esc[2] = hex[c & 0xf];
			rc = buf_add(b, esc, sizeof(esc));
		}
	}
	return rc;
}
