/*
 * The ota command line: main.c dispatches argv[1] through a table to one
 * cmd_<name>() per file. Exit codes shared by every subcommand are here.
 */
#ifndef OTA_CLI_H
#define OTA_CLI_H

#include <stdbool.h>

#include "server/store.h"

#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1		/* the command ran and failed */
#define CLI_EXIT_USAGE 2	/* unknown flag, bad value */

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);	/* argv[0] is the name */
	void (*usage)(void);
};

int cmd_serve(int argc, char **argv);
void cmd_serve_usage(void);
int cmd_publish(int argc, char **argv);
void cmd_publish_usage(void);
int cmd_release(int argc, char **argv);
void cmd_release_usage(void);
int cmd_repo(int argc, char **argv);
void cmd_repo_usage(void);
int cmd_device(int argc, char **argv);
void cmd_device_usage(void);
int cmd_update(int argc, char **argv);
void cmd_update_usage(void);
int cmd_check(int argc, char **argv);
void cmd_check_usage(void);
int cmd_status(int argc, char **argv);
void cmd_status_usage(void);
int cmd_confirm(int argc, char **argv);
void cmd_confirm_usage(void);
int cmd_rollback(int argc, char **argv);
void cmd_rollback_usage(void);
int cmd_started(int argc, char **argv);
void cmd_started_usage(void);
int cmd_token(int argc, char **argv);
void cmd_token_usage(void);
int cmd_keygen(int argc, char **argv);
void cmd_keygen_usage(void);
int cmd_sign(int argc, char **argv);
void cmd_sign_usage(void);
int cmd_verify(int argc, char **argv);
void cmd_verify_usage(void);

/* Shared by the commands (cli_util.c). */

/* "ota CMD: <message>" on stderr; returns CLI_EXIT_FAIL. */
__attribute__((format(printf, 2, 3)))
int cli_fail(const char *cmd, const char *fmt, ...);
/* "ota CMD: <message> (see 'ota CMD --help')"; returns CLI_EXIT_USAGE. */
__attribute__((format(printf, 2, 3)))
int cli_usage_error(const char *cmd, const char *fmt, ...);
/* The store directory: the --data flag, else $OTA_DATA, else ./ota-data. */
const char *cli_data_dir(const char *flag);
/* Splits OWNER/REPO into owner and name (STORE_MAX_NAME + 1 each). */
int cli_split_repo(const char *cmd, const char *arg, char *owner,
    char *name);
/* Opens the store; 0, or an exit code after saying why. */
int cli_open_store(const char *cmd, const char *dir, bool create,
    struct store **s);

#endif
