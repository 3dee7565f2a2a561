/*
 * sign: Ed25519 keys and signatures, the one module that knows which
 * library does the curve arithmetic (OpenSSL libcrypto 3 today), so a
 * device build can swap in Monocypher or mbedTLS behind the same calls.
 *
 * Key files. The private key is PEM PKCS#8 ("-----BEGIN PRIVATE KEY-----",
 * as `openssl genpkey -algorithm ed25519` writes), mode 0600, and is
 * refused when group or others have any access to it, as ssh refuses an
 * open private key. The public key is one line, "ed25519 <base64 of the
 * 32 raw bytes>\n", short enough to paste into a device's JSON config.
 * A key's id is the lower-case hex SHA-256 of its 32 raw public bytes;
 * signed metadata names its signers by id.
 *
 * Ed25519 is deterministic (RFC 8032): the same key and message always
 * give the same 64-byte signature, so tests can compare bytes. Knows keys,
 * bytes and key files; nothing about what is signed or about JSON.
 */
#ifndef OTA_SIGN_H
#define OTA_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include <ota/status.h>

#define SIGN_PUBLIC_LEN 32	/* raw Ed25519 public key */
#define SIGN_SEED_LEN 32	/* raw Ed25519 private key (RFC 8032 seed) */
#define SIGN_SIG_LEN 64
#define SIGN_KEYID_HEX 64	/* hex SHA-256 of the public key */
#define SIGN_ALG_NAME "ed25519"	/* first word of the public key text */
/* "ed25519 " + base64 of 32 bytes + NUL, with room to spare. */
#define SIGN_PUBLIC_TEXT_MAX 64
/* Key files are a few hundred bytes; anything larger is not one. */
#define SIGN_MAX_KEY_FILE (16 * 1024)
#define SIGN_PRIVATE_MODE 0600
#define SIGN_PUBLIC_MODE 0644

/* A public key, or a key pair. Opaque; free with sign_key_free. */
struct sign_key;

/*
 * Makes a new key pair: the private key to priv_path (mode 0600) and the
 * public key line to pub_path (mode 0644), each written atomically
 * (fsatomic). Unless force is set, OTA_E_EXISTS if anything (even a
 * dangling link) is at either path; this is checked before anything is
 * written, so a file created by someone else in between would be replaced.
 * Both are written in full before either is renamed into place, the
 * private key first. A failure removes what it wrote; only a crash
 * between the two renames can leave priv_path without pub_path (the
 * public half can then be derived from it; see sign.c).
 * OTA_E_INVALID if both paths are the same; otherwise errors of fsatomic
 * (errno set). err[errsz] (may be NULL) gets a one-line reason.
 */
__attribute__((warn_unused_result))
enum ota_status sign_keygen(const char *priv_path, const char *pub_path,
    bool force, char *err, size_t errsz);

/*
 * Loads a private key file into *k (the caller's, sign_key_free; NULL on
 * failure). Errors, each with a one-line reason in err[errsz] (err may be
 * NULL): OTA_E_FORBIDDEN if group or others have any access to the file
 * (the reason says to chmod 600 it) or it is not a regular file;
 * OTA_E_UNSUPPORTED if it is a key of another type, or encrypted;
 * OTA_E_INVALID if it holds no PEM private key; OTA_E_TOO_LARGE past
 * SIGN_MAX_KEY_FILE; OTA_E_NOTFOUND and OTA_E_IO (errno set) as open and
 * read fail.
 */
__attribute__((warn_unused_result))
enum ota_status sign_key_load_private(struct sign_key **k, const char *path,
    char *err, size_t errsz);

/*
 * Loads a public key into *k from a file holding the public key line
 * (as sign_key_from_text), a PEM "PUBLIC KEY" or a PEM private key, of
 * which only the public half is kept (so `--key x.key` works wherever a
 * public key is wanted; the mode is not checked, since nothing is signed
 * with it). Errors as sign_key_load_private, without the mode rule.
 */
__attribute__((warn_unused_result))
enum ota_status sign_key_load_public(struct sign_key **k, const char *path,
    char *err, size_t errsz);

/*
 * A public key from text: "ed25519 BASE64" or the bare BASE64 of the 32
 * raw bytes, surrounding blanks and a final newline allowed. Into *k (the
 * caller's). OTA_E_INVALID for anything else.
 */
__attribute__((warn_unused_result))
enum ota_status sign_key_from_text(struct sign_key **k, const char *text);

/*
 * A key pair from its 32-byte RFC 8032 seed (the raw private key), for
 * test vectors and deterministic fixtures; real keys come from
 * sign_keygen. Into *k (the caller's).
 */
__attribute__((warn_unused_result))
enum ota_status sign_key_from_seed(struct sign_key **k,
    const unsigned char seed[SIGN_SEED_LEN]);

/* Frees k, wiping private material. Accepts NULL. */
void sign_key_free(struct sign_key *k);

/* True if k can sign (it holds the private half). */
bool sign_key_has_private(const struct sign_key *k);

/* The raw 32 public bytes of k. */
void sign_key_public_raw(const struct sign_key *k,
    unsigned char out[SIGN_PUBLIC_LEN]);

/*
 * The raw key of a public key's text form ("ed25519 BASE64", the word
 * ed25519 optional, surrounding blanks allowed), as sign_key_from_text
 * reads it but without OpenSSL (sign_text.c, part of the portable core).
 * OTA_E_INVALID for anything else.
 */
__attribute__((warn_unused_result))
enum ota_status sign_public_parse(const char *text,
    unsigned char raw[SIGN_PUBLIC_LEN]);

/*
 * "ed25519 BASE64" (no newline) into out[outsz]; OTA_E_TOO_LARGE if
 * outsz < SIGN_PUBLIC_TEXT_MAX may not hold it.
 */
__attribute__((warn_unused_result))
enum ota_status sign_key_public_text(const struct sign_key *k, char *out,
    size_t outsz);

/* The key id, lower-case hex SHA-256 of the raw public key, into out. */
void sign_key_id(const struct sign_key *k, char out[SIGN_KEYID_HEX + 1]);

/*
 * Signs msg[n] with k into sig. OTA_E_INVALID if k is public only,
 * OTA_E_IO if the library fails. Thread-safe for distinct or shared k.
 */
__attribute__((warn_unused_result))
enum ota_status sign_bytes(const struct sign_key *k, const void *msg,
    size_t n, unsigned char sig[SIGN_SIG_LEN]);

/*
 * OTA_OK if sig is k's signature of msg[n] (RFC 8032 strict verification,
 * as libcrypto does it); OTA_E_SIGNATURE for any other signature,
 * including a malformed one. Thread-safe.
 */
__attribute__((warn_unused_result))
enum ota_status sign_verify(const struct sign_key *k, const void *msg,
    size_t n, const unsigned char sig[SIGN_SIG_LEN]);

#endif
