/*
 * Fuzzes the portable JSON reader with arbitrary bytes. Beyond "no
 * out-of-bounds read" (ASan, on an exact-size input): counting mode
 * agrees with a full parse; the tokens form a tree (offsets inside the
 * text, next past the subtree, children reached by walking siblings
 * end exactly at next); every string unescapes into no more bytes than
 * it took raw; one token fewer than needed is refused; and json_iter
 * agrees with json_parse on a top-level array: same verdict, same
 * offset, same elements.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/json.h"

/*
 * Token i and its direct children are well formed. json_child is O(k),
 * so only the first children go through it: a long array stays linear.
 */
static void
check_tree(const struct json *j, size_t i)
{
	const struct json_tok *t = &j->tok[i];
	size_t c = i + 1, k;

	FUZZ_CHECK(t->start <= t->end && t->end <= j->len);
	FUZZ_CHECK(t->next > i && t->next <= j->ntok);
	if (t->type != JSON_OBJECT && t->type != JSON_ARRAY) {
		FUZZ_CHECK(t->next == i + 1 && t->size == 0);
		return;
	}
	FUZZ_CHECK(j->text[t->start] == (t->type == JSON_OBJECT ? '{' : '['));
	FUZZ_CHECK(j->text[t->end - 1] ==
	    (t->type == JSON_OBJECT ? '}' : ']'));
	for (k = 0; k < t->size; k++) {
		if (k < 16)
			FUZZ_CHECK(json_child(j, i, k) == c);
		FUZZ_CHECK(c < t->next && j->tok[c].start > t->start &&
		    j->tok[c].end < t->end);
		if (t->type == JSON_OBJECT) {
			FUZZ_CHECK(j->tok[c].type == JSON_STRING);
			FUZZ_CHECK(j->tok[c].next == c + 1);
			c++;
		}
		FUZZ_CHECK(j->tok[c].next > c);
		c = j->tok[c].next;
	}
	FUZZ_CHECK(c == t->next);
	FUZZ_CHECK(json_child(j, i, t->size) == JSON_NONE);
}

static void
check_leaves(const struct json *j, char *buf)
{
	const struct json_tok *t;
	size_t i, n, raw;
	uint64_t v;

	for (i = 0; i < j->ntok; i++) {
		t = &j->tok[i];
		if (t->type == JSON_NUMBER &&
		    json_uint(j, i, UINT64_MAX, &v) == OTA_OK)
			FUZZ_CHECK(t->end > t->start &&
			    j->text[t->start] != '-');
		if (t->type != JSON_STRING)
			continue;
		FUZZ_CHECK(j->text[t->end] == '"');
		raw = t->end - t->start;
		FUZZ_CHECK(json_string(j, i, buf, raw + 1, &n) == OTA_OK);
		FUZZ_CHECK(n <= raw && buf[n] == '\0');
		if (strlen(buf) == n)
			FUZZ_CHECK(json_eq(j, i, buf));
		if (raw > 0 && n > 0)
			FUZZ_CHECK(json_string(j, i, buf, n, NULL) ==
			    OTA_E_TOO_LARGE);
	}
}

/*
 * Walks text as an array: the verdict must match json_parse's (st,
 * errpos), and on success the elements must be the array's children.
 */
static void
check_iter(const struct json *whole, enum ota_status st, size_t errpos,
    unsigned max_depth, struct json_tok *tok, size_t cap)
{
	struct json_iter it;
	struct json j;
	enum ota_status ist;
	size_t ierr = SIZE_MAX, k = 1;

	if (json_iter_begin(&it, whole->text, whole->len, max_depth) !=
	    OTA_OK) {
		FUZZ_CHECK(st != OTA_OK || whole->tok[0].type != JSON_ARRAY);
		return;
	}
	while ((ist = json_iter_next(&it, &j, tok, cap, &ierr)) == OTA_OK) {
		FUZZ_CHECK(j.ntok > 0);
		if (st == OTA_OK) {
			FUZZ_CHECK(k < whole->ntok);
			FUZZ_CHECK(j.ntok == whole->tok[k].next - k);
			FUZZ_CHECK(tok[0].start == whole->tok[k].start &&
			    tok[0].end == whole->tok[k].end);
			k = whole->tok[k].next;
		}
	}
	if (st == OTA_OK) {
		FUZZ_CHECK(ist == OTA_E_NOTFOUND);
		FUZZ_CHECK(it.count == whole->tok[0].size);
		FUZZ_CHECK(k == whole->ntok);
	} else {
		FUZZ_CHECK(ist == st && ierr == errpos);
	}
}

static void
check(const char *text, size_t len, unsigned max_depth,
    struct json_tok *tok, struct json_tok *etok, size_t cap, char *buf)
{
	struct json j, c;
	enum ota_status st, cst;
	size_t errpos = SIZE_MAX, cerr = SIZE_MAX, i;

	st = json_parse(&j, text, len, tok, cap, max_depth, &errpos);
	cst = json_parse(&c, text, len, NULL, 0, max_depth, &cerr);
	FUZZ_CHECK(st == cst && errpos == cerr);
	FUZZ_CHECK(st == OTA_OK || st == OTA_E_INVALID ||
	    st == OTA_E_TOO_LARGE);
	if (st != OTA_OK) {
		FUZZ_CHECK(errpos <= len);
		check_iter(&j, st, errpos, max_depth, etok, cap);
		return;
	}
	FUZZ_CHECK(c.ntok == j.ntok && j.ntok > 0 && j.ntok <= len);
	FUZZ_CHECK(j.tok[0].next == j.ntok);
	for (i = 0; i < j.ntok; i++)
		check_tree(&j, i);
	check_leaves(&j, buf);
	check_iter(&j, st, errpos, max_depth, etok, cap);
	/* The cap is exact: one token fewer is refused, not overrun. */
	FUZZ_CHECK(json_parse(&c, text, len, tok, j.ntok - 1, max_depth,
	    NULL) == OTA_E_TOO_LARGE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Never more tokens than bytes: every value takes at least one. */
	struct json_tok *tok = malloc((size + 1) * sizeof(*tok));
	struct json_tok *etok = malloc((size + 1) * sizeof(*etok));
	char *buf = malloc(size + 1);

	FUZZ_CHECK(tok != NULL && etok != NULL && buf != NULL);
	check((const char *)data, size, 0, tok, etok, size + 1, buf);
	/* A small cap, to reach the depth checks with short inputs. */
	check((const char *)data, size, 3, tok, etok, size + 1, buf);
	free(buf);
	free(etok);
	free(tok);
	return 0;
}
