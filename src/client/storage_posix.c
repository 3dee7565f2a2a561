/* renameat2(RENAME_EXCHANGE) and flock(2) are Linux/BSD, not POSIX. */
#define _GNU_SOURCE
/*
 * storage on a POSIX filesystem (Linux for RENAME_EXCHANGE, with a
 * two-step fallback). The layout and the crash-ordering argument are at
 * the top of storage.h. Here: every step that moves a tree or main is
 * one rename(2), each followed by an fsync of the directories it
 * changed, and each one can be repeated by recover (the "pending" record
 * in the state says which operation main is moving towards).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "client/storage.h"
#include "common/fsatomic.h"
#include "common/path.h"
#include "common/str.h"
#include "common/banned.h"

#define STATE_HEADER "ota-storage 1\n"
#define SLOTS_LINK ".ota/slots/"	/* what main's link text starts with */
#define PART_SUFFIX ".part"
#define STORAGE_MAX_NAME 250		/* a component, room for .part */
#define RMTREE_MAX_DEPTH (STORAGE_MAX_DEPTH + 8)
#define SLOT_MAX_NUMBER 999999999ULL
#define TRASH_TRIES 64

enum pending { PEND_NONE, PEND_COMMIT, PEND_ROLLBACK, PEND_ADOPT };

static const char *const pending_names[] = { "", "commit", "rollback",
    "adopt" };

/* The state file: the public part and the in-flight operation. */
struct rec {
	struct ota_state s;
	enum pending pending;
	char pending_slot[STORAGE_MAX_SLOT + 1];
	char pending_version[STORAGE_MAX_VERSION + 1];
	int64_t pending_deadline;
};

struct storage {
	char mod[PATH_MAX];		/* <root>/<module> */
	char main[PATH_MAX];		/* <mod>/main */
	char newlink[PATH_MAX];		/* <mod>/.main.new */
	char ota[PATH_MAX];
	char state[PATH_MAX];
	char slots[PATH_MAX];
	char staging[PATH_MAX];
	char trash[PATH_MAX];
	int lockfd;
	bool no_exchange;
	unsigned long trash_n;
	struct rec rec;
	char buf[STORAGE_MAX_STATE + 1];
};

enum main_kind { MAIN_NONE, MAIN_LINK, MAIN_DIR };

/* ---- small helpers ---- */

static bool
version_ok(const char *v)
{
	size_t n = strlen(v);

	return n > 0 && n <= STORAGE_MAX_VERSION && str_printable(v) &&
	    strchr(v, '/') == NULL && v[0] != '.';
}

/* "s<digits>", no leading zero. */
static bool
slot_number(const char *name, uint64_t *n)
{
	if (name[0] != 's' || name[1] == '0')
		return false;
	return parse_u64(name + 1, 1, SLOT_MAX_NUMBER, n) == OTA_OK;
}

static bool
is_dir(const char *p)
{
	struct stat sb;

	return lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static enum ota_status
errno_fail(char *err, size_t errsz, const char *what, const char *p)
{
	int e = errno;

	return str_fail(err, errsz, ota_status_from_errno(e), "%s '%s': %s",
	    what, p, strerror(e));
}

static enum ota_status
slot_path(const struct storage *st, const char *slot, char *out, size_t sz)
{
	return str_fmt(out, sz, "%s/%s", st->slots, slot);
}

/* ---- removing trees ---- */

static enum ota_status
rmtree_at(int dfd, const char *name, int depth)
{
	enum ota_status st = OTA_OK;
	struct dirent *de;
	DIR *d;
	int fd;

	if (unlinkat(dfd, name, 0) == 0 || errno == ENOENT)
		return OTA_OK;
	if (errno != EISDIR && errno != EPERM)
		return ota_status_from_errno(errno);
	if (depth >= RMTREE_MAX_DEPTH)
		return OTA_E_TOO_LARGE;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0)
		return ota_status_from_errno(errno);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return ota_status_from_errno(errno);
	}
	while ((de = readdir(d)) != NULL) {
		enum ota_status r;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		r = rmtree_at(dirfd(d), de->d_name, depth + 1);
		if (r != OTA_OK && st == OTA_OK)
			st = r;
	}
	closedir(d);
	if (st == OTA_OK && unlinkat(dfd, name, AT_REMOVEDIR) != 0 &&
	    errno != ENOENT)
		st = ota_status_from_errno(errno);
	return st;
}

/* Removes everything in the trash; what fails stays for the next time. */
static enum ota_status
trash_empty(struct storage *st, bool *did)
{
	enum ota_status rc = OTA_OK;
	struct dirent *de;
	DIR *d;

	if ((d = opendir(st->trash)) == NULL)
		return errno == ENOENT ? OTA_OK : ota_status_from_errno(errno);
	while ((de = readdir(d)) != NULL) {
		enum ota_status r;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		r = rmtree_at(dirfd(d), de->d_name, 0);
		if (r != OTA_OK && rc == OTA_OK)
			rc = r;
		if (did != NULL)
			*did = true;
	}
	closedir(d);
	return rc;
}

/* Renames p into the trash (one step: it is gone from where it was). */
static enum ota_status
trash_move(struct storage *st, const char *p)
{
	char dst[PATH_MAX];
	enum ota_status rc;
	int i;

	for (i = 0; i < TRASH_TRIES; i++) {
		if ((rc = str_fmt(dst, sizeof(dst), "%s/t%ld.%lu", st->trash,
		    (long)getpid(), st->trash_n++)) != OTA_OK)
			return rc;
		if (rename(p, dst) == 0)
			return OTA_OK;
		if (errno == ENOENT)
			return OTA_OK;
		if (errno != EEXIST && errno != ENOTEMPTY)
			return ota_status_from_errno(errno);
	}
	return OTA_E_IO;
}

/* ---- the state file ---- */

/* Appends "key=value\n" to buf[*len]; once *rc is set, does nothing. */
static void
put(char *buf, size_t *len, enum ota_status *rc, const char *key,
    const char *val)
{
	size_t n = strlen(key) + 1 + strlen(val) + 1;

	if (*rc != OTA_OK)
		return;
	if (!str_printable(val))
		*rc = OTA_E_INVALID;
	else if (*len + n >= STORAGE_MAX_STATE)
		*rc = OTA_E_TOO_LARGE;
	else
		*len += (size_t)snprintf(buf + *len, STORAGE_MAX_STATE + 1 -
		    *len, "%s=%s\n", key, val);
}

static void
put_num(char *buf, size_t *len, enum ota_status *rc, const char *key,
    uint64_t v)
{
	char num[24];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	put(buf, len, rc, key, num);
}

static enum ota_status
state_write(struct storage *st, const struct rec *r)
{
	const struct ota_state *s = &r->s;
	enum ota_status rc = OTA_OK;
	size_t n = strlen(STATE_HEADER);
	char *b = st->buf;

	memcpy(b, STATE_HEADER, n + 1);
	put(b, &n, &rc, "current", s->current);
	put(b, &n, &rc, "current_slot", s->current_slot);
	put(b, &n, &rc, "previous", s->previous);
	put(b, &n, &rc, "previous_slot", s->previous_slot);
	put_num(b, &n, &rc, "trial", s->trial);
	put_num(b, &n, &rc, "trial_starts", s->trial_starts);
	put_num(b, &n, &rc, "trial_deadline", (uint64_t)s->trial_deadline);
	put(b, &n, &rc, "staged", s->staged);
	put_num(b, &n, &rc, "reconstructed", s->reconstructed);
	put_num(b, &n, &rc, "metadata_floor", s->metadata_floor);
	put(b, &n, &rc, "etag", s->etag);
	put(b, &n, &rc, "last_error", s->last_error);
	put_num(b, &n, &rc, "backoff_until", (uint64_t)s->backoff_until);
	put(b, &n, &rc, "pending", pending_names[r->pending]);
	put(b, &n, &rc, "pending_slot", r->pending_slot);
	put(b, &n, &rc, "pending_version", r->pending_version);
	put_num(b, &n, &rc, "pending_deadline", (uint64_t)r->pending_deadline);
	put(b, &n, &rc, "rejected", s->rejected);
	put(b, &n, &rc, "ready", s->ready);
	put(b, &n, &rc, "stage_key", s->stage_key);
	if (rc == OTA_OK)
		rc = fsatomic_write(st->state, b, n, 0644);
	if (rc == OTA_OK && r != &st->rec)
		st->rec = *r;
	return rc;
}

/* One "key=value" into r; OTA_E_INVALID for anything unexpected. */
static enum ota_status
parse_line(struct rec *r, const char *key, const char *val, unsigned *seen)
{
	static const char *const keys[] = { "current", "current_slot",
	    "previous", "previous_slot", "trial", "trial_starts",
	    "trial_deadline", "staged", "reconstructed", "metadata_floor",
	    "etag", "last_error", "backoff_until", "pending", "pending_slot",
	    "pending_version", "pending_deadline", "rejected", "ready",
	    "stage_key" };
	struct ota_state *s = &r->s;
	uint64_t n = 0;
	size_t i, k;

	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if (strcmp(key, keys[k]) == 0)
			break;
	if (k == sizeof(keys) / sizeof(keys[0]) || (*seen & (1u << k)))
		return OTA_E_INVALID;
	*seen |= 1u << k;
	switch (k) {
	case 0: return str_copy(s->current, sizeof(s->current), val);
	case 1: return str_copy(s->current_slot, sizeof(s->current_slot), val);
	case 2: return str_copy(s->previous, sizeof(s->previous), val);
	case 3: return str_copy(s->previous_slot, sizeof(s->previous_slot),
	    val);
	case 7: return str_copy(s->staged, sizeof(s->staged), val);
	case 10: return str_copy(s->etag, sizeof(s->etag), val);
	case 11: return str_copy(s->last_error, sizeof(s->last_error), val);
	case 14: return str_copy(r->pending_slot, sizeof(r->pending_slot),
	    val);
	case 15: return str_copy(r->pending_version,
	    sizeof(r->pending_version), val);
	case 17: return str_copy(s->rejected, sizeof(s->rejected), val);
	case 18: return str_copy(s->ready, sizeof(s->ready), val);
	case 19: return str_copy(s->stage_key, sizeof(s->stage_key), val);
	case 13:
		for (i = 0; i < sizeof(pending_names) / sizeof(*pending_names);
		    i++)
			if (strcmp(val, pending_names[i]) == 0) {
				r->pending = (enum pending)i;
				return OTA_OK;
			}
		return OTA_E_INVALID;
	default:
		break;
	}
	if (parse_u64(val, 0, INT64_MAX, &n) != OTA_OK)
		return OTA_E_INVALID;
	switch (k) {
	case 4: case 8:
		if (n > 1)
			return OTA_E_INVALID;
		if (k == 4)
			s->trial = n;
		else
			s->reconstructed = n;
		break;
	case 5:
		if (n > UINT_MAX)
			return OTA_E_INVALID;
		s->trial_starts = (unsigned)n;
		break;
	case 6: s->trial_deadline = (int64_t)n; break;
	case 9: s->metadata_floor = n; break;
	case 12: s->backoff_until = (int64_t)n; break;
	default: r->pending_deadline = (int64_t)n; break;
	}
	return OTA_OK;
}

/* Slot names and versions in a parsed record are what we would write. */
static bool
rec_sane(const struct rec *r)
{
	uint64_t n;

	if (r->s.current_slot[0] != '\0' &&
	    !slot_number(r->s.current_slot, &n))
		return false;
	if (r->s.previous_slot[0] != '\0' &&
	    (!slot_number(r->s.previous_slot, &n) ||
	    strcmp(r->s.previous_slot, r->s.current_slot) == 0))
		return false;
	if (r->pending != PEND_NONE && (!slot_number(r->pending_slot, &n) ||
	    (r->pending != PEND_ADOPT && !version_ok(r->pending_version))))
		return false;
	if (r->s.staged[0] != '\0' && !version_ok(r->s.staged))
		return false;
	return true;
}

/*
 * Reads the state into *r: OTA_OK, OTA_E_NOTFOUND (none), OTA_E_INVALID
 * (corrupt: bad header, unknown or repeated key, bad value, too big).
 */
static enum ota_status
state_read(struct storage *st, struct rec *r)
{
	unsigned seen = 0;
	char *line, *nl, *eq;
	ssize_t n;
	size_t len = 0;
	int fd;

	memset(r, 0, sizeof(*r));
	if ((fd = open(st->state, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? OTA_E_NOTFOUND :
		    ota_status_from_errno(errno);
	while (len < sizeof(st->buf) && (n = read(fd, st->buf + len,
	    sizeof(st->buf) - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return OTA_E_IO;
		}
		len += (size_t)n;
	}
	close(fd);
	if (len > STORAGE_MAX_STATE)
		return OTA_E_INVALID;
	st->buf[len] = '\0';
	if (strlen(st->buf) != len || !str_has_prefix(st->buf, STATE_HEADER))
		return OTA_E_INVALID;
	for (line = st->buf + strlen(STATE_HEADER); *line != '\0';
	    line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			return OTA_E_INVALID;	/* cut short */
		*nl = '\0';
		if ((eq = strchr(line, '=')) == NULL)
			return OTA_E_INVALID;
		*eq = '\0';
		if (!str_printable(eq + 1) ||
		    parse_line(r, line, eq + 1, &seen) != OTA_OK)
			return OTA_E_INVALID;
	}
	return rec_sane(r) ? OTA_OK : OTA_E_INVALID;
}

/* ---- main ---- */

/* What main is; for a link, the slot it names into slot[]. */
static enum ota_status
main_inspect(struct storage *st, enum main_kind *kind, char *slot,
    char *err, size_t errsz)
{
	char text[STORAGE_MAX_SLOT + sizeof(SLOTS_LINK) + 2];
	struct stat sb;
	uint64_t n;
	ssize_t len;

	slot[0] = '\0';
	if (lstat(st->main, &sb) != 0) {
		if (errno != ENOENT)
			return errno_fail(err, errsz, "cannot stat", st->main);
		*kind = MAIN_NONE;
		return OTA_OK;
	}
	if (S_ISDIR(sb.st_mode)) {
		*kind = MAIN_DIR;
		return OTA_OK;
	}
	if (!S_ISLNK(sb.st_mode))
		return str_fail(err, errsz, OTA_E_INVALID, "'%s' is neither a "
		    "directory nor a link ota made", st->main);
	if ((len = readlink(st->main, text, sizeof(text) - 1)) < 0)
		return errno_fail(err, errsz, "cannot read link", st->main);
	text[len] = '\0';
	if ((size_t)len >= sizeof(text) - 1 ||
	    !str_has_prefix(text, SLOTS_LINK) ||
	    !slot_number(text + strlen(SLOTS_LINK), &n) ||
	    str_copy(slot, STORAGE_MAX_SLOT + 1, text + strlen(SLOTS_LINK)) !=
	    OTA_OK)
		return str_fail(err, errsz, OTA_E_INVALID, "'%s' is a link ota "
		    "did not make", st->main);
	*kind = MAIN_LINK;
	return OTA_OK;
}

/* main -> .ota/slots/<slot>, by rename over it: THE SWITCH. */
static enum ota_status
main_point(struct storage *st, const char *slot, char *err, size_t errsz)
{
	char text[PATH_MAX];
	enum ota_status rc;

	if ((rc = str_fmt(text, sizeof(text), SLOTS_LINK "%s", slot)) !=
	    OTA_OK)
		return rc;
	if (unlink(st->newlink) != 0 && errno != ENOENT)
		return errno_fail(err, errsz, "cannot remove", st->newlink);
	if (symlink(text, st->newlink) != 0)
		return errno_fail(err, errsz, "cannot make link", st->newlink);
	if (rename(st->newlink, st->main) != 0) {
		rc = errno_fail(err, errsz, "cannot switch", st->main);
		(void)unlink(st->newlink);
		return rc;
	}
	if ((rc = fsatomic_fsync_dir(st->mod)) != OTA_OK)
		return errno_fail(err, errsz, "cannot fsync", st->mod);
	return OTA_OK;
}

/* The first free slot number above every slot there is. */
static enum ota_status
slot_next(struct storage *st, char *out)
{
	uint64_t n, max = 0;
	struct dirent *de;
	DIR *d;

	if ((d = opendir(st->slots)) == NULL)
		return ota_status_from_errno(errno);
	while ((de = readdir(d)) != NULL)
		if (slot_number(de->d_name, &n) && n > max)
			max = n;
	closedir(d);
	if (slot_number(st->rec.s.current_slot, &n) && n > max)
		max = n;
	if (slot_number(st->rec.s.previous_slot, &n) && n > max)
		max = n;
	if (max >= SLOT_MAX_NUMBER)
		return OTA_E_TOO_LARGE;
	snprintf(out, STORAGE_MAX_SLOT + 1, "s%llu",
	    (unsigned long long)max + 1);
	return OTA_OK;
}

/* dir/.version, the MicroPython updater's record, if sane; else "". */
static void
version_file(const char *dir, char *out)
{
	char p[PATH_MAX];
	ssize_t n = -1;
	int fd;

	out[0] = '\0';
	if (str_fmt(p, sizeof(p), "%s/" STORAGE_VERSION_FILE, dir) != OTA_OK ||
	    (fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	n = read(fd, out, STORAGE_MAX_VERSION);
	close(fd);
	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	out[n] = '\0';
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' ||
	    out[n - 1] == ' ' || out[n - 1] == '\t'))
		out[--n] = '\0';
	if (!version_ok(out))
		out[0] = '\0';
}

/* ---- finishing operations (each step repeatable) ---- */

static enum ota_status
finalize(struct storage *st, char *err, size_t errsz)
{
	struct rec r = st->rec;
	enum ota_status rc;

	switch (r.pending) {
	case PEND_COMMIT:
		memcpy(r.s.previous, r.s.current, sizeof(r.s.previous));
		memcpy(r.s.previous_slot, r.s.current_slot,
		    sizeof(r.s.previous_slot));
		r.s.trial = true;
		r.s.trial_deadline = r.pending_deadline;
		if (strcmp(r.s.staged, r.pending_version) == 0)
			r.s.staged[0] = '\0';
		break;
	case PEND_ROLLBACK:
	case PEND_ADOPT:
		r.s.previous[0] = r.s.previous_slot[0] = '\0';
		r.s.trial = false;
		r.s.trial_deadline = 0;
		/* The ETag was the newer version's: the next check must not
		 * hear "304, up to date" for a version main no longer runs. */
		r.s.etag[0] = '\0';
		break;
	case PEND_NONE:
		return OTA_OK;
	}
	memcpy(r.s.current, r.pending_version, sizeof(r.s.current));
	memcpy(r.s.current_slot, r.pending_slot, sizeof(r.s.current_slot));
	r.s.trial_starts = 0;
	r.s.reconstructed = false;
	r.pending = PEND_NONE;
	r.pending_slot[0] = r.pending_version[0] = '\0';
	r.pending_deadline = 0;
	if ((rc = state_write(st, &r)) != OTA_OK)
		return str_fail(err, errsz, rc, "cannot write '%s'", st->state);
	return OTA_OK;
}

/* Steps 3-5 of a commit, or 4-5 of a rollback, from wherever they were. */
static enum ota_status
finish_move(struct storage *st, const char *link_slot, char *err,
    size_t errsz)
{
	struct rec *r = &st->rec;
	char slot[PATH_MAX], staged[PATH_MAX];
	enum ota_status rc;

	if ((rc = slot_path(st, r->pending_slot, slot, sizeof(slot))) !=
	    OTA_OK)
		return rc;
	if (strcmp(link_slot, r->pending_slot) != 0) {
		if (!is_dir(slot) && r->pending == PEND_COMMIT) {
			if ((rc = str_fmt(staged, sizeof(staged), "%s/%s",
			    st->staging, r->pending_version)) != OTA_OK)
				return rc;
			if (is_dir(staged)) {
				if (rename(staged, slot) != 0)
					return errno_fail(err, errsz,
					    "cannot move", staged);
				if (fsatomic_fsync_dir(st->slots) != OTA_OK ||
				    fsatomic_fsync_dir(st->staging) !=
				    OTA_OK)
					return errno_fail(err, errsz,
					    "cannot fsync", st->slots);
			}
		}
		if (!is_dir(slot)) {
			/* Nothing to move to: the operation never began. */
			r->pending = PEND_NONE;
			r->pending_slot[0] = r->pending_version[0] = '\0';
			if ((rc = state_write(st, r)) != OTA_OK)
				return str_fail(err, errsz, rc,
				    "cannot write '%s'", st->state);
			return OTA_OK;
		}
		if ((rc = main_point(st, r->pending_slot, err, errsz)) !=
		    OTA_OK)
			return rc;
	}
	return finalize(st, err, errsz);
}

/*
 * Adoption: the real directory main becomes .ota/slots/<slot> and main a
 * link to it. With RENAME_EXCHANGE one step: a link whose text is right
 * when seen from main is made at the slot's name, then the two names are
 * exchanged. Fallback (EINVAL, ENOSYS: a filesystem without exchange):
 * rename main into the slot, then make the link; the pending record
 * (written first) lets recover make the link if we die in between, the
 * one moment main is absent.
 */
static enum ota_status
adopt(struct storage *st, char *err, size_t errsz)
{
	char slot[STORAGE_MAX_SLOT + 1], sp[PATH_MAX], text[PATH_MAX];
	struct rec r = st->rec;
	enum ota_status rc;
	int e;

	if ((rc = slot_next(st, slot)) != OTA_OK ||
	    (rc = slot_path(st, slot, sp, sizeof(sp))) != OTA_OK ||
	    (rc = str_fmt(text, sizeof(text), SLOTS_LINK "%s", slot)) !=
	    OTA_OK)
		return str_fail(err, errsz, rc, "cannot name a slot in '%s'",
		    st->slots);
	r.pending = PEND_ADOPT;
	memcpy(r.pending_slot, slot, sizeof(r.pending_slot));
	version_file(st->main, r.pending_version);
	if ((rc = state_write(st, &r)) != OTA_OK)
		return str_fail(err, errsz, rc, "cannot write '%s'", st->state);
	if (unlink(sp) != 0 && errno != ENOENT)
		return errno_fail(err, errsz, "cannot remove", sp);
	e = EINVAL;
	if (!st->no_exchange) {
		if (symlink(text, sp) != 0)
			return errno_fail(err, errsz, "cannot make link", sp);
		if (renameat2(AT_FDCWD, st->main, AT_FDCWD, sp,
		    RENAME_EXCHANGE) == 0)
			e = 0;
		else {
			e = errno;
			(void)unlink(sp);
			if (e != EINVAL && e != ENOSYS) {
				errno = e;
				return errno_fail(err, errsz, "cannot exchange",
				    st->main);
			}
		}
	}
	if (e != 0) {
		if (rename(st->main, sp) != 0)
			return errno_fail(err, errsz, "cannot move", st->main);
		if (fsatomic_fsync_dir(st->slots) != OTA_OK)
			return errno_fail(err, errsz, "cannot fsync",
			    st->slots);
		if ((rc = main_point(st, slot, err, errsz)) != OTA_OK)
			return rc;
	} else if (fsatomic_fsync_dir(st->slots) != OTA_OK ||
	    fsatomic_fsync_dir(st->mod) != OTA_OK)
		return errno_fail(err, errsz, "cannot fsync", st->mod);
	return finalize(st, err, errsz);
}

/* Slots neither main nor the state names go to trash. */
static enum ota_status
sweep(struct storage *st, const char *link_slot, bool *did)
{
	enum ota_status rc = OTA_OK, r;
	char p[PATH_MAX];
	struct dirent *de;
	bool moved = false;
	DIR *d;

	if ((d = opendir(st->slots)) == NULL)
		return ota_status_from_errno(errno);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, link_slot) == 0 ||
		    strcmp(de->d_name, st->rec.s.current_slot) == 0 ||
		    strcmp(de->d_name, st->rec.s.previous_slot) == 0 ||
		    (st->rec.pending != PEND_NONE &&
		    strcmp(de->d_name, st->rec.pending_slot) == 0))
			continue;
		if ((r = slot_path(st, de->d_name, p, sizeof(p))) == OTA_OK)
			r = trash_move(st, p);
		if (r != OTA_OK && rc == OTA_OK)
			rc = r;
		moved = true;
	}
	closedir(d);
	if (moved) {
		*did = true;
		if (fsatomic_fsync_dir(st->slots) != OTA_OK && rc == OTA_OK)
			rc = OTA_E_IO;
	}
	return rc;
}

/* ---- the public operations ---- */

enum ota_status
storage_recover(struct storage *st, unsigned *did, char *err, size_t errsz)
{
	char link_slot[STORAGE_MAX_SLOT + 1], p[PATH_MAX];
	enum main_kind kind;
	enum ota_status rc, rs;
	unsigned done = 0;
	bool cleaned = false, orphans = false;
	struct stat sb;

	if (did != NULL)
		*did = 0;
	if (lstat(st->newlink, &sb) == 0 && S_ISLNK(sb.st_mode)) {
		if (unlink(st->newlink) != 0)
			return errno_fail(err, errsz, "cannot remove",
			    st->newlink);
		cleaned = true;
	}
	if ((rc = fsatomic_clean_stale(st->ota)) != OTA_OK)
		return str_fail(err, errsz, rc, "cannot clean '%s'", st->ota);
	if ((rc = trash_empty(st, &cleaned)) != OTA_OK)
		return str_fail(err, errsz, rc, "cannot empty '%s'", st->trash);
	if ((rc = main_inspect(st, &kind, link_slot, err, errsz)) != OTA_OK)
		return rc;
	rs = state_read(st, &st->rec);
	if (rs != OTA_OK && rs != OTA_E_NOTFOUND && rs != OTA_E_INVALID)
		return str_fail(err, errsz, rs, "cannot read '%s'", st->state);
	if (rs != OTA_OK)
		memset(&st->rec, 0, sizeof(st->rec));

	switch (st->rec.pending) {
	case PEND_COMMIT:
	case PEND_ROLLBACK:
		if (kind == MAIN_DIR)
			break;		/* not ours any more: adopt below */
		memcpy(p, st->rec.pending_slot, sizeof(st->rec.pending_slot));
		done |= st->rec.pending == PEND_COMMIT ? STORAGE_DID_COMMIT :
		    STORAGE_DID_ROLLBACK;
		if ((rc = finish_move(st, link_slot, err, errsz)) != OTA_OK)
			return rc;
		if (strcmp(st->rec.s.current_slot, p) != 0)
			done &= ~(STORAGE_DID_COMMIT | STORAGE_DID_ROLLBACK);
		break;
	case PEND_ADOPT:
		if ((rc = slot_path(st, st->rec.pending_slot, p, sizeof(p))) !=
		    OTA_OK)
			return rc;
		if (kind == MAIN_NONE && !is_dir(p)) {
			/* Nothing was moved: forget the intent. */
			st->rec.pending = PEND_NONE;
			st->rec.pending_slot[0] = '\0';
			st->rec.pending_version[0] = '\0';
			if ((rc = state_write(st, &st->rec)) != OTA_OK)
				return rc;
			break;
		}
		if (kind == MAIN_NONE && is_dir(p)) {
			/* The fallback died between its two steps. */
			if ((rc = main_point(st, st->rec.pending_slot, err,
			    errsz)) != OTA_OK)
				return rc;
		} else if (kind != MAIN_LINK ||
		    strcmp(link_slot, st->rec.pending_slot) != 0)
			break;		/* adopt again below */
		if ((rc = finalize(st, err, errsz)) != OTA_OK)
			return rc;
		done |= STORAGE_DID_ADOPT;
		break;
	case PEND_NONE:
		break;
	}
	if ((rc = main_inspect(st, &kind, link_slot, err, errsz)) != OTA_OK)
		return rc;
	if (kind == MAIN_DIR) {
		if ((rc = adopt(st, err, errsz)) != OTA_OK)
			return rc;
		done |= STORAGE_DID_ADOPT;
	} else if (kind == MAIN_NONE && st->rec.s.current_slot[0] != '\0') {
		/* main removed by hand: point it at the current slot again */
		if ((rc = slot_path(st, st->rec.s.current_slot, p,
		    sizeof(p))) != OTA_OK)
			return rc;
		if (is_dir(p)) {
			if ((rc = main_point(st, st->rec.s.current_slot, err,
			    errsz)) != OTA_OK)
				return rc;
		} else {
			memset(&st->rec, 0, sizeof(st->rec));
			if ((rc = state_write(st, &st->rec)) != OTA_OK)
				return rc;
			done |= STORAGE_DID_REBUILD;
		}
	} else if (kind == MAIN_LINK && (rs != OTA_OK ||
	    st->rec.pending != PEND_NONE ||
	    strcmp(st->rec.s.current_slot, link_slot) != 0)) {
		/* The state is lost or says something else: main wins. */
		struct rec r;

		memset(&r, 0, sizeof(r));
		if (rs == OTA_OK) {
			r.s.metadata_floor = st->rec.s.metadata_floor;
			memcpy(r.s.etag, st->rec.s.etag, sizeof(r.s.etag));
			memcpy(r.s.last_error, st->rec.s.last_error,
			    sizeof(r.s.last_error));
			r.s.backoff_until = st->rec.s.backoff_until;
			memcpy(r.s.rejected, st->rec.s.rejected,
			    sizeof(r.s.rejected));
			memcpy(r.s.ready, st->rec.s.ready, sizeof(r.s.ready));
			memcpy(r.s.stage_key, st->rec.s.stage_key,
			    sizeof(r.s.stage_key));
		}
		if ((rc = slot_path(st, link_slot, p, sizeof(p))) != OTA_OK)
			return rc;
		if (!is_dir(p))
			return str_fail(err, errsz, OTA_E_INVALID, "'%s' names "
			    "a missing slot", st->main);
		memcpy(r.s.current_slot, link_slot, sizeof(r.s.current_slot));
		version_file(p, r.s.current);
		r.s.reconstructed = true;
		if ((rc = state_write(st, &r)) != OTA_OK)
			return str_fail(err, errsz, rc, "cannot write '%s'",
			    st->state);
		done |= STORAGE_DID_REBUILD;
	} else if (kind == MAIN_NONE && rs == OTA_E_INVALID) {
		memset(&st->rec, 0, sizeof(st->rec));
		if ((rc = state_write(st, &st->rec)) != OTA_OK)
			return rc;
		done |= STORAGE_DID_REBUILD;
	}
	if ((rc = main_inspect(st, &kind, link_slot, err, errsz)) != OTA_OK)
		return rc;
	if ((rc = sweep(st, link_slot, &orphans)) != OTA_OK)
		return str_fail(err, errsz, rc, "cannot clean '%s'", st->slots);
	if ((rc = trash_empty(st, &cleaned)) != OTA_OK)
		return str_fail(err, errsz, rc, "cannot empty '%s'", st->trash);
	if (orphans)
		done |= STORAGE_DID_ORPHANS;
	if (cleaned)
		done |= STORAGE_DID_TEMPS;
	if (did != NULL)
		*did = done;
	return OTA_OK;
}

static enum ota_status
mkdir_p1(const char *p)
{
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		return ota_status_from_errno(errno);
	return is_dir(p) ? OTA_OK : OTA_E_INVALID;
}

enum ota_status
storage_open(struct storage **out, const char *root, const char *module,
    char *err, size_t errsz)
{
	struct storage *st = NULL;
	char lock[PATH_MAX];
	enum ota_status rc;
	size_t n = strlen(module);

	*out = NULL;
	if (n == 0 || n > STORAGE_MAX_MODULE || !str_printable(module) ||
	    strchr(module, '/') != NULL || module[0] == '.')
		return str_fail(err, errsz, OTA_E_INVALID, "bad module name "
		    "'%s'", module);
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return str_fail(err, errsz, OTA_E_NOMEM, "out of memory");
	st->lockfd = -1;
	if ((rc = str_fmt(st->mod, sizeof(st->mod), "%s/%s", root, module)) ||
	    (rc = str_fmt(st->main, sizeof(st->main), "%s/main", st->mod)) ||
	    (rc = str_fmt(st->newlink, sizeof(st->newlink), "%s/.main.new",
	    st->mod)) ||
	    (rc = str_fmt(st->ota, sizeof(st->ota), "%s/.ota", st->mod)) ||
	    (rc = str_fmt(st->state, sizeof(st->state), "%s/state", st->ota)) ||
	    (rc = str_fmt(st->slots, sizeof(st->slots), "%s/slots", st->ota)) ||
	    (rc = str_fmt(st->staging, sizeof(st->staging), "%s/staging",
	    st->ota)) ||
	    (rc = str_fmt(st->trash, sizeof(st->trash), "%s/trash", st->ota)) ||
	    (rc = str_fmt(lock, sizeof(lock), "%s/lock", st->ota))) {
		rc = str_fail(err, errsz, rc, "path too long under '%s'", root);
		goto out;
	}
	if (!is_dir(root)) {
		rc = str_fail(err, errsz, OTA_E_NOTFOUND, "no directory '%s'",
		    root);
		goto out;
	}
	if ((rc = mkdir_p1(st->mod)) != OTA_OK ||
	    (rc = mkdir_p1(st->ota)) != OTA_OK ||
	    (rc = mkdir_p1(st->slots)) != OTA_OK ||
	    (rc = mkdir_p1(st->staging)) != OTA_OK ||
	    (rc = mkdir_p1(st->trash)) != OTA_OK) {
		rc = errno_fail(err, errsz, "cannot make", st->ota);
		goto out;
	}
	if ((st->lockfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0) {
		rc = errno_fail(err, errsz, "cannot open", lock);
		goto out;
	}
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? str_fail(err, errsz, OTA_E_BUSY,
		    "module '%s' is in use", module) :
		    errno_fail(err, errsz, "cannot lock", lock);
		goto out;
	}
	if ((rc = state_read(st, &st->rec)) != OTA_OK)
		memset(&st->rec, 0, sizeof(st->rec));
	*out = st;
	st = NULL;
	rc = OTA_OK;
out:
	storage_free(st);
	return rc;
}

void
storage_free(struct storage *st)
{
	if (st == NULL)
		return;
	if (st->lockfd >= 0)
		close(st->lockfd);
	free(st);
}

void
storage_test_no_exchange(struct storage *st, bool on)
{
	st->no_exchange = on;
}

void
storage_state_get(const struct storage *st, struct ota_state *out)
{
	*out = st->rec.s;
}

enum ota_status
storage_state_set(struct storage *st, const struct ota_state *in)
{
	struct rec r;
	enum ota_status rc;
	char *p;

	if ((rc = storage_recover(st, NULL, NULL, 0)) != OTA_OK)
		return rc;
	if (!str_printable(in->etag) || !str_printable(in->rejected) ||
	    !str_printable(in->ready) || !str_printable(in->stage_key) ||
	    in->backoff_until < 0 || in->metadata_floor > INT64_MAX)
		return OTA_E_INVALID;
	r = st->rec;
	r.s.metadata_floor = in->metadata_floor;
	r.s.backoff_until = in->backoff_until;
	memcpy(r.s.etag, in->etag, sizeof(r.s.etag));
	r.s.etag[sizeof(r.s.etag) - 1] = '\0';
	memcpy(r.s.rejected, in->rejected, sizeof(r.s.rejected));
	r.s.rejected[sizeof(r.s.rejected) - 1] = '\0';
	memcpy(r.s.ready, in->ready, sizeof(r.s.ready));
	r.s.ready[sizeof(r.s.ready) - 1] = '\0';
	memcpy(r.s.stage_key, in->stage_key, sizeof(r.s.stage_key));
	r.s.stage_key[sizeof(r.s.stage_key) - 1] = '\0';
	memcpy(r.s.last_error, in->last_error, sizeof(r.s.last_error));
	r.s.last_error[sizeof(r.s.last_error) - 1] = '\0';
	for (p = r.s.last_error; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return state_write(st, &r);
}

enum ota_status
storage_free_space(struct storage *st, uint64_t *bytes)
{
	struct statvfs sv;

	if (statvfs(st->staging, &sv) != 0)
		return ota_status_from_errno(errno);
	*bytes = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return OTA_OK;
}

enum ota_status
storage_stage_begin(struct storage *st, const char *version, bool fresh,
    char *err, size_t errsz)
{
	char p[PATH_MAX];
	enum ota_status rc;
	struct dirent *de;
	struct rec r;
	bool moved = false;
	DIR *d;

	if (!version_ok(version))
		return str_fail(err, errsz, OTA_E_INVALID, "bad version '%s'",
		    version);
	if ((rc = storage_recover(st, NULL, err, errsz)) != OTA_OK)
		return rc;
	if ((d = opendir(st->staging)) == NULL)
		return errno_fail(err, errsz, "cannot open", st->staging);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    (!fresh && strcmp(de->d_name, version) == 0))
			continue;
		if ((rc = str_fmt(p, sizeof(p), "%s/%s", st->staging,
		    de->d_name)) == OTA_OK)
			rc = trash_move(st, p);
		if (rc != OTA_OK) {
			closedir(d);
			return str_fail(err, errsz, rc, "cannot remove stale "
			    "'%s'", de->d_name);
		}
		moved = true;
	}
	closedir(d);
	if (moved && fsatomic_fsync_dir(st->staging) != OTA_OK)
		return errno_fail(err, errsz, "cannot fsync", st->staging);
	if ((rc = trash_empty(st, NULL)) != OTA_OK)
		return str_fail(err, errsz, rc, "cannot empty '%s'", st->trash);
	if ((rc = str_fmt(p, sizeof(p), "%s/%s", st->staging, version)) !=
	    OTA_OK || (rc = mkdir_p1(p)) != OTA_OK)
		return str_fail(err, errsz, rc, "cannot make staging for '%s'",
		    version);
	if (strcmp(st->rec.s.staged, version) == 0)
		return OTA_OK;
	r = st->rec;
	memcpy(r.s.staged, version, strlen(version) + 1);
	if ((rc = state_write(st, &r)) != OTA_OK)
		return str_fail(err, errsz, rc, "cannot write '%s'", st->state);
	return OTA_OK;
}

/*
 * Checks rel (see storage_stage_file) and opens the directory that holds
 * it in staging, creating the missing ones if create: *dfd, and its last
 * component into name[].
 */
static enum ota_status
stage_parent(struct storage *st, const char *rel, bool create, int *dfd,
    char *name)
{
	char norm[STORAGE_MAX_PATH + 1], root[PATH_MAX], *comp, *slash;
	enum ota_status rc;
	size_t depth = 0, len;
	int fd = -1, next;

	*dfd = -1;
	if (st->rec.s.staged[0] == '\0')
		return OTA_E_INVALID;
	if (strlen(rel) > STORAGE_MAX_PATH || rel[0] == '/')
		return OTA_E_FORBIDDEN;
	if ((rc = path_normalize(rel, norm, sizeof(norm))) != OTA_OK)
		return rc == OTA_E_TOO_LARGE ? OTA_E_FORBIDDEN : rc;
	if (norm[0] == '\0' || strcmp(norm, rel) != 0)
		return OTA_E_FORBIDDEN;
	for (comp = norm; comp != NULL; comp = slash ? slash + 1 : NULL) {
		slash = strchr(comp, '/');
		len = slash ? (size_t)(slash - comp) : strlen(comp);
		if (++depth > STORAGE_MAX_DEPTH || len > STORAGE_MAX_NAME ||
		    (len >= strlen(PART_SUFFIX) && memcmp(comp + len -
		    strlen(PART_SUFFIX), PART_SUFFIX, strlen(PART_SUFFIX)) ==
		    0))
			return OTA_E_FORBIDDEN;
	}
	if ((rc = str_fmt(root, sizeof(root), "%s/%s", st->staging,
	    st->rec.s.staged)) != OTA_OK)
		return rc;
	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return ota_status_from_errno(errno);
	for (comp = norm; (slash = strchr(comp, '/')) != NULL;
	    comp = slash + 1) {
		*slash = '\0';
		if (create && mkdirat(fd, comp, 0755) != 0 && errno != EEXIST) {
			rc = ota_status_from_errno(errno);
			goto out;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (next < 0) {
			rc = errno == ENOTDIR || errno == ELOOP ?
			    OTA_E_INVALID : ota_status_from_errno(errno);
			goto out;
		}
		close(fd);
		fd = next;
	}
	memcpy(name, comp, strlen(comp) + 1);
	*dfd = fd;
	fd = -1;
	rc = OTA_OK;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

enum ota_status
storage_stage_file(struct storage *st, const char *path, int *fd,
    uint64_t *have)
{
	char name[STORAGE_MAX_NAME + sizeof(PART_SUFFIX) + 1];
	enum ota_status rc;
	struct stat sb;
	int dfd = -1;

	*fd = -1;
	*have = 0;
	if ((rc = stage_parent(st, path, true, &dfd, name)) != OTA_OK)
		return rc;
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
		rc = S_ISREG(sb.st_mode) ? OTA_E_EXISTS : OTA_E_INVALID;
		*have = S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
		goto out;
	}
	memcpy(name + strlen(name), PART_SUFFIX, sizeof(PART_SUFFIX));
	/* Read too: a resumed file's bytes are verified again first. */
	*fd = openat(dfd, name, O_RDWR | O_CREAT | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC, 0644);
	if (*fd < 0 || fstat(*fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		rc = *fd < 0 ? ota_status_from_errno(errno) : OTA_E_INVALID;
		if (*fd >= 0)
			close(*fd);
		*fd = -1;
		goto out;
	}
	*have = (uint64_t)sb.st_size;
	rc = OTA_OK;
out:
	close(dfd);
	return rc;
}

enum ota_status
storage_stage_done(struct storage *st, const char *path)
{
	char name[STORAGE_MAX_NAME + 1], part[sizeof(name) +
	    sizeof(PART_SUFFIX)];
	enum ota_status rc;
	int dfd = -1;

	if ((rc = stage_parent(st, path, false, &dfd, name)) != OTA_OK)
		return rc;
	snprintf(part, sizeof(part), "%s" PART_SUFFIX, name);
	rc = renameat(dfd, part, dfd, name) == 0 ? OTA_OK :
	    ota_status_from_errno(errno);
	close(dfd);
	return rc;
}

enum ota_status
storage_stage_discard(struct storage *st, const char *path)
{
	char name[STORAGE_MAX_NAME + 1], part[sizeof(name) +
	    sizeof(PART_SUFFIX)];
	enum ota_status rc;
	int dfd = -1;

	if ((rc = stage_parent(st, path, false, &dfd, name)) != OTA_OK)
		return rc == OTA_E_NOTFOUND ? OTA_OK : rc;
	snprintf(part, sizeof(part), "%s" PART_SUFFIX, name);
	rc = OTA_OK;
	if ((unlinkat(dfd, part, 0) != 0 && errno != ENOENT) ||
	    (unlinkat(dfd, name, 0) != 0 && errno != ENOENT))
		rc = ota_status_from_errno(errno);
	close(dfd);
	return rc;
}

enum ota_status
storage_stage_query(struct storage *st, const char *path,
    enum ota_file_state *state, uint64_t *size)
{
	char name[STORAGE_MAX_NAME + 1], part[sizeof(name) +
	    sizeof(PART_SUFFIX)];
	enum ota_status rc;
	struct stat sb;
	int dfd = -1;

	*state = OTA_FILE_ABSENT;
	*size = 0;
	if ((rc = stage_parent(st, path, false, &dfd, name)) != OTA_OK)
		return rc == OTA_E_NOTFOUND ? OTA_OK : rc;
	snprintf(part, sizeof(part), "%s" PART_SUFFIX, name);
	if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb.st_mode)) {
		*state = OTA_FILE_DONE;
		*size = (uint64_t)sb.st_size;
	} else if (fstatat(dfd, part, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISREG(sb.st_mode)) {
		*state = OTA_FILE_PARTIAL;
		*size = (uint64_t)sb.st_size;
	}
	close(dfd);
	return OTA_OK;
}

/*
 * Step 1 of a commit: every file and directory of the tree at dfd/name
 * fsynced, and the tree only regular files and directories without a
 * .part, within the limits. *files counts regular files.
 */
static enum ota_status
tree_sync(int dfd, const char *name, int depth, size_t *entries,
    size_t *files)
{
	enum ota_status rc = OTA_OK;
	struct dirent *de;
	struct stat sb;
	size_t len;
	DIR *d;
	int fd;

	if (++*entries > STORAGE_MAX_FILES)
		return OTA_E_TOO_LARGE;
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) < 0)
		return errno == ELOOP ? OTA_E_INVALID :
		    ota_status_from_errno(errno);
	if (fstat(fd, &sb) != 0) {
		close(fd);
		return OTA_E_IO;
	}
	if (S_ISREG(sb.st_mode)) {
		len = strlen(name);
		if (len >= strlen(PART_SUFFIX) && strcmp(name + len -
		    strlen(PART_SUFFIX), PART_SUFFIX) == 0)
			rc = OTA_E_INVALID;
		else if (fsync(fd) != 0)
			rc = OTA_E_IO;
		close(fd);
		++*files;
		return rc;
	}
	if (!S_ISDIR(sb.st_mode)) {
		close(fd);
		return OTA_E_INVALID;
	}
	if (depth > STORAGE_MAX_DEPTH) {
		close(fd);
		return OTA_E_TOO_LARGE;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return OTA_E_IO;
	}
	while (rc == OTA_OK && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		rc = tree_sync(dirfd(d), de->d_name, depth + 1, entries, files);
	}
	if (rc == OTA_OK && fsync(dirfd(d)) != 0)
		rc = OTA_E_IO;
	closedir(d);
	return rc;
}

enum ota_status
storage_commit(struct storage *st, const char *version,
    int64_t trial_deadline, char *err, size_t errsz)
{
	char slot[STORAGE_MAX_SLOT + 1], link_slot[STORAGE_MAX_SLOT + 1];
	char tree[PATH_MAX];
	size_t entries = 0, files = 0;
	enum main_kind kind;
	enum ota_status rc;
	struct rec r;

	if ((rc = storage_recover(st, NULL, err, errsz)) != OTA_OK)
		return rc;
	if (st->rec.s.trial)
		return str_fail(err, errsz, OTA_E_BUSY, "version '%s' is on "
		    "trial: confirm or roll back first", st->rec.s.current);
	if (!version_ok(version) || strcmp(st->rec.s.staged, version) != 0)
		return str_fail(err, errsz, OTA_E_INVALID, "version '%s' is "
		    "not staged", version);
	/* Step 1: the whole tree durable, and only what may be run. */
	if ((rc = str_fmt(tree, sizeof(tree), "%s/%s", st->staging,
	    version)) != OTA_OK)
		return rc;
	rc = tree_sync(AT_FDCWD, tree, -1, &entries, &files);
	if (rc == OTA_OK && fsatomic_fsync_dir(st->staging) != OTA_OK)
		rc = OTA_E_IO;
	if (rc == OTA_OK && files == 0)
		rc = OTA_E_INVALID;
	if (rc != OTA_OK)
		return str_fail(err, errsz, rc, "staged tree of '%s' is "
		    "incomplete, empty, too big or holds what is not a file",
		    version);
	if ((rc = slot_next(st, slot)) != OTA_OK)
		return str_fail(err, errsz, rc, "no slot name left");
	/* Step 2: the intent. From here recover finishes the commit. */
	r = st->rec;
	r.pending = PEND_COMMIT;
	memcpy(r.pending_slot, slot, sizeof(r.pending_slot));
	memcpy(r.pending_version, version, strlen(version) + 1);
	r.pending_deadline = trial_deadline > 0 ? trial_deadline : 0;
	if ((rc = state_write(st, &r)) != OTA_OK)
		return str_fail(err, errsz, rc, "cannot write '%s'", st->state);
	/* Steps 3-5. */
	if ((rc = main_inspect(st, &kind, link_slot, err, errsz)) != OTA_OK ||
	    (rc = finish_move(st, link_slot, err, errsz)) != OTA_OK)
		return rc;
	/* Step 6. */
	return storage_recover(st, NULL, err, errsz);
}

enum ota_status
storage_confirm(struct storage *st)
{
	enum ota_status rc;
	struct rec r;

	if ((rc = storage_recover(st, NULL, NULL, 0)) != OTA_OK)
		return rc;
	if (!st->rec.s.trial)
		return OTA_OK;
	r = st->rec;
	r.s.trial = false;
	r.s.trial_starts = 0;
	r.s.trial_deadline = 0;
	return state_write(st, &r);
}

enum ota_status
storage_rollback(struct storage *st, char *err, size_t errsz)
{
	char link_slot[STORAGE_MAX_SLOT + 1];
	enum main_kind kind;
	enum ota_status rc;
	struct rec r;

	if ((rc = storage_recover(st, NULL, err, errsz)) != OTA_OK)
		return rc;
	if (st->rec.s.previous_slot[0] == '\0')
		return str_fail(err, errsz, OTA_E_NOTFOUND, "no previous "
		    "version to roll back to");
	r = st->rec;
	r.pending = PEND_ROLLBACK;
	memcpy(r.pending_slot, r.s.previous_slot, sizeof(r.pending_slot));
	memcpy(r.pending_version, r.s.previous, sizeof(r.pending_version));
	r.pending_deadline = 0;
	if ((rc = state_write(st, &r)) != OTA_OK)
		return str_fail(err, errsz, rc, "cannot write '%s'", st->state);
	if ((rc = main_inspect(st, &kind, link_slot, err, errsz)) != OTA_OK ||
	    (rc = finish_move(st, link_slot, err, errsz)) != OTA_OK)
		return rc;
	return storage_recover(st, NULL, err, errsz);
}

enum ota_status
storage_trial_start(struct storage *st, unsigned max_starts, int64_t now,
    bool *must_roll_back)
{
	enum ota_status rc;
	struct rec r;

	*must_roll_back = false;
	if ((rc = storage_recover(st, NULL, NULL, 0)) != OTA_OK)
		return rc;
	if (!st->rec.s.trial)
		return OTA_OK;
	r = st->rec;
	if (r.s.trial_starts < UINT_MAX)
		r.s.trial_starts++;
	if ((rc = state_write(st, &r)) != OTA_OK)
		return rc;
	*must_roll_back = r.s.trial_starts > max_starts ||
	    (r.s.trial_deadline != 0 && now >= r.s.trial_deadline);
	return OTA_OK;
}
