/*
 * The smallest program a vendor writes against libota: one module's
 * update through the Linux implementations, using only the public
 * headers, linked with -lota. Build:
 *
 *   cc -Iinclude update_one.c -Lbuild -lota -o update_one
 *
 * usage: update_one ROOT MODULE
 */
#include <stdio.h>
#include <time.h>

#include <ota/host.h>
#include <ota/updater.h>

int
main(int argc, char **argv)
{
	struct ota_transport *t = NULL;
	struct ota_storage *s = NULL;
	struct ota_updater *u = NULL;
	struct ota_config c = { 0 };
	struct ota_report rep;
	enum ota_status st;
	char err[512];

	if (argc != 3) {
		fprintf(stderr, "usage: update_one ROOT MODULE\n");
		return 2;
	}
	if ((st = ota_transport_curl_new(&t)) != OTA_OK ||
	    (st = ota_storage_posix_new(&s, argv[1])) != OTA_OK) {
		fprintf(stderr, "update_one: %s\n", ota_status_str(st));
		ota_transport_free(t);
		return 1;
	}
	c.transport = t;
	c.storage = s;
	c.crypto = ota_crypto_libcrypto();
	if ((st = ota_updater_new(&u, &c)) == OTA_OK)
		st = ota_update(u, argv[2], false, (int64_t)time(NULL), &rep,
		    err, sizeof(err));
	if (st == OTA_OK)
		printf("%s: %s (installed %s, latest %s)\n", argv[2],
		    ota_outcome_str(rep.outcome), rep.installed[0] ?
		    rep.installed : "none", rep.offered);
	else
		fprintf(stderr, "%s: %s: %s\n", argv[2], ota_status_str(st),
		    err);
	ota_updater_free(u);
	ota_storage_free(s);
	ota_transport_free(t);
	return st == OTA_OK ? 0 : 1;
}
