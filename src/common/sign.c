/*
 * sign: Ed25519 through libcrypto's EVP interface. The contract is in
 * sign.h. Here: every libcrypto failure clears the thread's error queue
 * before returning, so one bad key file cannot make a later, unrelated
 * call report a stale error; private key text read from or written to a
 * file is wiped (OPENSSL_cleanse, libcrypto's explicit_bzero) before its
 * buffer goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "common/base64.h"
#include "common/fsatomic.h"
#include "common/hash.h"
#include "common/sign.h"
#include "common/str.h"
#include "common/banned.h"

#define PEM_BEGIN "-----BEGIN "
#define PEM_PUBLIC "-----BEGIN PUBLIC KEY-----"
#define PEM_ENCRYPTED "-----BEGIN ENCRYPTED PRIVATE KEY-----"
/* Base64 of 32 bytes is 44 characters; a longer word is not a key. */

struct sign_key {
	EVP_PKEY *pkey;
	bool priv;
	unsigned char pub[SIGN_PUBLIC_LEN];
};

/*
 * Clears libcrypto's error queue, writes a one-line reason to err[errsz]
 * (if err) and returns st. errno is kept for the caller.
 */
__attribute__((format(printf, 4, 5)))
static enum ota_status
fail(char *err, size_t errsz, enum ota_status st, const char *fmt, ...)
{
	va_list ap;

	ERR_clear_error();
	va_start(ap, fmt);
	st = str_vfail(err, errsz, st, fmt, ap);
	va_end(ap);
	return st;
}

/* Wraps pkey (taken: freed on failure) as *k, checking that it is Ed25519. */
static enum ota_status
key_wrap(EVP_PKEY *pkey, bool priv, struct sign_key **k)
{
	struct sign_key *key;
	size_t n = SIGN_PUBLIC_LEN;

	*k = NULL;
	if (!EVP_PKEY_is_a(pkey, "ED25519")) {
		EVP_PKEY_free(pkey);
		ERR_clear_error();
		return OTA_E_UNSUPPORTED;
	}
	if ((key = calloc(1, sizeof(*key))) == NULL) {
		EVP_PKEY_free(pkey);
		return OTA_E_NOMEM;
	}
	key->pkey = pkey;
	key->priv = priv;
	if (EVP_PKEY_get_raw_public_key(pkey, key->pub, &n) != 1 ||
	    n != SIGN_PUBLIC_LEN) {
		sign_key_free(key);
		ERR_clear_error();
		return OTA_E_IO;
	}
	*k = key;
	return OTA_OK;
}

/*
 * Reads the key file at path into text[textsz] (NUL-terminated), after
 * checking that it is a regular file and, if private, that only its owner
 * may access it.
 */
static enum ota_status
key_file_read(const char *path, bool is_private, char *text, size_t textsz,
    char *err, size_t errsz)
{
	enum ota_status st = OTA_OK;
	struct stat sb;
	size_t len = 0;
	int fd;

	/* O_NONBLOCK: a FIFO planted at the name must not hang us in open. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) < 0)
		return fail(err, errsz, ota_status_from_errno(errno),
		    "cannot open key file '%s': %s", path, strerror(errno));
	if (fstat(fd, &sb) != 0)
		st = fail(err, errsz, OTA_E_IO, "cannot stat key file '%s': "
		    "%s", path, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		st = fail(err, errsz, OTA_E_FORBIDDEN, "key file '%s' is not "
		    "a regular file", path);
	else if (is_private && (sb.st_mode & 077) != 0)
		st = fail(err, errsz, OTA_E_FORBIDDEN, "private key '%s' is "
		    "accessible by others (mode %04o); run chmod 600 '%s'",
		    path, (unsigned)(sb.st_mode & 07777), path);
	else if (is_private && sb.st_uid != geteuid() && sb.st_uid != 0)
		/* As ssh: a key its owner could swap is not ours to trust. */
		st = fail(err, errsz, OTA_E_FORBIDDEN, "private key '%s' "
		    "belongs to user %u, not to this user (%u) or root", path,
		    (unsigned)sb.st_uid, (unsigned)geteuid());
	while (st == OTA_OK) {
		ssize_t r = read(fd, text + len, textsz - 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			st = fail(err, errsz, OTA_E_IO, "cannot read key file "
			    "'%s': %s", path, strerror(errno));
		else if (r == 0)
			break;
		else if ((len += (size_t)r) == textsz - 1)
			st = fail(err, errsz, OTA_E_TOO_LARGE, "key file '%s' "
			    "is larger than %d bytes", path,
			    SIGN_MAX_KEY_FILE);
	}
	text[len] = '\0';
	if (st == OTA_OK && strlen(text) != len)
		st = fail(err, errsz, OTA_E_INVALID, "key file '%s' holds a "
		    "NUL byte", path);
	close(fd);
	return st;
}

/* Never prompts for a passphrase: encrypted keys are refused instead. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* A PEM private key (public: a SubjectPublicKeyInfo) in text into *k. */
static enum ota_status
key_from_pem(const char *text, bool public, const char *path,
    struct sign_key **k, char *err, size_t errsz)
{
	enum ota_status st;
	EVP_PKEY *pkey;
	BIO *bio;

	*k = NULL;
	if (strstr(text, PEM_ENCRYPTED) != NULL)
		return fail(err, errsz, OTA_E_UNSUPPORTED, "key file '%s' is "
		    "encrypted; ota reads unencrypted PKCS#8 keys only", path);
	if ((bio = BIO_new_mem_buf(text, -1)) == NULL)
		return fail(err, errsz, OTA_E_NOMEM, "out of memory");
	if (public)
		pkey = PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
	else
		pkey = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		return fail(err, errsz, OTA_E_INVALID, "key file '%s' holds no "
		    "readable PEM %s key", path, public ? "public" : "private");
	if ((st = key_wrap(pkey, !public, k)) == OTA_E_UNSUPPORTED)
		return fail(err, errsz, st, "key file '%s' is not an Ed25519 "
		    "key", path);
	if (st != OTA_OK)
		return fail(err, errsz, st, "cannot load key file '%s': %s",
		    path, ota_status_str(st));
	return OTA_OK;
}

enum ota_status
sign_key_load_private(struct sign_key **k, const char *path, char *err,
    size_t errsz)
{
	char text[SIGN_MAX_KEY_FILE + 1];
	enum ota_status st;

	*k = NULL;
	st = key_file_read(path, true, text, sizeof(text), err, errsz);
	if (st == OTA_OK)
		st = key_from_pem(text, false, path, k, err, errsz);
	OPENSSL_cleanse(text, sizeof(text));
	return st;
}

enum ota_status
sign_key_load_public(struct sign_key **k, const char *path, char *err,
    size_t errsz)
{
	char text[SIGN_MAX_KEY_FILE + 1];
	enum ota_status st;

	*k = NULL;
	if ((st = key_file_read(path, false, text, sizeof(text), err,
	    errsz)) != OTA_OK)
		;
	else if (strstr(text, PEM_PUBLIC) != NULL)
		st = key_from_pem(text, true, path, k, err, errsz);
	else if (strstr(text, PEM_BEGIN) != NULL) {
		/* A private key file: keep only what verifying needs. */
		if ((st = key_from_pem(text, false, path, k, err, errsz)) ==
		    OTA_OK)
			(*k)->priv = false;
	} else if ((st = sign_key_from_text(k, text)) != OTA_OK)
		st = fail(err, errsz, st, "key file '%s' is not an ed25519 "
		    "public key (\"%s BASE64\")", path, SIGN_ALG_NAME);
	OPENSSL_cleanse(text, sizeof(text));
	return st;
}

enum ota_status
sign_key_from_text(struct sign_key **k, const char *text)
{
	unsigned char raw[SIGN_PUBLIC_LEN];
	EVP_PKEY *pkey;

	*k = NULL;
	if (sign_public_parse(text, raw) != OTA_OK)
		return OTA_E_INVALID;
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw,
	    sizeof(raw));
	if (pkey == NULL) {
		ERR_clear_error();
		return OTA_E_INVALID;
	}
	return key_wrap(pkey, false, k);
}

enum ota_status
sign_key_from_seed(struct sign_key **k, const unsigned char seed[SIGN_SEED_LEN])
{
	EVP_PKEY *pkey;

	*k = NULL;
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    SIGN_SEED_LEN);
	if (pkey == NULL) {
		ERR_clear_error();
		return OTA_E_IO;
	}
	return key_wrap(pkey, true, k);
}

void
sign_key_free(struct sign_key *k)
{
	if (k == NULL)
		return;
	/* libcrypto wipes the private half it holds when freeing it. */
	EVP_PKEY_free(k->pkey);
	OPENSSL_cleanse(k, sizeof(*k));
	free(k);
}

bool
sign_key_has_private(const struct sign_key *k)
{
	return k->priv;
}

void
sign_key_public_raw(const struct sign_key *k,
    unsigned char out[SIGN_PUBLIC_LEN])
{
	memcpy(out, k->pub, SIGN_PUBLIC_LEN);
}

enum ota_status
sign_key_public_text(const struct sign_key *k, char *out, size_t outsz)
{
	char b64[BASE64_ENCODED_LEN(SIGN_PUBLIC_LEN) + 1];

	if (base64_encode(k->pub, sizeof(k->pub), b64, sizeof(b64)) !=
	    OTA_OK)
		return OTA_E_TOO_LARGE;
	return str_fmt(out, outsz, "%s %s", SIGN_ALG_NAME, b64);
}

void
sign_key_id(const struct sign_key *k, char out[SIGN_KEYID_HEX + 1])
{
	/* Only allocation can fail here; an empty id then matches nothing. */
	if (hash_hex(HASH_SHA256, k->pub, sizeof(k->pub), out) != OTA_OK)
		out[0] = '\0';
}

enum ota_status
sign_bytes(const struct sign_key *k, const void *msg, size_t n,
    unsigned char sig[SIGN_SIG_LEN])
{
	enum ota_status st = OTA_E_IO;
	size_t siglen = SIGN_SIG_LEN;
	EVP_MD_CTX *ctx;

	if (!k->priv)
		return OTA_E_INVALID;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return OTA_E_NOMEM;
	/* Ed25519 is "pure": no digest is named, the message goes whole. */
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, msg ? msg : "", n) == 1 &&
	    siglen == SIGN_SIG_LEN)
		st = OTA_OK;
	else
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return st;
}

enum ota_status
sign_verify(const struct sign_key *k, const void *msg, size_t n,
    const unsigned char sig[SIGN_SIG_LEN])
{
	enum ota_status st = OTA_E_SIGNATURE;
	EVP_MD_CTX *ctx;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return OTA_E_NOMEM;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
	    EVP_DigestVerify(ctx, sig, SIGN_SIG_LEN, msg ? msg : "", n) == 1)
		st = OTA_OK;
	else
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return st;
}

/* The PEM PKCS#8 text of k's private key, into a wiping memory BIO. */
static BIO *
private_pem(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_secmem());

	if (bio == NULL)
		return NULL;
	if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1) {
		BIO_free(bio);
		return NULL;
	}
	return bio;
}

/* OTA_E_EXISTS (and why) if anything, even a dangling link, is at path. */
static enum ota_status
refuse_existing(const char *path, char *err, size_t errsz)
{
	struct stat sb;

	if (lstat(path, &sb) == 0)
		return fail(err, errsz, OTA_E_EXISTS, "'%s' already exists "
		    "(use --force to replace it)", path);
	if (errno != ENOENT)
		return fail(err, errsz, ota_status_from_errno(errno),
		    "cannot check '%s': %s", path, strerror(errno));
	return OTA_OK;
}

/* Starts an atomic replacement of path with p[n]: written and fsynced. */
static enum ota_status
stage(struct fsatomic *a, const char *path, const void *p, size_t n,
    mode_t mode, char *err, size_t errsz)
{
	enum ota_status st;

	if ((st = fsatomic_open(a, path, mode)) == OTA_OK &&
	    (st = fsatomic_write_chunk(a, p, n)) == OTA_OK &&
	    fsync(a->fd) != 0)
		st = OTA_E_IO;
	if (st != OTA_OK) {
		st = fail(err, errsz, st, "cannot write '%s': %s", path,
		    strerror(errno));
		fsatomic_abort(a);
	}
	return st;
}

/*
 * Writes the pair. Two names cannot appear in one atomic step, so both
 * files are complete and on disk under temp names before either is
 * named, and the namings follow each other: the private key first, then
 * the public key. A crash or a failure between them leaves a private key
 * without its public half, which is derived from the private key
 * (sign_key_load_public reads a .key) and so can be rewritten; the other
 * order would leave a public key nothing can sign for. A private key that
 * was named is never removed again. Without force the names are taken
 * with fsatomic_commit_new: of two keygens racing for one pair, exactly
 * one makes the private key, and the other gets OTA_E_EXISTS.
 */
static enum ota_status
write_pair(const char *priv_path, const void *priv, size_t privlen,
    const char *pub_path, const char *pub, bool force, char *err,
    size_t errsz)
{
	struct fsatomic a = { 0 }, b = { 0 };
	enum ota_status st;
	int e;

	if ((st = stage(&a, priv_path, priv, privlen, SIGN_PRIVATE_MODE, err,
	    errsz)) != OTA_OK)
		return st;
	if ((st = stage(&b, pub_path, pub, strlen(pub), SIGN_PUBLIC_MODE, err,
	    errsz)) != OTA_OK) {
		fsatomic_abort(&a);
		return st;
	}
	st = force ? fsatomic_commit(&a) : fsatomic_commit_new(&a);
	if (st != OTA_OK) {
		fsatomic_abort(&b);
		return fail(err, errsz, st, st == OTA_E_EXISTS ? "'%s' already "
		    "exists (use --force to replace it)" : "cannot write '%s'",
		    priv_path);
	}
	if ((st = force ? fsatomic_commit(&b) : fsatomic_commit_new(&b)) !=
	    OTA_OK) {
		e = errno;
		/* An old public key must not stay beside the new key. */
		if (force)
			(void)unlink(pub_path);
		return fail(err, errsz, st, "cannot write '%s' (%s); the "
		    "private key '%s' was written: its public key can be "
		    "made again from it", pub_path, strerror(e), priv_path);
	}
	return OTA_OK;
}

enum ota_status
sign_keygen(const char *priv_path, const char *pub_path, bool force,
    char *err, size_t errsz)
{
	char line[SIGN_PUBLIC_TEXT_MAX + 1];
	struct sign_key *k = NULL;
	EVP_PKEY *pkey = NULL;
	enum ota_status st;
	BIO *pem = NULL;
	char *data;
	long len;

	if (strcmp(priv_path, pub_path) == 0)
		return fail(err, errsz, OTA_E_INVALID, "the private and public "
		    "key files must differ");
	if (!force &&
	    ((st = refuse_existing(priv_path, err, errsz)) != OTA_OK ||
	    (st = refuse_existing(pub_path, err, errsz)) != OTA_OK))
		return st;
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (pem = private_pem(pkey)) == NULL) {
		EVP_PKEY_free(pkey);
		return fail(err, errsz, OTA_E_IO, "cannot generate a key");
	}
	/* key_wrap takes pkey; pem holds its own copy of the private text. */
	if ((st = key_wrap(pkey, true, &k)) != OTA_OK ||
	    (st = sign_key_public_text(k, line, sizeof(line) - 1)) != OTA_OK ||
	    (len = BIO_get_mem_data(pem, &data)) <= 0) {
		st = fail(err, errsz, st ? st : OTA_E_IO, "cannot generate a "
		    "key");
		goto out;
	}
	line[strlen(line) + 1] = '\0';
	line[strlen(line)] = '\n';
	st = write_pair(priv_path, data, (size_t)len, pub_path, line, force,
	    err, errsz);
out:
	BIO_free(pem);
	sign_key_free(k);
	return st;
}
