/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rconn.h - one connection to Redis, plain TCP or TLS (rediss://), for the share's I/O thread.
 * hiredis does the Redis protocol (its command formatter and its reply reader, both decoupled
 * from I/O); this file does the socket and OpenSSL does TLS, because Debian 12's hiredis (0.14)
 * has no TLS of its own. Blocking calls bounded by a timeout, used by one thread at a time.
 */
#ifndef FTPI_RCONN_H
#define FTPI_RCONN_H

#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

/* How to reach Redis: the URL's host and port, and for rediss:// the TLS settings of its query
 * (redis-py's names: ssl_ca_certs, ssl_certfile, ssl_keyfile, ssl_cert_reqs, ssl_check_hostname). */
struct ftpi__rconn_opts {
	const char *host;
	int port;
	int tls;
	const char *ca_file;   /* NULL or "": the system's CA store */
	const char *cert_file; /* client certificate (Redis's tls-auth-clients), or NULL */
	const char *key_file;  /* its key; NULL: in cert_file */
	int verify;            /* check the server's certificate chain (default 1) */
	int check_host;        /* and that it names host (default 1) */
	uint64_t timeout_us;   /* connect, handshake, every read and write */
};

struct ftpi__rconn;

/* NULL on failure, with the reason in err (never a password: none is known here). */
struct ftpi__rconn *ftpi__rconn_open(const struct ftpi__rconn_opts *o, char *err, size_t n);
void ftpi__rconn_free(struct ftpi__rconn *c);
/* The last error of a connection (""), for messages. */
const char *ftpi__rconn_error(const struct ftpi__rconn *c);

/* Queue commands (sent by the next get_reply): bytes already in the Redis protocol, a
 * printf-like command (hiredis's format), or an argument vector. 0, or -1 when out of memory. */
int ftpi__rconn_append(struct ftpi__rconn *c, const char *buf, size_t len);
int ftpi__rconn_appendf(struct ftpi__rconn *c, const char *fmt, ...);
int ftpi__rconn_append_argv(struct ftpi__rconn *c, int argc, const char **argv,
			    const size_t *argvlen);
/* The next reply (the caller frees it with freeReplyObject): sends what is queued first.
 * 0, or -1 on an error (the connection is then unusable). */
int ftpi__rconn_get_reply(struct ftpi__rconn *c, redisReply **reply);
/* appendf and get_reply in one call; NULL on an error. */
redisReply *ftpi__rconn_command(struct ftpi__rconn *c, const char *fmt, ...);

#endif
