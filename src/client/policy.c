#include <stddef.h>

#include "client/policy.h"
#include "common/semver.h"
#include "common/banned.h"

enum ota_status
policy_decide(const char *installed, const char *offered,
    enum ota_downgrade dg, enum policy_verdict *out)
{
	struct semver have, want;
	int c;

	if (offered == NULL || semver_parse(offered, &want) != OTA_OK)
		return OTA_E_INVALID;
	if (installed == NULL || installed[0] == '\0') {
		*out = POLICY_UPDATE;
		return OTA_OK;
	}
	if (semver_parse(installed, &have) != OTA_OK)
		return OTA_E_INVALID;
	c = semver_cmp(&have, &want);
	if (c == 0)
		*out = POLICY_CURRENT;
	else if (c < 0)
		*out = POLICY_UPDATE;
	else
		*out = dg == OTA_ALLOW_DOWNGRADE ? POLICY_DOWNGRADE :
		    POLICY_KEEP_NEWER;
	return OTA_OK;
}

enum ota_status
policy_metadata(uint64_t accepted, uint64_t offered)
{
	return offered >= accepted ? OTA_OK : OTA_E_CHANGED;
}

const char *
policy_verdict_str(enum policy_verdict v)
{
	switch (v) {
	case POLICY_CURRENT:	return "up to date";
	case POLICY_UPDATE:	return "update";
	case POLICY_DOWNGRADE:	return "downgrade";
	case POLICY_KEEP_NEWER:	return "keeping the newer installed version";
	}
	return "?";
}
