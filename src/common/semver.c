#include <string.h>

#include "common/semver.h"
#include "common/str.h"
#include "common/banned.h"

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_ident_char(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    c == '-';
}

/* Reads a numeric field without leading zeros at *p. */
static bool
read_number(const char **p, uint64_t *out)
{
	if ((*p)[0] == '0' && is_digit((*p)[1]))
		return false;
	return str_read_u64(p, out);
}

/*
 * Checks a dot-separated identifier list of length n at s; numeric
 * identifiers may not have leading zeros when strict_numbers is set
 * (pre-release), build identifiers may.
 */
static bool
valid_idents(const char *s, size_t n, bool strict_numbers)
{
	size_t i = 0;

	if (n == 0)
		return false;
	while (i < n) {
		size_t start = i;
		bool numeric = true;

		for (; i < n && s[i] != '.'; i++) {
			if (!is_ident_char(s[i]))
				return false;
			if (!is_digit(s[i]))
				numeric = false;
		}
		if (i == start)
			return false;	/* empty identifier */
		if (strict_numbers && numeric && i - start > 1 &&
		    s[start] == '0')
			return false;
		if (i < n && ++i == n)
			return false;	/* trailing dot */
	}
	return true;
}

enum ota_status
semver_parse(const char *s, struct semver *v)
{
	const char *p = s, *pre, *build;
	uint64_t *fields[3];
	size_t nfields = 0, prelen;

	memset(v, 0, sizeof(*v));
	if (strlen(s) >= SEMVER_MAX_LEN)
		return OTA_E_INVALID;
	fields[0] = &v->major;
	fields[1] = &v->minor;
	fields[2] = &v->patch;
	if (*p == 'v' || *p == 'V')
		p++;
	for (;;) {
		if (!read_number(&p, fields[nfields++]))
			return OTA_E_INVALID;
		if (*p != '.' || nfields == 3)
			break;
		p++;
	}
	build = strchr(p, '+');
	pre = NULL;
	if (*p == '-') {
		pre = p + 1;
		prelen = build ? (size_t)(build - pre) : strlen(pre);
		if (!valid_idents(pre, prelen, true))
			return OTA_E_INVALID;
		/*
		 * With a field left out, "2024-05-01" would read as 2024.0.0
		 * with pre-release "05-01": a short version's pre-release
		 * must start with a letter ("1.2-rc1"), so dates stay out.
		 */
		if (nfields < 3 && !((pre[0] >= 'a' && pre[0] <= 'z') ||
		    (pre[0] >= 'A' && pre[0] <= 'Z')))
			return OTA_E_INVALID;
		memcpy(v->pre, pre, prelen);
		v->pre[prelen] = '\0';
	} else if (*p != '\0' && *p != '+')
		return OTA_E_INVALID;
	if (build != NULL) {
		if (pre == NULL && build != p)
			return OTA_E_INVALID;
		if (!valid_idents(build + 1, strlen(build + 1), false))
			return OTA_E_INVALID;
		memcpy(v->build, build + 1, strlen(build + 1) + 1);
	}
	return OTA_OK;
}

static int
cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

/* Compares one pre-release identifier each, lengths given. */
static int
cmp_ident(const char *a, size_t an, const char *b, size_t bn)
{
	bool anum = strspn(a, "0123456789") >= an;
	bool bnum = strspn(b, "0123456789") >= bn;
	int c;

	if (anum && bnum) {
		/* No leading zeros: the longer number is the larger. */
		if (an != bn)
			return an < bn ? -1 : 1;
		c = memcmp(a, b, an);
		return c < 0 ? -1 : c > 0;
	}
	if (anum != bnum)
		return anum ? -1 : 1;
	c = memcmp(a, b, an < bn ? an : bn);
	if (c != 0)
		return c < 0 ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

int
semver_cmp(const struct semver *a, const struct semver *b)
{
	const char *pa = a->pre, *pb = b->pre;
	int c;

	if ((c = cmp_u64(a->major, b->major)) != 0 ||
	    (c = cmp_u64(a->minor, b->minor)) != 0 ||
	    (c = cmp_u64(a->patch, b->patch)) != 0)
		return c;
	if (*pa == '\0' || *pb == '\0')
		return (*pa == '\0') - (*pb == '\0');
	for (;;) {
		size_t an = strcspn(pa, "."), bn = strcspn(pb, ".");

		if ((c = cmp_ident(pa, an, pb, bn)) != 0)
			return c;
		pa += an;
		pb += bn;
		if (*pa == '\0' || *pb == '\0')
			return (*pb == '\0') - (*pa == '\0');
		pa++;
		pb++;
	}
}

bool
semver_is_prerelease(const struct semver *v)
{
	return v->pre[0] != '\0';
}
