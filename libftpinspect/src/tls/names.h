/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * names.h - the names of TLS versions and cipher suites, from the libraries that keep them rather
 * than from a table of our own: a suite's IANA name from OpenSSL (SSL_CIPHER_find and
 * SSL_CIPHER_standard_name, on an SSL object made on first use), then from the lookups the engine
 * installs (nDPI's ndpi_cipher2str, which also knows the weak families Debian's OpenSSL is built
 * without: RC4, DES, 3DES, EXPORT, ...), spelled as IANA spells them; a version's name from the
 * installed lookup (nDPI's ndpi_ssl_version2str: "TLSv1", "TLSv1.2", ...). A code point no library
 * knows reads as its hex form, "0x1a2b".
 */
#ifndef FTPI_NAMES_H
#define FTPI_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Room for any name or hex form, NUL included. */
#define FTPI__TLS_NAME_MAX 96

/* A lookup the engine installs: writes the name of code point v into buf (len bytes); 0, or -1
 * when it does not know v. */
typedef int (*ftpi__tls_name_fn)(uint16_t v, char *buf, size_t len);

/* Per engine (one thread): OpenSSL's objects, made on first use, and the installed lookups. */
struct ftpi__tls_names {
	void *ssl_ctx, *ssl; /* SSL_CTX, SSL */
	int ssl_failed;
	ftpi__tls_name_fn suite_name, version_name; /* NULL: none (built without nDPI) */
};

/* Storage for the names of one handshake, valid as long as the caller keeps it. */
struct ftpi__tls_namebufs {
	char version[FTPI__TLS_NAME_MAX];
	char cipher[FTPI__TLS_NAME_MAX];
};

void ftpi__tls_names_release(struct ftpi__tls_names *n);

/* The suite's IANA name, or its hex form: a library's static string or buf
 * (FTPI__TLS_NAME_MAX bytes). Never NULL. n may be NULL (hex forms only). */
const char *ftpi__tls_cipher_name(struct ftpi__tls_names *n, uint16_t suite, char *buf);
/* The version's name ("TLSv1.2"), or its hex form, in buf (FTPI__TLS_NAME_MAX bytes). */
const char *ftpi__tls_version_name(struct ftpi__tls_names *n, uint16_t v, char *buf);
/* 1 when a library names the suite (the name is not a hex form). */
int ftpi__tls_cipher_known(struct ftpi__tls_names *n, uint16_t suite);
/* 1 when the suite is NULL, export, RC4, DES/3DES, RC2 or anonymous (by its name; a suite no
 * library names is not flagged). */
int ftpi__tls_cipher_weak(struct ftpi__tls_names *n, uint16_t suite);
/* 1 for SSL 2/3, TLS 1.0, TLS 1.1. */
int ftpi__tls_version_weak(uint16_t v);
/* MAC length of a TLS <= 1.2 cipher suite that does not encrypt (..._WITH_NULL_<MAC>), or -1. */
int ftpi__tls_null_mac_len(struct ftpi__tls_names *n, uint16_t suite);

#endif /* FTPI_NAMES_H */
