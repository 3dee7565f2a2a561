/*
 * The ota command line: main.c dispatches argv[1] through a table to one
 * cmd_<name>() per file. Exit codes shared by every subcommand are here.
 */
#ifndef OTA_CLI_H
#define OTA_CLI_H

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

#endif
