/* The text form of a public key, portable: no OpenSSL here. */
#include <stdbool.h>
#include <string.h>

#include "common/base64.h"
#include "common/sign.h"
#include "common/banned.h"

#define SIGN_TEXT_B64_MAX 64

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

enum ota_status
sign_public_parse(const char *text, unsigned char raw[SIGN_PUBLIC_LEN])
{
	const size_t alglen = strlen(SIGN_ALG_NAME);
	char word[SIGN_TEXT_B64_MAX + 1];
	const char *p = text, *e;
	size_t n;

	while (*p == ' ' || *p == '\t')
		p++;
	if (strncmp(p, SIGN_ALG_NAME, alglen) == 0 &&
	    (p[alglen] == ' ' || p[alglen] == '\t')) {
		p += alglen;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	for (e = p; *e != '\0' && !is_blank(*e); e++)
		;
	n = (size_t)(e - p);
	if (n == 0 || n > SIGN_TEXT_B64_MAX)
		return OTA_E_INVALID;
	memcpy(word, p, n);
	word[n] = '\0';
	for (; *e != '\0'; e++)
		if (!is_blank(*e))
			return OTA_E_INVALID;
	if (base64_decode(word, raw, SIGN_PUBLIC_LEN, &n) != OTA_OK ||
	    n != SIGN_PUBLIC_LEN)
		return OTA_E_INVALID;
	return OTA_OK;
}
