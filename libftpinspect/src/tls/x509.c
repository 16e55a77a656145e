/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * x509.c - review of the server certificate chain copied out of a TLS <= 1.2 handshake, with
 * OpenSSL 3.0 (RFC 5280): subject and issuer as RFC 2253 text (escaped to printable ASCII with
 * ftpi_escape), validity at the capture's time, self-signed, chain verification against a trust
 * store (a CA file, or OpenSSL's default paths) as of the capture's time, and the host name
 * (RFC 6125 via X509_check_host / X509_check_ip_asc). Trust is decided with time errors set
 * aside, so time problems are reported as such and never as "untrusted". Results are cached
 * (64 entries keyed by SHA-256 of the chain and the name) so a busy server's certificate is
 * verified once. The store and cache come from FTPI__POOL_TLS; OpenSSL's own allocations
 * (X509 objects, the X509_STORE) are not accounted to the engine. This is the only unit that
 * includes OpenSSL headers; it does no network I/O (no AIA fetching, no OCSP, no CRLs).
 */
#include "x509.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "internal.h"

#define CACHE_SIZE 64
/* Chains longer than this are cut (the TLS reader copies at most FTPI__TLS_MAX_CERTS). */
#define MAX_CHAIN 16
/* A single certificate larger than this is refused rather than handed to the DER parser. */
#define MAX_CERT_DER (1u << 20)

struct cache_ent {
	uint8_t key[32];       /* SHA-256 over the chain and the name */
	uint8_t used;
	int64_t chain_nb, chain_na; /* latest notBefore / earliest notAfter above the leaf */
	struct ftpi__x509_result res; /* time flags not filled: they depend on `at` */
};

struct ftpi__x509_store {
	X509_STORE *store;
	uint32_t next;          /* round-robin replacement */
	uint64_t hits, misses;
	struct cache_ent cache[CACHE_SIZE];
};

/* State shared with the verify callback through the store context's app data. */
struct verify_state {
	int first_error; /* first non-time error, 0 = none */
};

/* Certificates in a store. */
static uint64_t store_certs(X509_STORE *st)
{
	STACK_OF(X509_OBJECT) *objs = X509_STORE_get0_objects(st);
	uint64_t n = 0;
	for (int i = 0; objs && i < sk_X509_OBJECT_num(objs); i++)
		if (X509_OBJECT_get_type(sk_X509_OBJECT_value(objs, i)) == X509_LU_X509)
			n++;
	return n;
}

/* Loads every regular file of a directory that holds PEM certificates (at most 4096 files;
 * others are skipped), so the directory need not be hashed (c_rehash). 0 when unreadable. */
static int load_dir(X509_STORE *st, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[4096];
	int files = 0;
	if (d == NULL)
		return 0;
	while (files < 4096 && (de = readdir(d)) != NULL) {
		struct stat sb;
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path)
			continue;
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		files++;
		(void)X509_STORE_load_file(st, path); /* not a certificate: skipped */
	}
	closedir(d);
	ERR_clear_error();
	return 1;
}

int ftpi__x509_trust_count(const char *ca_file, const char *ca_dir, uint64_t *n)
{
	X509_STORE *st = X509_STORE_new();
	int rc = FTPI_OK;
	if (st == NULL)
		return FTPI_E_NOMEM;
	*n = 0;
	if (ca_file != NULL && X509_STORE_load_file(st, ca_file) != 1)
		rc = FTPI_E_INVAL;
	if (rc == FTPI_OK && ca_dir != NULL && !load_dir(st, ca_dir))
		rc = FTPI_E_INVAL;
	if (rc == FTPI_OK)
		*n = store_certs(st);
	ERR_clear_error();
	X509_STORE_free(st);
	return rc;
}

int ftpi__x509_store_new(struct ftpi__ctx *cx, const char *ca_file, struct ftpi__x509_store **out)
{
	return ftpi__x509_store_new_paths(cx, ca_file, NULL, out);
}

int ftpi__x509_store_new_paths(struct ftpi__ctx *cx, const char *ca_file, const char *ca_dir,
			       struct ftpi__x509_store **out)
{
	struct ftpi__x509_store *s;

	if (cx == NULL || out == NULL)
		return FTPI_E_INVAL;
	*out = NULL;
	s = ftpi__alloc(cx, FTPI__POOL_TLS, sizeof *s);
	if (s == NULL)
		return FTPI_E_NOMEM;
	s->store = X509_STORE_new();
	if (s->store == NULL) {
		ftpi__free(cx, FTPI__POOL_TLS, s, sizeof *s);
		return FTPI_E_NOMEM;
	}
	int ok = 1;
	if (ca_file != NULL || ca_dir != NULL) {
		if (ca_file != NULL)
			ok = X509_STORE_load_file(s->store, ca_file) == 1;
		if (ok && ca_dir != NULL)
			ok = load_dir(s->store, ca_dir);
	} else {
		/* The system's hashed CA directory is read on demand: only the issuers a chain
		 * needs are loaded, instead of parsing the whole bundle per engine. Without such
		 * a directory, the default file and directory. */
		const char *dir = getenv(X509_get_default_cert_dir_env());
		if (dir == NULL || *dir == '\0')
			dir = X509_get_default_cert_dir();
		if (access(dir, R_OK | X_OK) == 0)
			ok = X509_STORE_load_path(s->store, dir) == 1;
		else
			ok = X509_STORE_set_default_paths(s->store) == 1;
	}
	if (!ok) {
		/* The error queue is per thread; leave it clean for the caller. */
		ERR_clear_error();
		X509_STORE_free(s->store);
		ftpi__free(cx, FTPI__POOL_TLS, s, sizeof *s);
		return FTPI_E_INVAL;
	}
	*out = s;
	return FTPI_OK;
}

void ftpi__x509_store_free(struct ftpi__ctx *cx, struct ftpi__x509_store *s)
{
	if (s == NULL)
		return;
	X509_STORE_free(s->store);
	ftpi__free(cx, FTPI__POOL_TLS, s, sizeof *s);
}

void ftpi__x509_cache_stats(const struct ftpi__x509_store *s, uint64_t *hits, uint64_t *misses)
{
	if (hits)
		*hits = s ? s->hits : 0;
	if (misses)
		*misses = s ? s->misses : 0;
}

/* RFC 2253 text of a name, NUL-terminated, escaped to printable ASCII by ftpi_escape: OpenSSL's
 * own \XX escaping of non-ASCII bytes is turned off so that UTF-8 bytes come out as \xHH like
 * every other wire byte, and RFC 2253's backslash escapes become \x5c (so "O=a\, b" reads
 * "O=a\x5c, b"): one escaping rule for all output. */
static void name_text(const X509_NAME *n, char *dst, size_t cap)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p = NULL;
	long len;

	dst[0] = '\0';
	if (b == NULL)
		return;
	if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_get_mem_data(b, &p);
		if (len > 0 && p != NULL)
			ftpi_escape(dst, cap, p, (size_t)len);
	}
	BIO_free(b);
}

static int64_t asn1_epoch(const ASN1_TIME *t, int *ok)
{
	struct tm tm;

	memset(&tm, 0, sizeof tm);
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
		*ok = 0;
		return 0;
	}
	return (int64_t)timegm(&tm);
}

static int is_time_error(int err)
{
	switch (err) {
	case X509_V_ERR_CERT_NOT_YET_VALID:
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
	case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
		return 1;
	default:
		return 0;
	}
}

/* Sets time errors aside (reported from the dates instead) and stops at the first other one. */
static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	struct verify_state *vs = X509_STORE_CTX_get_app_data(ctx);
	int err = X509_STORE_CTX_get_error(ctx);

	if (ok)
		return 1;
	if (is_time_error(err))
		return 1;
	if (vs != NULL && vs->first_error == 0)
		vs->first_error = err;
	return 0;
}

/* SHA-256 over (length, DER) of each certificate and the name: collision-resistant, so a forged
 * certificate cannot borrow another one's cached verdict. Returns 0 when hashing failed (then the
 * cache is bypassed). */
static int cache_key(const uint8_t *const *der, const uint32_t *der_len, size_t n,
		     const char *name, size_t name_len, uint8_t key[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int klen = 0;
	uint8_t lenbuf[4];
	int ok = 0;

	memset(key, 0, 32);
	if (md == NULL)
		return 0;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto out;
	for (size_t i = 0; i < n; i++) {
		uint32_t l = der_len[i];
		lenbuf[0] = (uint8_t)(l >> 24);
		lenbuf[1] = (uint8_t)(l >> 16);
		lenbuf[2] = (uint8_t)(l >> 8);
		lenbuf[3] = (uint8_t)l;
		EVP_DigestUpdate(md, lenbuf, 4);
		if (l > 0 && der[i] != NULL)
			EVP_DigestUpdate(md, der[i], l);
	}
	/* Separator that no certificate length can take, then the name. */
	memset(lenbuf, 0xff, 4);
	EVP_DigestUpdate(md, lenbuf, 4);
	if (name_len > 0)
		EVP_DigestUpdate(md, name, name_len);
	ok = EVP_DigestFinal_ex(md, key, &klen) == 1 && klen == 32;
out:
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

/* Time-dependent flags, from the leaf's dates and the cached chain window. */
static void apply_time(struct ftpi__x509_result *r, int64_t chain_nb, int64_t chain_na, int64_t at)
{
	r->expired = r->not_after < at;
	r->not_yet_valid = r->not_before > at;
	r->chain_time_invalid = at < chain_nb || at > chain_na;
}

static void check_name(X509 *leaf, const char *name, size_t name_len,
		       struct ftpi__x509_result *r)
{
	char buf[256];
	unsigned char ip[16];

	if (name_len == 0 || name == NULL)
		return;
	if (name_len >= sizeof buf || memchr(name, '\0', name_len) != NULL) {
		r->name_mismatch = 1; /* no certificate can carry such a name */
		return;
	}
	memcpy(buf, name, name_len);
	buf[name_len] = '\0';
	if (inet_pton(AF_INET, buf, ip) == 1 || inet_pton(AF_INET6, buf, ip) == 1)
		r->name_mismatch = X509_check_ip_asc(leaf, buf, 0) != 1;
	else
		r->name_mismatch = X509_check_host(leaf, buf, name_len, 0, NULL) != 1;
}

/* Chain verification as of `at`; fills untrusted/verify_error and the window of the certificates
 * above the leaf in the built chain. */
static void verify_chain(X509_STORE *store, X509 *leaf, STACK_OF(X509) *untrusted, int64_t at,
			 struct ftpi__x509_result *r, int64_t *chain_nb, int64_t *chain_na)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	struct verify_state vs = {0};
	STACK_OF(X509) *chain;
	int ok;

	*chain_nb = INT64_MIN;
	*chain_na = INT64_MAX;
	if (ctx == NULL || X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		r->untrusted = 1;
		snprintf(r->verify_error, sizeof r->verify_error, "verification not possible");
		X509_STORE_CTX_free(ctx);
		return;
	}
	X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_USE_CHECK_TIME);
	X509_VERIFY_PARAM_set_time(param, (time_t)at);
	X509_STORE_CTX_set_app_data(ctx, &vs);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	ok = X509_verify_cert(ctx);
	if (ok != 1) {
		int err = vs.first_error ? vs.first_error : X509_STORE_CTX_get_error(ctx);
		r->untrusted = 1;
		if (err == X509_V_OK)
			err = X509_V_ERR_UNSPECIFIED;
		ftpi_escape(r->verify_error, sizeof r->verify_error,
			    X509_verify_cert_error_string(err),
			    strlen(X509_verify_cert_error_string(err)));
	}
	chain = X509_STORE_CTX_get0_chain(ctx);
	for (int i = 1; chain != NULL && i < sk_X509_num(chain); i++) {
		X509 *c = sk_X509_value(chain, i);
		int tok = 1;
		int64_t nb = asn1_epoch(X509_get0_notBefore(c), &tok);
		int64_t na = asn1_epoch(X509_get0_notAfter(c), &tok);
		if (!tok)
			continue;
		if (nb > *chain_nb)
			*chain_nb = nb;
		if (na < *chain_na)
			*chain_na = na;
	}
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
}

int ftpi__x509_review(struct ftpi__x509_store *s, const uint8_t *const *der,
		      const uint32_t *der_len, size_t n, const char *name, size_t name_len,
		      int64_t at, struct ftpi__x509_result *out)
{
	X509 *certs[MAX_CHAIN] = {NULL};
	STACK_OF(X509) *untrusted = NULL;
	struct cache_ent *ce;
	uint8_t key[32];
	int64_t chain_nb, chain_na;
	int tok = 1, keyed;

	if (out == NULL)
		return FTPI_E_INVAL;
	memset(out, 0, sizeof *out);
	if (s == NULL || der == NULL || der_len == NULL || n == 0 || der[0] == NULL ||
	    der_len[0] == 0 || der_len[0] > MAX_CERT_DER)
		return FTPI_E_INVAL;
	if (n > MAX_CHAIN)
		n = MAX_CHAIN;

	keyed = cache_key(der, der_len, n, name, name ? name_len : 0, key);
	for (size_t i = 0; keyed && i < CACHE_SIZE; i++) {
		ce = &s->cache[i];
		if (ce->used && memcmp(ce->key, key, sizeof key) == 0) {
			s->hits++;
			*out = ce->res;
			out->cached = 1;
			apply_time(out, ce->chain_nb, ce->chain_na, at);
			return FTPI_OK;
		}
	}
	s->misses++;

	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = der[i];
		if (p == NULL || der_len[i] == 0 || der_len[i] > MAX_CERT_DER)
			continue;
		certs[i] = d2i_X509(NULL, &p, (long)der_len[i]);
	}
	if (certs[0] == NULL) {
		ERR_clear_error();
		for (size_t i = 1; i < n; i++)
			X509_free(certs[i]);
		return FTPI_E_INVAL;
	}
	out->parsed = 1;
	untrusted = sk_X509_new_null();
	for (size_t i = 0; i < n; i++) {
		if (certs[i] == NULL)
			continue;
		out->n_parsed++;
		if (i > 0 && untrusted != NULL)
			sk_X509_push(untrusted, certs[i]);
	}

	name_text(X509_get_subject_name(certs[0]), out->subject, sizeof out->subject);
	name_text(X509_get_issuer_name(certs[0]), out->issuer, sizeof out->issuer);
	out->not_before = asn1_epoch(X509_get0_notBefore(certs[0]), &tok);
	out->not_after = asn1_epoch(X509_get0_notAfter(certs[0]), &tok);
	if (!tok) {
		/* Unreadable dates: treat as outside every window. */
		out->not_before = INT64_MAX;
		out->not_after = INT64_MIN;
	}
	{
		EVP_PKEY *pk = X509_get0_pubkey(certs[0]);
		out->self_signed = X509_check_issued(certs[0], certs[0]) == X509_V_OK &&
				   pk != NULL && X509_verify(certs[0], pk) == 1;
	}
	verify_chain(s->store, certs[0], untrusted, at, out, &chain_nb, &chain_na);
	check_name(certs[0], name, name ? name_len : 0, out);

	sk_X509_free(untrusted);
	for (size_t i = 0; i < n; i++)
		X509_free(certs[i]);
	ERR_clear_error();

	if (keyed) {
		ce = &s->cache[s->next % CACHE_SIZE];
		s->next = (s->next + 1) % CACHE_SIZE;
		memcpy(ce->key, key, sizeof key);
		ce->used = 1;
		ce->res = *out;
		ce->chain_nb = chain_nb;
		ce->chain_na = chain_na;
	}
	apply_time(out, chain_nb, chain_na, at);
	return FTPI_OK;
}
