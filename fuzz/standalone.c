/*
 * Replays fuzz inputs without libFuzzer, so every fuzz target also runs
 * under gcc as an ordinary test: each argument is a file, or a directory
 * whose files are all fed to the target (RAUC's localfuzzer, extended
 * from one file to a whole corpus).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define STANDALONE_MAX_INPUT (1024 * 1024)

static int
run_file(const char *path)
{
	static uint8_t buf[STANDALONE_MAX_INPUT];
	FILE *f = fopen(path, "rb");
	size_t n;
	uint8_t *copy;

	if (f == NULL) {
		fprintf(stderr, "cannot open fuzz input '%s'\n", path);
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	/* An exact-size copy, so ASan sees any read past the input. */
	copy = malloc(n ? n : 1);
	memcpy(copy, buf, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	return 0;
}

int
main(int argc, char **argv)
{
	int i, count = 0, bad = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *de;

		if (stat(argv[i], &st) != 0 || !S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]);
			count++;
			continue;
		}
		if ((d = opendir(argv[i])) == NULL)
			return 1;
		while ((de = readdir(d)) != NULL) {
			char p[4096];

			if (de->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
			bad |= run_file(p);
			count++;
		}
		closedir(d);
	}
	printf("replayed %d inputs\n", count);
	return bad || count == 0;
}
