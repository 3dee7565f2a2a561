/*
 * Fuzzes a device module's record (.ota/state), which survives power
 * cuts, bit rot and hand edits: whatever its bytes, storage_recover must
 * not crash, must leave main naming a complete slot, and what it reports
 * must be well formed (strings terminated and printable). A corrupt
 * record is rebuilt from main, never trusted.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "client/storage.h"
#include "common/str.h"

static char root[PATH_MAX];

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void
rm_root(void)
{
	(void)nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A module "app" whose main links to a slot holding one file. */
static void
make_module(void)
{
	char p[PATH_MAX + 64];
	int fd;

	snprintf(p, sizeof(p), "%s/app/.ota/slots/s1", root);
	FUZZ_CHECK(mkdir(root, 0700) == 0 || access(root, F_OK) == 0);
	snprintf(p, sizeof(p), "%s/app", root);
	(void)mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/app/.ota", root);
	(void)mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/app/.ota/slots", root);
	(void)mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/app/.ota/slots/s1", root);
	(void)mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/app/.ota/slots/s1/app.py", root);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(write(fd, "x\n", 2) == 2);
	close(fd);
	snprintf(p, sizeof(p), "%s/app/main", root);
	(void)unlink(p);
	FUZZ_CHECK(symlink(".ota/slots/s1", p) == 0);
}

static void
check_str(const char *s, size_t size)
{
	FUZZ_CHECK(memchr(s, '\0', size) != NULL);
	FUZZ_CHECK(str_printable(s));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char p[PATH_MAX + 64], link[64], err[256];
	struct storage *st;
	struct ota_state s;
	ssize_t n;
	int fd;

	if (root[0] == '\0') {
		snprintf(root, sizeof(root), "%s/ota-fuzz-state.%ld",
		    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		    (long)getpid());
		atexit(rm_root);
	}
	make_module();
	snprintf(p, sizeof(p), "%s/app/.ota/state", root);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
	close(fd);
	FUZZ_CHECK(storage_open(&st, root, "app", err, sizeof(err)) ==
	    OTA_OK);
	if (storage_recover(st, NULL, err, sizeof(err)) == OTA_OK) {
		storage_state_get(st, &s);
		check_str(s.current, sizeof(s.current));
		check_str(s.previous, sizeof(s.previous));
		check_str(s.staged, sizeof(s.staged));
		check_str(s.etag, sizeof(s.etag));
		check_str(s.last_error, sizeof(s.last_error));
		check_str(s.rejected, sizeof(s.rejected));
		check_str(s.ready, sizeof(s.ready));
		FUZZ_CHECK(strcmp(s.current_slot, "s1") == 0);
	}
	storage_free(st);
	/* Whatever happened, main still names the complete slot. */
	snprintf(p, sizeof(p), "%s/app/main", root);
	n = readlink(p, link, sizeof(link) - 1);
	FUZZ_CHECK(n > 0);
	link[n] = '\0';
	FUZZ_CHECK(strcmp(link, ".ota/slots/s1") == 0);
	snprintf(p, sizeof(p), "%s/app/main/app.py", root);
	FUZZ_CHECK(access(p, R_OK) == 0);
	return 0;
}
