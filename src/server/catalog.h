/*
 * catalog: list one directory of the catalog as AutoConnect's JSON array.
 *
 * Format, as updateserver.py writes it and AutoConnectUpdate parses it:
 *   [{"name": "fw.bin", "type": "bin", "date": "MM/DD/YY",
 *     "time": "HH:MM:SS", "size": 18}, {"name": "sub", "type": "directory"}]
 * with Python's separators and \uXXXX escapes for non-ASCII names. An
 * entry is "bin" only for a regular "*.bin" file (case-sensitive) whose first
 * byte is 0xE9, the ESP image magic; date and time are the file's mtime in
 * local time. Entries are sorted by name (bytewise), so the answer is stable.
 *
 * What the reference did not do and we do: sub-directories are typed
 * "directory" (it tested them against its working directory), unreadable
 * entries are typed "file" instead of killing the answer, symbolic links that
 * lead outside the catalog root are left out, and so is any entry whose JSON
 * would not fit the device's 256-byte per-entry parse buffer
 * (AUTOCONNECT_UPDATE_CATALOG_JSONBUFFER_SIZE): one such entry makes the
 * device reject the whole list. Names that are not valid UTF-8 are left out
 * too, as they cannot be written as JSON. Each omission is logged with the
 * entry's name. Knows directories, not HTTP.
 */
#ifndef OTA_CATALOG_H
#define OTA_CATALOG_H

#include <stddef.h>

#include <ota/status.h>

#include "common/buf.h"

#define CATALOG_MAX_ENTRIES 10000
/* Serialised entry cap: 256-byte ArduinoJson pool minus its own overhead. */
#define CATALOG_MAX_ENTRY_JSON 200
/* Every entry at its cap, the ", " between them and the brackets. */
#define CATALOG_MAX_BYTES \
	(CATALOG_MAX_ENTRIES * (CATALOG_MAX_ENTRY_JSON + 2) + 2)
#define CATALOG_ESP_MAGIC 0xE9

/*
 * Appends the JSON array for directory dir (canonical, inside root) to out.
 * OTA_E_NOTFOUND if dir is not a directory, OTA_E_FORBIDDEN on EACCES,
 * OTA_E_TOO_LARGE past CATALOG_MAX_BYTES. Past CATALOG_MAX_ENTRIES the rest
 * of the directory is left out, with a warning.
 */
__attribute__((warn_unused_result))
enum ota_status catalog_list(const char *root, const char *dir,
    struct buf *out);

/*
 * Writes name as a JSON string, quotes included, the way Python's
 * json.dumps(ensure_ascii=True) does: everything outside ' '..'~' escaped. OTA_E_INVALID if name is not UTF-8.
 */
__attribute__((warn_unused_result))
enum ota_status catalog_json_string(struct buf *out, const char *name);

#endif
