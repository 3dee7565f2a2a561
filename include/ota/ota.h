/*
 * libota: an over-the-air updater that never installs an unverified byte
 * and never leaves a device unbootable. See updater.h; the ops structs
 * are in transport.h, storage.h and crypto.h, and the Linux
 * implementations in host.h (not part of a microcontroller build).
 */
#ifndef OTA_OTA_H
#define OTA_OTA_H

#include <ota/crypto.h>
#include <ota/status.h>
#include <ota/storage.h>
#include <ota/transport.h>
#include <ota/updater.h>

#endif
