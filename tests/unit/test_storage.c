/*
 * storage: adoption of a real main/ (with and without RENAME_EXCHANGE),
 * stage + commit + confirm + rollback, stale staging (D12, case 20),
 * resume, hostile staged paths (§8.9), what a commit refuses, a corrupt,
 * oversized or lost state, trial counting and deadline, leftovers from a
 * crash (case 35), two commits in a row, a fresh device, the lock, and the
 * caller's fields of the state.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <dirent.h>

#include "client/storage.h"
#include "testlib.h"

struct file {
	const char *path;
	const char *text;
};

static const struct file tree_a[] = {
	{ ".version", "1.0.0\n" },
	{ "app.py", "print('A')\n" },
	{ "lib/util.py", "x = 1\n" },
	{ NULL, NULL }
};
static const struct file tree_b[] = {
	{ "app.py", "print('B')\n" },
	{ "lib/new.py", "y = 2\n" },
	{ "lib/deep/z.py", "z = 3\n" },
	{ NULL, NULL }
};
static const struct file tree_c[] = {
	{ "app.py", "print('C')\n" },
	{ NULL, NULL }
};

static char root[PATH_MAX], mod[PATH_MAX + 8], mainp[PATH_MAX + 16];

static int
setup(void **state)
{
	if (tl_dir_setup(state) != 0)
		return -1;
	snprintf(root, sizeof(root), "%s", tl_dir);
	snprintf(mod, sizeof(mod), "%s/m", root);
	snprintf(mainp, sizeof(mainp), "%s/main", mod);
	return 0;
}

static void
mkdirs_for(const char *path)
{
	char p[PATH_MAX + 64], *s;

	snprintf(p, sizeof(p), "%s", path);
	for (s = strchr(p + 1, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		(void)mkdir(p, 0755);
		*s = '/';
	}
}

static void
write_tree(const char *dir, const struct file *f)
{
	char p[PATH_MAX + 64];

	for (; f->path != NULL; f++) {
		snprintf(p, sizeof(p), "%s/%s", dir, f->path);
		mkdirs_for(p);
		assert_int_equal(tl_write_file(p, f->text, strlen(f->text)), 0);
	}
}

/* Files under dir (recursively), counted; each must be in f. */
static size_t
count_files(const char *dir, const char *rel, const struct file *f)
{
	char p[PATH_MAX + 300], r[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	size_t n = 0, i;
	DIR *d;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "",
		    de->d_name);
		assert_int_equal(lstat(p, &sb), 0);
		if (S_ISDIR(sb.st_mode)) {
			n += count_files(p, r, f);
			continue;
		}
		assert_true(S_ISREG(sb.st_mode));
		for (i = 0; f[i].path != NULL; i++)
			if (strcmp(f[i].path, r) == 0)
				break;
		if (f[i].path == NULL)
			fail_msg("unexpected file %s", r);
		n++;
	}
	closedir(d);
	return n;
}

/* dir holds exactly the files of f, byte for byte. */
static void
assert_tree(const char *dir, const struct file *f)
{
	char p[PATH_MAX + 64], buf[256];
	size_t n = 0;
	ssize_t len;
	int fd;

	for (; f[n].path != NULL; n++) {
		snprintf(p, sizeof(p), "%s/%s", dir, f[n].path);
		assert_true((fd = open(p, O_RDONLY)) >= 0);
		len = read(fd, buf, sizeof(buf));
		close(fd);
		assert_int_equal((size_t)len, strlen(f[n].text));
		assert_memory_equal(buf, f[n].text, (size_t)len);
	}
	assert_int_equal(count_files(dir, "", f), n);
}

static bool
is_link(const char *p)
{
	struct stat sb;

	return lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode);
}

static bool
exists(const char *p)
{
	struct stat sb;

	return lstat(p, &sb) == 0;
}

static size_t
count_entries(const char *dir)
{
	struct dirent *de;
	size_t n = 0;
	DIR *d;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
stage_one(struct storage *st, const char *path, const char *text)
{
	uint64_t have;
	int fd;

	assert_int_equal(storage_stage_file(st, path, &fd, &have), OTA_OK);
	assert_int_equal(have, 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(storage_stage_done(st, path), OTA_OK);
}

static void
stage_tree(struct storage *st, const char *version, const struct file *f)
{
	char err[256];

	assert_int_equal(storage_stage_begin(st, version, false, err, sizeof(err)),
	    OTA_OK);
	for (; f->path != NULL; f++)
		stage_one(st, f->path, f->text);
}

static void
commit(struct storage *st, const char *version, const struct file *f,
    int64_t deadline)
{
	char err[256] = "";

	stage_tree(st, version, f);
	if (storage_commit(st, version, deadline, err, sizeof(err)) != OTA_OK)
		fail_msg("commit %s: %s", version, err);
}

/* A module with tree A in a real main/, opened and adopted. */
static struct storage *
open_adopted(bool exchange)
{
	struct storage *st = NULL;
	char err[256];
	unsigned did;

	write_tree(mainp, tree_a);
	assert_int_equal(storage_open(&st, root, "m", err, sizeof(err)),
	    OTA_OK);
	storage_test_no_exchange(st, !exchange);
	assert_int_equal(storage_recover(st, &did, err, sizeof(err)), OTA_OK);
	assert_true(did & STORAGE_DID_ADOPT);
	return st;
}

static void
slot_dir(const struct ota_state *s, bool previous, char *out,
    size_t sz)
{
	snprintf(out, sz, "%s/.ota/slots/%s", mod, previous ?
	    s->previous_slot : s->current_slot);
}

static void
adopt_real_main(void **state)
{
	struct ota_state s;
	struct storage *st;
	char link[64];
	ssize_t n;
	int pass;
	unsigned did;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		st = open_adopted(pass == 0);
		assert_true(is_link(mainp));
		n = readlink(mainp, link, sizeof(link) - 1);
		assert_true(n > 0);
		link[n] = '\0';
		assert_string_equal(link, ".ota/slots/s1");
		assert_tree(mainp, tree_a);
		storage_state_get(st, &s);
		assert_string_equal(s.current, "1.0.0");	/* .version */
		assert_string_equal(s.current_slot, "s1");
		assert_false(s.trial);
		assert_string_equal(s.previous, "");
		/* Again: nothing to do. */
		assert_int_equal(storage_recover(st, &did, NULL, 0), OTA_OK);
		assert_int_equal(did, 0);
		storage_free(st);
		tl_rmtree(mod);
	}
}

static void
commit_confirm_rollback(void **state)
{
	struct ota_state s;
	struct storage *st = open_adopted(true);
	char prev[PATH_MAX + 64], cur[PATH_MAX + 64], err[256];

	(void)state;
	commit(st, "2.0.0", tree_b, 0);
	assert_tree(mainp, tree_b);
	storage_state_get(st, &s);
	assert_string_equal(s.current, "2.0.0");
	assert_string_equal(s.previous, "1.0.0");
	assert_string_equal(s.staged, "");
	assert_true(s.trial);
	slot_dir(&s, true, prev, sizeof(prev));
	assert_tree(prev, tree_a);
	/* No new commit on trial. */
	stage_tree(st, "3.0.0", tree_c);
	assert_int_equal(storage_commit(st, "3.0.0", 0, err, sizeof(err)),
	    OTA_E_BUSY);
	assert_non_null(strstr(err, "trial"));

	/* Roll back: main is A again, byte for byte; B's slot is gone. */
	slot_dir(&s, false, cur, sizeof(cur));
	assert_int_equal(storage_rollback(st, err, sizeof(err)), OTA_OK);
	assert_tree(mainp, tree_a);
	assert_false(exists(cur));
	storage_state_get(st, &s);
	assert_string_equal(s.current, "1.0.0");
	assert_string_equal(s.previous, "");
	assert_false(s.trial);
	assert_int_equal(storage_rollback(st, err, sizeof(err)),
	    OTA_E_NOTFOUND);

	/* Commit again (3.0.0 is still staged), then confirm. */
	assert_int_equal(storage_commit(st, "3.0.0", 0, err, sizeof(err)),
	    OTA_OK);
	assert_tree(mainp, tree_c);
	assert_int_equal(storage_confirm(st), OTA_OK);
	storage_state_get(st, &s);
	assert_false(s.trial);
	/* kept for a manual rollback */
	assert_string_equal(s.previous, "1.0.0");
	assert_int_equal(storage_confirm(st), OTA_OK);
	assert_int_equal(storage_rollback(st, err, sizeof(err)), OTA_OK);
	assert_tree(mainp, tree_a);
	storage_free(st);
}

static void
two_commits(void **state)
{
	struct ota_state s;
	struct storage *st = open_adopted(true);
	char p[PATH_MAX + 64], first[PATH_MAX + 64];

	(void)state;
	storage_state_get(st, &s);
	slot_dir(&s, false, first, sizeof(first));
	commit(st, "2.0.0", tree_b, 0);
	assert_int_equal(storage_confirm(st), OTA_OK);
	commit(st, "3.0.0", tree_c, 0);
	assert_tree(mainp, tree_c);
	storage_state_get(st, &s);
	assert_string_equal(s.current, "3.0.0");
	assert_string_equal(s.previous, "2.0.0");
	slot_dir(&s, true, p, sizeof(p));
	assert_tree(p, tree_b);
	/* A is neither current nor previous: removed */
	assert_false(exists(first));
	snprintf(p, sizeof(p), "%s/.ota/slots", mod);
	assert_int_equal(count_entries(p), 2);
	snprintf(p, sizeof(p), "%s/.ota/staging", mod);
	assert_int_equal(count_entries(p), 0);
	storage_free(st);
}

static void
fresh_device(void **state)
{
	struct ota_state s;
	struct storage *st = NULL;
	uint64_t space;
	char err[256];
	unsigned did;

	(void)state;
	assert_int_equal(storage_open(&st, root, "m", err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(storage_recover(st, &did, err, sizeof(err)), OTA_OK);
	assert_int_equal(did, 0);
	/* The file system's own figure, before anything is staged. */
	assert_int_equal(storage_free_space(st, &space), OTA_OK);
	assert_true(space > 0);
	storage_state_get(st, &s);
	assert_string_equal(s.current, "");
	assert_false(exists(mainp));
	assert_int_equal(storage_rollback(st, err, sizeof(err)),
	    OTA_E_NOTFOUND);
	commit(st, "1.0.0", tree_b, 0);
	assert_true(is_link(mainp));
	assert_tree(mainp, tree_b);
	storage_state_get(st, &s);
	assert_string_equal(s.current, "1.0.0");
	assert_string_equal(s.previous, "");
	storage_free(st);
	/* The lock: one handle per module. */
	assert_int_equal(storage_open(&st, root, "m", err, sizeof(err)),
	    OTA_OK);
	{
		struct storage *st2 = NULL;

		assert_int_equal(storage_open(&st2, root, "m", err,
		    sizeof(err)), OTA_E_BUSY);
		assert_null(st2);
	}
	storage_free(st);
	assert_int_equal(storage_open(&st, root, "../m", err, sizeof(err)),
	    OTA_E_INVALID);
	assert_int_equal(storage_open(&st, root, ".ota", err, sizeof(err)),
	    OTA_E_INVALID);
}

static void
stale_staging(void **state)
{
	struct storage *st = open_adopted(true);
	char p[PATH_MAX + 64], err[256];

	(void)state;
	stage_tree(st, "2.0.0", tree_b);
	stage_one(st, "stale.py", "old\n");
	/* An interrupted download of 2.0.0 resumes: its files stay. */
	assert_int_equal(storage_stage_begin(st, "2.0.0", false, err, sizeof(err)),
	    OTA_OK);
	snprintf(p, sizeof(p), "%s/.ota/staging/2.0.0/stale.py", mod);
	assert_true(exists(p));
	/* Another version: 2.0.0's files are gone before 3.0.0 begins. */
	stage_tree(st, "3.0.0", tree_c);
	assert_false(exists(p));
	snprintf(p, sizeof(p), "%s/.ota/staging", mod);
	assert_int_equal(count_entries(p), 1);
	assert_int_equal(storage_commit(st, "2.0.0", 0, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_int_equal(storage_commit(st, "3.0.0", 0, err, sizeof(err)),
	    OTA_OK);
	assert_tree(mainp, tree_c);		/* no stale.py */
	assert_int_equal(storage_stage_begin(st, "../x", false, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_int_equal(storage_stage_begin(st, ".hidden", false, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_int_equal(storage_stage_begin(st, "", false, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_int_equal(storage_stage_begin(st, "1\n", false, err, sizeof(err)),
	    OTA_E_INVALID);
	/* A tag with spaces and '#' is a fine name. */
	assert_int_equal(storage_stage_begin(st, "release 1+a#b", false, err,
	    sizeof(err)), OTA_OK);
	storage_free(st);
}

static void
resume_part(void **state)
{
	struct storage *st = open_adopted(true);
	enum ota_file_state fs;
	uint64_t have, size;
	char err[256];
	int fd;

	(void)state;
	/* Without stage_begin there is nothing to stage into. */
	assert_int_equal(storage_stage_file(st, "a.py", &fd, &have),
	    OTA_E_INVALID);
	assert_int_equal(storage_stage_begin(st, "2.0.0", false, err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(storage_stage_query(st, "lib/a.py", &fs, &size),
	    OTA_OK);
	assert_int_equal(fs, OTA_FILE_ABSENT);
	assert_int_equal(storage_stage_file(st, "lib/a.py", &fd, &have),
	    OTA_OK);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	close(fd);
	storage_free(st);

	/* The next run: same version, the .part is 10 bytes. */
	assert_int_equal(storage_open(&st, root, "m", err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(storage_stage_begin(st, "2.0.0", false, err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(storage_stage_query(st, "lib/a.py", &fs, &size),
	    OTA_OK);
	assert_int_equal(fs, OTA_FILE_PARTIAL);
	assert_int_equal(size, 10);
	assert_int_equal(storage_stage_file(st, "lib/a.py", &fd, &have),
	    OTA_OK);
	assert_int_equal(have, 10);
	assert_int_equal(write(fd, "abc", 3), 3);
	close(fd);
	/* Not done yet: a commit refuses a tree with a .part. */
	assert_int_equal(storage_commit(st, "2.0.0", 0, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_int_equal(storage_stage_done(st, "lib/a.py"), OTA_OK);
	assert_int_equal(storage_stage_query(st, "lib/a.py", &fs, &size),
	    OTA_OK);
	assert_int_equal(fs, OTA_FILE_DONE);
	assert_int_equal(size, 13);
	assert_int_equal(storage_stage_file(st, "lib/a.py", &fd, &have),
	    OTA_E_EXISTS);
	assert_int_equal(fd, -1);
	assert_int_equal(have, 13);
	assert_int_equal(storage_stage_done(st, "lib/a.py"), OTA_E_NOTFOUND);
	/* A file that failed verification is discarded. */
	assert_int_equal(storage_stage_discard(st, "lib/a.py"), OTA_OK);
	assert_int_equal(storage_stage_query(st, "lib/a.py", &fs, &size),
	    OTA_OK);
	assert_int_equal(fs, OTA_FILE_ABSENT);
	assert_int_equal(storage_stage_discard(st, "no/such.py"), OTA_OK);
	/* Nothing staged: an empty release is refused (case 29). */
	assert_int_equal(storage_commit(st, "2.0.0", 0, err, sizeof(err)),
	    OTA_E_INVALID);
	assert_tree(mainp, tree_a);
	storage_free(st);
}

static void
hostile_paths(void **state)
{
	static const char *const bad[] = { "../x", "/etc/passwd", "a/../b",
	    "a\\b", "a\x01" "b", "", ".", "./a", "a//b", "a/", "x.part",
	    "lib/y.part/z", "a\x7f", ".." };
	struct storage *st = open_adopted(true);
	char p[2100], err[256], link[PATH_MAX + 64];
	enum ota_file_state fs;
	uint64_t have;
	size_t i;
	int fd;

	(void)state;
	assert_int_equal(storage_stage_begin(st, "2.0.0", false, err, sizeof(err)),
	    OTA_OK);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("path %zu\n", i);
		assert_int_equal(storage_stage_file(st, bad[i], &fd, &have),
		    OTA_E_FORBIDDEN);
		assert_int_equal(fd, -1);
		assert_int_equal(storage_stage_done(st, bad[i]),
		    OTA_E_FORBIDDEN);
		assert_int_equal(storage_stage_query(st, bad[i], &fs, &have),
		    OTA_E_FORBIDDEN);
	}
	/* Too long, too deep; just within the limits is fine. */
	memset(p, 'a', sizeof(p));
	p[STORAGE_MAX_PATH + 1] = '\0';
	assert_int_equal(storage_stage_file(st, p, &fd, &have),
	    OTA_E_FORBIDDEN);
	for (i = 0; i < STORAGE_MAX_DEPTH + 1; i++)
		memcpy(p + 2 * i, "d/", 2);
	p[2 * STORAGE_MAX_DEPTH + 1] = '\0';
	assert_int_equal(storage_stage_file(st, p, &fd, &have),
	    OTA_E_FORBIDDEN);
	p[2 * STORAGE_MAX_DEPTH - 1] = '\0';
	stage_one(st, p, "deep\n");
	/* A link in staging (not made by us) is never committed. */
	snprintf(link, sizeof(link), "%s/.ota/staging/2.0.0/evil", mod);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	assert_int_equal(storage_commit(st, "2.0.0", 0, err, sizeof(err)),
	    OTA_E_INVALID);
	/* Nor followed when a staged path runs through it. */
	assert_int_equal(storage_stage_file(st, "evil/x", &fd, &have),
	    OTA_E_INVALID);
	assert_int_equal(unlink(link), 0);
	assert_int_equal(storage_commit(st, "2.0.0", 0, err, sizeof(err)),
	    OTA_OK);
	storage_free(st);
}

static void
write_state(const char *text, size_t n)
{
	char p[PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/.ota/state", mod);
	assert_int_equal(tl_write_file(p, text, n), 0);
}

static void
corrupt_state(void **state)
{
	static const char *const bad[] = {
		"garbage",
		"ota-storage 1\ncurrent=1\ncurrent=2\n",
		"ota-storage 1\nbogus=1\n",
		"ota-storage 1\ntrial=2\n",
		"ota-storage 1\ntrial_starts=-1\n",
		"ota-storage 1\ncurrent_slot=../../etc\n",
		"ota-storage 1\ncurrent_slot=s2",	/* cut short */
		"ota-storage 1\npending=commit\npending_slot=s9\n",
	};
	struct ota_state s;
	struct storage *st = open_adopted(true);
	static char big[STORAGE_MAX_STATE + 100];
	char err[256];
	unsigned did;
	size_t i, n;

	(void)state;
	commit(st, "2.0.0", tree_b, 0);
	storage_free(st);
	for (i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("state %zu\n", i);
		if (i < sizeof(bad) / sizeof(bad[0]))
			write_state(bad[i], strlen(bad[i]));
		else {
			/* oversized, though every line is fine */
			n = (size_t)snprintf(big, sizeof(big),
			    "ota-storage 1\n");
			while (n + 12 < sizeof(big)) {
				memcpy(big + n, "etag=xxxxx\n", 11);
				n += 11;
			}
			write_state(big, n);
		}
		assert_int_equal(storage_open(&st, root, "m", err,
		    sizeof(err)), OTA_OK);
		assert_int_equal(storage_recover(st, &did, err, sizeof(err)),
		    OTA_OK);
		assert_true(did & STORAGE_DID_REBUILD);
		storage_state_get(st, &s);
		assert_true(s.reconstructed);
		assert_string_equal(s.current_slot, "s2");	/* from main */
		assert_string_equal(s.current, "");	/* no .version in B */
		assert_false(s.trial);
		assert_tree(mainp, tree_b);
		/* and it works on from there */
		commit(st, "3.0.0", tree_c, 0);
		assert_tree(mainp, tree_c);
		assert_int_equal(storage_rollback(st, err, sizeof(err)),
		    OTA_OK);
		assert_tree(mainp, tree_b);
		storage_free(st);
	}
	/* main that ota did not make is left alone. */
	assert_int_equal(unlink(mainp), 0);
	assert_int_equal(symlink("/tmp", mainp), 0);
	assert_int_equal(storage_open(&st, root, "m", err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(storage_recover(st, &did, err, sizeof(err)),
	    OTA_E_INVALID);
	storage_free(st);
}

static void
trial_verdicts(void **state)
{
	struct ota_state s;
	struct storage *st = open_adopted(true);
	char err[256];
	bool roll;

	(void)state;
	/* Not on trial: never roll back, nothing counted. */
	assert_int_equal(storage_trial_start(st, 0, 5000, &roll), OTA_OK);
	assert_false(roll);
	commit(st, "2.0.0", tree_b, 0);
	assert_int_equal(storage_trial_start(st, 2, 5000, &roll), OTA_OK);
	assert_false(roll);
	assert_int_equal(storage_trial_start(st, 2, 5000, &roll), OTA_OK);
	assert_false(roll);
	storage_free(st);
	/* The count survives a restart: the third start is one too many. */
	assert_int_equal(storage_open(&st, root, "m", err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(storage_trial_start(st, 2, 5000, &roll), OTA_OK);
	assert_true(roll);
	storage_state_get(st, &s);
	assert_int_equal(s.trial_starts, 3);
	assert_int_equal(storage_rollback(st, err, sizeof(err)), OTA_OK);
	assert_tree(mainp, tree_a);

	/* The deadline. */
	commit(st, "2.0.0", tree_b, 1000);
	storage_state_get(st, &s);
	assert_int_equal(s.trial_deadline, 1000);
	assert_int_equal(s.trial_starts, 0);
	assert_int_equal(storage_trial_start(st, 10, 999, &roll), OTA_OK);
	assert_false(roll);
	assert_int_equal(storage_trial_start(st, 10, 1000, &roll), OTA_OK);
	assert_true(roll);
	assert_int_equal(storage_confirm(st), OTA_OK);
	assert_int_equal(storage_trial_start(st, 0, 2000, &roll), OTA_OK);
	assert_false(roll);
	storage_state_get(st, &s);
	assert_int_equal(s.trial_starts, 0);
	assert_int_equal(s.trial_deadline, 0);
	storage_free(st);
}

static void
recover_leftovers(void **state)
{
	struct storage *st = open_adopted(true);
	char p[PATH_MAX + 64], tmp[PATH_MAX + 64], orphan[PATH_MAX + 64];
	char junk[PATH_MAX + 64], newlink[PATH_MAX + 64], err[256];
	unsigned did;

	(void)state;
	commit(st, "2.0.0", tree_b, 0);
	storage_free(st);
	snprintf(newlink, sizeof(newlink), "%s/.main.new", mod);
	assert_int_equal(symlink(".ota/slots/s77", newlink), 0);
	/* a state temp of a writer that is gone (pid far above pid_max) */
	snprintf(tmp, sizeof(tmp), "%s/.ota/.state.tmp.1073741000.3", mod);
	assert_int_equal(tl_write_file(tmp, "x", 1), 0);
	snprintf(orphan, sizeof(orphan), "%s/.ota/slots/s9", mod);
	write_tree(orphan, tree_c);
	snprintf(junk, sizeof(junk), "%s/.ota/trash/t1.2", mod);
	write_tree(junk, tree_c);

	assert_int_equal(storage_open(&st, root, "m", err, sizeof(err)),
	    OTA_OK);
	assert_int_equal(storage_recover(st, &did, err, sizeof(err)), OTA_OK);
	assert_true(did & STORAGE_DID_TEMPS);
	assert_true(did & STORAGE_DID_ORPHANS);
	assert_false(exists(newlink));
	assert_false(exists(tmp));
	assert_false(exists(orphan));
	assert_false(exists(junk));
	snprintf(p, sizeof(p), "%s/.ota/slots", mod);
	assert_int_equal(count_entries(p), 2);	/* current and previous */
	assert_tree(mainp, tree_b);
	assert_int_equal(storage_rollback(st, err, sizeof(err)), OTA_OK);
	assert_tree(mainp, tree_a);
	storage_free(st);
}

static void
caller_fields(void **state)
{
	struct ota_state s;
	struct storage *st = open_adopted(true);
	char err[256];

	(void)state;
	storage_state_get(st, &s);
	snprintf(s.etag, sizeof(s.etag), "W/\"abc\"");
	snprintf(s.last_error, sizeof(s.last_error), "rate\nlimited\x1b[0m");
	s.backoff_until = 1234;
	s.metadata_floor = 7;
	s.trial = true;			/* not the caller's: ignored */
	assert_int_equal(storage_state_set(st, &s), OTA_OK);
	storage_free(st);
	assert_int_equal(storage_open(&st, root, "m", err, sizeof(err)),
	    OTA_OK);
	storage_state_get(st, &s);
	assert_string_equal(s.etag, "W/\"abc\"");
	assert_string_equal(s.last_error, "rate?limited?[0m");
	assert_int_equal(s.backoff_until, 1234);
	assert_int_equal(s.metadata_floor, 7);
	assert_false(s.trial);
	snprintf(s.etag, sizeof(s.etag), "a\nb");
	assert_int_equal(storage_state_set(st, &s), OTA_E_INVALID);
	/* The caller's fields survive a commit and a rebuild of the rest. */
	commit(st, "2.0.0", tree_b, 0);
	storage_state_get(st, &s);
	assert_int_equal(s.metadata_floor, 7);
	assert_string_equal(s.etag, "W/\"abc\"");
	storage_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(adopt_real_main, setup,
		    tl_dir_teardown),
		cmocka_unit_test_setup_teardown(commit_confirm_rollback, setup,
		    tl_dir_teardown),
		cmocka_unit_test_setup_teardown(two_commits, setup,
		    tl_dir_teardown),
		cmocka_unit_test_setup_teardown(fresh_device, setup,
		    tl_dir_teardown),
		cmocka_unit_test_setup_teardown(stale_staging, setup,
		    tl_dir_teardown),
		cmocka_unit_test_setup_teardown(resume_part, setup,
		    tl_dir_teardown),
		cmocka_unit_test_setup_teardown(hostile_paths, setup,
		    tl_dir_teardown),
		cmocka_unit_test_setup_teardown(corrupt_state, setup,
		    tl_dir_teardown),
		cmocka_unit_test_setup_teardown(trial_verdicts, setup,
		    tl_dir_teardown),
		cmocka_unit_test_setup_teardown(recover_leftovers, setup,
		    tl_dir_teardown),
		cmocka_unit_test_setup_teardown(caller_fields, setup,
		    tl_dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
