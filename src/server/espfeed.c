#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/path.h"
#include "common/semver.h"
#include "common/str.h"
#include "common/url.h"
#include "server/espfeed.h"
#include "server/espgate.h"
#include "server/publish.h"
#include "server/store.h"
#include "common/banned.h"

#define ESPFEED_PREFIX "esp/"

/* True if path has a directory named dir ("esp32/x.bin", "fw/esp32/x"). */
static bool
in_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	const char *p;

	for (p = path; (p = strstr(p, dir)) != NULL; p += n)
		if ((p == path || p[-1] == '/') && p[n] == '/')
			return true;
	return false;
}

/*
 * The image for family among a release's assets: the .bin in a directory
 * named for the family, else the only .bin not in the other family's
 * directory; NULL if none or unclear. An ESP8266 checks little more than
 * the first byte, so an ESP32 image must never be offered to it.
 */
static const struct store_asset *
pick_image(const struct store_asset *a, size_t n, enum esp_family family)
{
	const char *mine = family == ESP_32 ? "esp32" : "esp8266";
	const char *other = family == ESP_32 ? "esp8266" : "esp32";
	const struct store_asset *only = NULL;
	size_t i, nbin = 0;

	for (i = 0; i < n; i++) {
		size_t len = strlen(a[i].path);

		if (len < 4 || strcasecmp(a[i].path + len - 4, ".bin") != 0 ||
		    in_dir(a[i].path, other))
			continue;
		if (in_dir(a[i].path, mine))
			return &a[i];
		only = &a[i];
		nbin++;
	}
	return nbin == 1 ? only : NULL;
}

/* True when the device already runs release r with image img. */
static bool
device_current(const struct esp_info *esp, const struct store_release *r,
    const struct store_asset *img, bool pinned)
{
	struct semver have, want;

	if (esp->version != NULL && semver_parse(esp->version, &have) ==
	    OTA_OK && semver_parse(r->version, &want) == OTA_OK) {
		int c = semver_cmp(&have, &want);

		return pinned ? c == 0 : c >= 0;
	}
	return esp->sketch_md5 != NULL &&
	    strcasecmp(esp->sketch_md5, img->md5) == 0;
}

/* The release for this device: pinned tag, else its channel's latest. */
static enum ota_status
choose_release(const struct route_env *env, const struct store_repo *repo,
    const struct esp_info *esp, const char *query, struct store_release *r,
    bool *pinned)
{
	char channel[STORE_MAX_CHANNEL + 1];
	struct store_device dev;
	bool have_dev;

	*pinned = false;
	have_dev = esp->sta_mac != NULL &&
	    store_device_get(env->store, esp->sta_mac, &dev) == OTA_OK;
	if (have_dev && dev.pin[0] != '\0') {
		enum ota_status st = store_release_get(env->store, repo->id,
		    dev.pin, r);

		if (st == OTA_OK && !r->draft) {
			*pinned = true;
			return OTA_OK;
		}
		if (st == OTA_OK)
			store_release_release(r);
		log_warn("device %s is pinned to %s, which %s/%s does not "
		    "publish: offering its channel's latest instead", dev.mac,
		    dev.pin, repo->owner, repo->name);
	}
	if (have_dev && dev.channel[0] != '\0')
		(void)!str_copy(channel, sizeof(channel), dev.channel);
	else if (url_query_get(query, "channel", channel, sizeof(channel)) !=
	    OTA_OK)
		(void)!str_copy(channel, sizeof(channel), STORE_DEFAULT_CHANNEL);
	else if (!publish_channel_valid(channel)) {
		log_warn("/esp/%s/%s?channel=: not a channel name (1-32 of a-z "
		    "0-9 . _ -); offering %s", repo->owner, repo->name,
		    STORE_DEFAULT_CHANNEL);
		(void)!str_copy(channel, sizeof(channel), STORE_DEFAULT_CHANNEL);
	}
	return store_release_latest(env->store, repo->id, channel, r);
}

static void
serve(const struct route_env *env, const struct route_req *req,
    const struct store_repo *repo, const struct esp_info *esp,
    const char *query, struct reply *rep)
{
	struct store_release r;
	struct store_asset *assets = NULL;
	const struct store_asset *img;
	struct file_digest d;
	enum ota_status st;
	struct stat sb;
	bool pinned;
	size_t n = 0;
	int fd = -1;

	if ((st = choose_release(env, repo, esp, query, &r, &pinned)) !=
	    OTA_OK) {
		/* No release: nothing to update to, as far as the device is
		 * concerned; 404 tells the operator's log the same. */
		route_error(rep, st == OTA_E_NOTFOUND ? 404 : http_status(st));
		store_release_release(&r);
		return;
	}
	if ((st = store_asset_list(env->store, r.id, "", &assets, &n)) !=
	    OTA_OK || (img = pick_image(assets, n, esp->family)) == NULL) {
		if (st == OTA_OK)
			log_warn("%s/%s %s has no single .bin image for %s "
			    "(publish one, or one under esp8266/ and esp32/)",
			    repo->owner, repo->name, r.tag,
			    espgate_family_name(esp->family));
		route_error(rep, st == OTA_OK ? 404 : http_status(st));
		goto out;
	}
	(void)!str_copy(d.sha256, sizeof(d.sha256), img->sha256);
	(void)!str_copy(d.md5, sizeof(d.md5), img->md5);
	st = blobstore_open_blob(store_blobs(env->store), img->sha256, &fd);
	if (st == OTA_OK && fstat(fd, &sb) != 0)
		st = OTA_E_IO;
	if (st != OTA_OK) {
		log_error("release store: blob %s of %s/%s %s is unreadable: "
		    "%s", img->sha256, repo->owner, repo->name, r.tag,
		    ota_status_str(st));
		if (fd >= 0)
			close(fd);
		route_error(rep, 500);
		goto out;
	}
	(void)!str_fmt(rep->note + strlen(rep->note),
	    sizeof(rep->note) - strlen(rep->note), " offer=%s%s", r.tag,
	    pinned ? "(pinned)" : "");
	if (device_current(esp, &r, img, pinned))
		route_not_modified(rep, fd, (uint64_t)sb.st_size, &d);
	else {
		route_send_fd(req, fd, (uint64_t)sb.st_size, &d,
		    "application/octet-stream", rep);
		if (rep->status == 200 || rep->status == 206)
			reply_add(rep, "Content-Disposition",
			    "attachment; filename=%s", path_basename(img->path));
	}
out:
	store_assets_free(assets, n);
	store_release_release(&r);
}

bool
espfeed_handle(const struct route_env *env, const struct route_req *req,
    const struct target *t, struct reply *rep)
{
	char owner[STORE_MAX_NAME + 1], name[STORE_MAX_NAME + 1];
	const char *p = t->path + strlen(ESPFEED_PREFIX), *slash;
	struct store_repo repo;
	struct esp_info esp;
	enum ota_status st;

	if (env->store == NULL || !str_has_prefix(t->path, ESPFEED_PREFIX))
		return false;
	st = espgate_check(env->cfg->gate, req->header, req->header_ctx, &esp);
	if (st != OTA_OK) {
		log_info("refusing /esp/ request: %s (see --gate)",
		    esp.family == ESP_NONE ? "not an ESP httpUpdate client" :
		    "an x-ESP header is missing");
		route_error(rep, 403);
		return true;
	}
	if (esp.family != ESP_NONE)
		(void)!str_fmt(rep->note, sizeof(rep->note), "%s mac=%.20s "
		    "version=%.40s", espgate_family_name(esp.family),
		    esp.sta_mac ? esp.sta_mac : "-",
		    esp.version ? esp.version : "-");
	if (esp.mode != NULL && strcmp(esp.mode, "sketch") != 0) {
		/* A firmware image written to a filesystem partition would
		 * wreck it: only sketches are offered here. */
		log_info("/esp/: x-%s-mode '%.20s' asks for a filesystem "
		    "image, which this route does not offer",
		    espgate_family_name(esp.family), esp.mode);
		route_error(rep, 404);
		return true;
	}
	if ((slash = strchr(p, '/')) == NULL || strchr(slash + 1, '/') ||
	    (size_t)(slash - p) > STORE_MAX_NAME ||
	    str_copy(name, sizeof(name), slash + 1) != OTA_OK) {
		route_error(rep, 404);
		return true;
	}
	memcpy(owner, p, (size_t)(slash - p));
	owner[slash - p] = '\0';
	pthread_mutex_lock(env->store_lock);
	st = store_repo_get(env->store, owner, name, &repo);
	/* Firmware of a private repository is not offered on this route. */
	if (st != OTA_OK || repo.is_private)
		route_error(rep, st == OTA_OK || st == OTA_E_NOTFOUND ? 404 :
		    http_status(st));
	else
		serve(env, req, &repo, &esp, t->query, rep);
	pthread_mutex_unlock(env->store_lock);
	return true;
}
