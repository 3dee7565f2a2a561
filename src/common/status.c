#include <errno.h>

#include <ota/status.h>

const char *
ota_status_str(enum ota_status st)
{
	switch (st) {
	case OTA_OK:		return "ok";
	case OTA_E_INVALID:	return "invalid input";
	case OTA_E_NOTFOUND:	return "not found";
	case OTA_E_FORBIDDEN:	return "forbidden";
	case OTA_E_TOO_LARGE:	return "too large";
	case OTA_E_NOMEM:	return "out of memory";
	case OTA_E_IO:		return "i/o error";
	case OTA_E_BUSY:	return "busy";
	case OTA_E_UNSUPPORTED:	return "unsupported";
	case OTA_E_CHANGED:	return "changed while reading";
	case OTA_E_EXISTS:	return "already exists";
	case OTA_E_AUTH:	return "authentication required";
	case OTA_E_SIGNATURE:	return "bad signature";
	case OTA_E_EXPIRED:	return "expired";
	case OTA_E_NETWORK:	return "network unreachable";
	case OTA_E_TIMEOUT:	return "timed out";
	case OTA_E_PROTOCOL:	return "protocol error";
	}
	return "unknown status";
}

enum ota_status
ota_status_from_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
		return OTA_E_NOTFOUND;
	case EACCES:
	case EPERM:
	case EROFS:
		return OTA_E_FORBIDDEN;
	case ENAMETOOLONG:
		return OTA_E_TOO_LARGE;
	case ENOMEM:
		return OTA_E_NOMEM;
	}
	return OTA_E_IO;
}
