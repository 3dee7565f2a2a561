#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/str.h"
#include "server/publish.h"
#include "server/store.h"
#include "common/banned.h"

enum { OPT_DATA = 0x100, OPT_CHANNEL, OPT_PIN, OPT_UNPIN, OPT_LIMIT };

#define DEVICE_DEFAULT_EVENTS 50

static const struct option device_options[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "channel", required_argument, NULL, OPT_CHANNEL },
	{ "pin", required_argument, NULL, OPT_PIN },
	{ "unpin", no_argument, NULL, OPT_UNPIN },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

void
cmd_device_usage(void)
{
	printf(
"usage: ota device set [--data DIR] MAC [--channel NAME] [--pin TAG]\n"
"                      [--unpin]\n"
"       ota device list [--data DIR]\n"
"       ota device events [--data DIR] [--limit N] [DEVICE]\n"
"\n"
"What ESP boards are offered on GET /esp/OWNER/REPO, by station MAC\n"
"(the x-ESP8266-STA-MAC / x-ESP32-STA-MAC header). --channel puts the\n"
"device on a release channel (\"\" for the default, %s); --pin TAG offers\n"
"exactly that release, older ones included (a rollback), until --unpin.\n"
"'events' shows what device agents reported (POST /api/v1/devices/ID/\n"
"events), newest first (default %d, at most %d kept per device).\n",
	    STORE_DEFAULT_CHANNEL, DEVICE_DEFAULT_EVENTS, STORE_MAX_EVENTS);
}

static int
show_events(struct store *s, const char *device, size_t limit)
{
	struct store_event *ev;
	char when[32];
	size_t i, n;

	if (store_event_list(s, device, limit, &ev, &n) != OTA_OK)
		return cli_fail("device", "cannot list events: %s",
		    store_errmsg(s));
	for (i = 0; i < n; i++) {
		time_t t = (time_t)ev[i].at;
		struct tm tm;

		if (gmtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
		    &tm) == 0)
			(void)!str_copy(when, sizeof(when), "-");
		printf("%s %s %-9s %s%s%s %s%s%s%s%s\n", when, ev[i].device,
		    ev[i].kind, ev[i].repo, ev[i].repo[0] && ev[i].module[0] ?
		    " " : "", ev[i].module, ev[i].from_version[0] ||
		    !ev[i].to_version[0] ? ev[i].from_version : "none",
		    ev[i].to_version[0] ? " -> " : "", ev[i].to_version,
		    ev[i].reason[0] ? ": " : "", ev[i].reason);
	}
	if (n == 0)
		printf("no events%s%s\n", device ? " of " : "",
		    device ? device : "");
	free(ev);
	return CLI_EXIT_OK;
}

int
cmd_device(int argc, char **argv)
{
	const char *data = NULL, *verb, *channel = NULL, *pin = NULL;
	struct store_device dev, *list;
	struct store *s = NULL;
	bool unpin = false;
	uint64_t limit = DEVICE_DEFAULT_EVENTS;
	size_t i, n;
	int c, ret;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		cmd_device_usage();
		return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
	}
	verb = argv[1];
	if (strcmp(verb, "set") != 0 && strcmp(verb, "list") != 0 &&
	    strcmp(verb, "events") != 0)
		return cli_usage_error("device", "no subcommand '%s'", verb);
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, ":h", device_options,
	    NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			data = optarg;
			break;
		case OPT_CHANNEL:
			if (optarg[0] != '\0' && !publish_channel_valid(optarg))
				return cli_usage_error("device", "channel '%s' "
				    "is not valid (1-32 of a-z 0-9 . _ -)",
				    optarg);
			channel = optarg;
			break;
		case OPT_PIN:
			if (strlen(optarg) > STORE_MAX_TAG)
				return cli_usage_error("device", "--pin '%s' is "
				    "too long", optarg);
			pin = optarg;
			break;
		case OPT_UNPIN:
			unpin = true;
			break;
		case OPT_LIMIT:
			if (parse_u64(optarg, 1, STORE_MAX_EVENTS * 100ULL,
			    &limit) != OTA_OK)
				return cli_usage_error("device", "--limit wants a "
				    "number from 1, not '%s'", optarg);
			break;
		case 'h':
			cmd_device_usage();
			return CLI_EXIT_OK;
		default:
			return cli_usage_error("device", "bad option '%s'",
			    argv[optind]);
		}
	}
	if (strcmp(verb, "set") == 0 && (argc - 1 - optind != 1 ||
	    (channel == NULL && pin == NULL && !unpin)))
		return cli_usage_error("device", "set wants MAC and --channel, "
		    "--pin or --unpin");
	if (strcmp(verb, "list") == 0 && argc - 1 - optind != 0)
		return cli_usage_error("device", "list takes no argument");
	if (strcmp(verb, "events") == 0) {
		if (argc - 1 - optind > 1)
			return cli_usage_error("device", "events takes at most "
			    "one DEVICE");
		if ((ret = cli_open_store("device", cli_data_dir(data), false,
		    &s)) != 0)
			return ret;
		ret = show_events(s, argc - 1 - optind == 1 ?
		    argv[1 + optind] : NULL, (size_t)limit);
		store_free(s);
		return ret;
	}
	if (pin != NULL && unpin)
		return cli_usage_error("device", "--pin and --unpin together");
	if ((ret = cli_open_store("device", cli_data_dir(data),
	    strcmp(verb, "set") == 0, &s)) != 0)
		return ret;
	ret = CLI_EXIT_OK;
	if (strcmp(verb, "list") == 0) {
		if (store_device_list(s, &list, &n) != OTA_OK)
			ret = cli_fail("device", "cannot list devices: %s",
			    store_errmsg(s));
		else {
			for (i = 0; i < n; i++)
				printf("%s  channel %-12s pin %s\n",
				    list[i].mac, list[i].channel[0] ?
				    list[i].channel : "-", list[i].pin[0] ?
				    list[i].pin : "-");
			free(list);
		}
		store_free(s);
		return ret;
	}
	if (store_device_get(s, argv[1 + optind], &dev) == OTA_E_NOTFOUND)
		memset(&dev, 0, sizeof(dev));
	if (store_mac_normalize(argv[1 + optind], dev.mac) != OTA_OK) {
		store_free(s);
		return cli_usage_error("device", "'%s' is not a MAC address "
		    "(AA:BB:CC:DD:EE:FF)", argv[1 + optind]);
	}
	if (channel != NULL)
		(void)!str_copy(dev.channel, sizeof(dev.channel), channel);
	if (pin != NULL)
		(void)!str_copy(dev.pin, sizeof(dev.pin), pin);
	if (unpin)
		dev.pin[0] = '\0';
	if (store_device_put(s, &dev) != OTA_OK)
		ret = cli_fail("device", "cannot save %s: %s", dev.mac,
		    store_errmsg(s));
	else
		printf("%s: channel %s, %s%s\n", dev.mac, dev.channel[0] ?
		    dev.channel : STORE_DEFAULT_CHANNEL " (default)",
		    dev.pin[0] ? "pinned to " : "not pinned", dev.pin);
	store_free(s);
	return ret;
}
