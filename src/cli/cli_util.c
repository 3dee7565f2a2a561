#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/str.h"
#include "common/banned.h"

int
cli_fail(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ota %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_EXIT_FAIL;
}

int
cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ota %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'ota %s --help')\n", cmd);
	return CLI_EXIT_USAGE;
}

const char *
cli_data_dir(const char *flag)
{
	const char *env;

	if (flag != NULL)
		return flag;
	if ((env = getenv("OTA_DATA")) != NULL && env[0] != '\0')
		return env;
	return STORE_DEFAULT_DIR;
}

int
cli_split_repo(const char *cmd, const char *arg, char *owner, char *name)
{
	const char *slash = strchr(arg, '/');

	if (slash == NULL || (size_t)(slash - arg) > STORE_MAX_NAME ||
	    str_copy(name, STORE_MAX_NAME + 1, slash + 1) != OTA_OK)
		goto bad;
	memcpy(owner, arg, (size_t)(slash - arg));
	owner[slash - arg] = '\0';
	if (store_name_valid(owner) && store_name_valid(name))
		return 0;
bad:
	return cli_usage_error(cmd, "'%s' is not OWNER/REPO (each 1-100 of "
	    "A-Z a-z 0-9 . _ -)", arg);
}

int
cli_open_store(const char *cmd, const char *dir, bool create,
    struct store **s)
{
	char err[512];
	enum ota_status rc;

	if ((rc = store_open(s, dir, create, err, sizeof(err))) == OTA_OK)
		return 0;
	if (rc == OTA_E_NOTFOUND && !create)
		return cli_fail(cmd, "%s (publish a release first, or pass "
		    "--data DIR)", err);
	return cli_fail(cmd, "%s", err);
}
