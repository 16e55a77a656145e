/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * names.c - TLS version and cipher suite names from OpenSSL and the lookups the engine installs
 * (names.h). OpenSSL finds a suite by its two bytes only through an SSL object: one SSL_CTX and
 * one SSL per engine, made on the first name asked for and freed with the engine (outside the
 * memory caps, like the certificate store). SSL_CIPHER_find searches every suite this OpenSSL
 * was built with, whether or not a security level would allow it.
 */
#include "names.h"

#include <stdio.h>
#include <string.h>

#include <openssl/ssl.h>

void ftpi__tls_names_release(struct ftpi__tls_names *n)
{
	if (n == NULL)
		return;
	SSL_free(n->ssl);
	SSL_CTX_free(n->ssl_ctx);
	n->ssl = n->ssl_ctx = NULL;
}

static const char *openssl_suite(struct ftpi__tls_names *n, uint16_t suite)
{
	const unsigned char id[2] = {(unsigned char)(suite >> 8), (unsigned char)suite};
	const SSL_CIPHER *c;

	if (n->ssl == NULL && !n->ssl_failed) {
		n->ssl_ctx = SSL_CTX_new(TLS_method());
		n->ssl = n->ssl_ctx ? SSL_new(n->ssl_ctx) : NULL;
		if (n->ssl == NULL) {
			ftpi__tls_names_release(n);
			n->ssl_failed = 1; /* the installed lookups still answer */
		}
	}
	if (n->ssl == NULL || (c = SSL_CIPHER_find(n->ssl, id)) == NULL)
		return NULL;
	return SSL_CIPHER_standard_name(c);
}

static const char *hex_form(uint16_t v, char *buf)
{
	snprintf(buf, FTPI__TLS_NAME_MAX, "0x%04x", v);
	return buf;
}

const char *ftpi__tls_cipher_name(struct ftpi__tls_names *n, uint16_t suite, char *buf)
{
	const char *s;

	if (n == NULL)
		return hex_form(suite, buf);
	s = openssl_suite(n, suite);
	if (s != NULL)
		return s;
	if (n->suite_name != NULL && n->suite_name(suite, buf, FTPI__TLS_NAME_MAX) == 0)
		return buf;
	return hex_form(suite, buf);
}

const char *ftpi__tls_version_name(struct ftpi__tls_names *n, uint16_t v, char *buf)
{
	if (n != NULL && n->version_name != NULL && n->version_name(v, buf, FTPI__TLS_NAME_MAX) == 0)
		return buf;
	return hex_form(v, buf);
}

int ftpi__tls_cipher_known(struct ftpi__tls_names *n, uint16_t suite)
{
	char buf[FTPI__TLS_NAME_MAX];
	return strncmp(ftpi__tls_cipher_name(n, suite, buf), "0x", 2) != 0;
}

int ftpi__tls_version_weak(uint16_t v)
{
	return v == 0x0002 || (v >= 0x0300 && v <= 0x0302);
}

int ftpi__tls_cipher_weak(struct ftpi__tls_names *n, uint16_t suite)
{
	/* "DES" matches DES, DES40 and 3DES; "NULL" NULL encryption and the null key exchange;
	 * "_anon_" unauthenticated (EC)DH. */
	static const char *const bad[] = {"NULL", "EXPORT", "RC4", "DES", "_anon_", "RC2"};
	char buf[FTPI__TLS_NAME_MAX];
	const char *name = ftpi__tls_cipher_name(n, suite, buf);

	if (strncmp(name, "0x", 2) == 0)
		return 0;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		if (strstr(name, bad[i]) != NULL)
			return 1;
	return 0;
}

int ftpi__tls_null_mac_len(struct ftpi__tls_names *n, uint16_t suite)
{
	static const struct {
		const char *mac;
		int len;
	} macs[] = {{"MD5", 16}, {"SHA", 20}, {"SHA256", 32}, {"SHA384", 48}};
	char buf[FTPI__TLS_NAME_MAX];
	const char *name = ftpi__tls_cipher_name(n, suite, buf), *w;

	if (suite == 0x0000 || (w = strstr(name, "_WITH_NULL_")) == NULL)
		return -1;
	w += strlen("_WITH_NULL_");
	for (size_t i = 0; i < sizeof macs / sizeof *macs; i++)
		if (strcmp(w, macs[i].mac) == 0)
			return macs[i].len;
	return -1;
}
