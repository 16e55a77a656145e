/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rconn.c - a connection to Redis over TCP or TLS (rconn.h). hiredis formats the commands
 * (redisvFormatCommand, redisFormatCommandArgv) and parses the replies (its redisReader); the
 * socket is ours and TLS is OpenSSL's, so `rediss://` works with Debian 12's hiredis 0.14, which
 * has no TLS. Every call blocks at most the timeout: the connect is polled, the socket then has
 * SO_RCVTIMEO/SO_SNDTIMEO, which bound OpenSSL's reads and writes too. The only thread that
 * writes (the share's I/O thread) blocks SIGPIPE, so a peer that went away is an EPIPE here.
 * Memory: the queued commands are capped (RCONN_OB_CAP; a batch of the share is far smaller);
 * a reply is as large as Redis sends it (the share reads small hashes and sets only).
 */
#include "rconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define RCONN_OB_CAP (64u << 20)

struct ftpi__rconn {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	redisReader *rd;
	char *ob;
	size_t obn, obcap;
	char err[200];
};

static int fail(struct ftpi__rconn *c, const char *what, const char *detail)
{
	snprintf(c->err, sizeof c->err, "%s%s%.160s", what, detail ? ": " : "", detail ? detail : "");
	return -1;
}

/* OpenSSL's reason for the last failure (its error queue emptied). */
static int tls_fail(struct ftpi__rconn *c, const char *what)
{
	char buf[160];
	unsigned long e = ERR_peek_last_error();
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	else
		snprintf(buf, sizeof buf, "%s", errno ? strerror(errno) : "connection closed");
	ERR_clear_error();
	return fail(c, what, buf);
}

static int tcp_connect(struct ftpi__rconn *c, const struct ftpi__rconn_opts *o)
{
	struct addrinfo hints, *res = NULL;
	char port[8];
	int last = ECONNREFUSED, rc;
	int ms = o->timeout_us ? (int)((o->timeout_us + 999) / 1000) : -1;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(port, sizeof port, "%d", o->port);
	rc = getaddrinfo(o->host, port, &hints, &res);
	if (rc != 0)
		return fail(c, "resolve", gai_strerror(rc));
	for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				ai->ai_protocol);
		if (fd < 0) {
			last = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			struct pollfd p = {fd, POLLOUT, 0};
			int k, so = 0;
			socklen_t sl = sizeof so;
			if (errno != EINPROGRESS) {
				last = errno;
				close(fd);
				continue;
			}
			do
				k = poll(&p, 1, ms);
			while (k < 0 && errno == EINTR);
			if (k <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) != 0 || so) {
				last = k == 0 ? ETIMEDOUT : so ? so : errno;
				close(fd);
				continue;
			}
		}
		int one = 1, fl = fcntl(fd, F_GETFL);
		struct timeval tv = {(time_t)(o->timeout_us / 1000000),
				     (suseconds_t)(o->timeout_us % 1000000)};
		if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
			last = errno;
			close(fd);
			continue;
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c->fd = fd;
		freeaddrinfo(res);
		return 0;
	}
	freeaddrinfo(res);
	return fail(c, "connect", strerror(last));
}

/* A file the URL names, readable, or why not (OpenSSL would only say "system lib"). */
static int readable(struct ftpi__rconn *c, const char *file, const char *what)
{
	if (file == NULL || file[0] == 0 || access(file, R_OK) == 0)
		return 0;
	return fail(c, what, strerror(errno));
}

static int tls_start(struct ftpi__rconn *c, const struct ftpi__rconn_opts *o)
{
	unsigned char ip[16];
	int is_ip = inet_pton(AF_INET, o->host, ip) == 1 || inet_pton(AF_INET6, o->host, ip) == 1;

	if (readable(c, o->ca_file, "TLS ssl_ca_certs") != 0 ||
	    readable(c, o->cert_file, "TLS ssl_certfile") != 0 ||
	    readable(c, o->key_file, "TLS ssl_keyfile") != 0)
		return -1;
	ERR_clear_error();
	c->ctx = SSL_CTX_new(TLS_client_method());
	if (c->ctx == NULL || SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION) != 1)
		return tls_fail(c, "TLS");
	if (o->verify) {
		int ok = o->ca_file && o->ca_file[0]
				 ? SSL_CTX_load_verify_locations(c->ctx, o->ca_file, NULL)
				 : SSL_CTX_set_default_verify_paths(c->ctx);
		if (ok != 1)
			return tls_fail(c, "TLS CA certificates");
	}
	SSL_CTX_set_verify(c->ctx, o->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	if (o->cert_file && o->cert_file[0]) {
		const char *key = o->key_file && o->key_file[0] ? o->key_file : o->cert_file;
		if (SSL_CTX_use_certificate_chain_file(c->ctx, o->cert_file) != 1)
			return tls_fail(c, "TLS client certificate");
		if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(c->ctx) != 1)
			return tls_fail(c, "TLS client key");
	}
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1)
		return tls_fail(c, "TLS");
	if (!is_ip && SSL_set_tlsext_host_name(c->ssl, o->host) != 1)
		return tls_fail(c, "TLS server name");
	if (o->verify && o->check_host) {
		X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
		int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, o->host)
			       : X509_VERIFY_PARAM_set1_host(vp, o->host, 0);
		if (ok != 1)
			return tls_fail(c, "TLS host check");
	}
	errno = 0;
	if (SSL_connect(c->ssl) != 1) {
		long v = SSL_get_verify_result(c->ssl);
		if (v != X509_V_OK) {
			ERR_clear_error();
			return fail(c, "TLS certificate of the server",
				    X509_verify_cert_error_string(v));
		}
		return tls_fail(c, "TLS handshake");
	}
	return 0;
}

struct ftpi__rconn *ftpi__rconn_open(const struct ftpi__rconn_opts *o, char *err, size_t n)
{
	struct ftpi__rconn *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(err, n, "out of memory");
		return NULL;
	}
	c->fd = -1;
	c->rd = redisReaderCreate();
	if (c->rd == NULL)
		fail(c, "out of memory", NULL);
	else if (tcp_connect(c, o) == 0 && (!o->tls || tls_start(c, o) == 0))
		return c;
	snprintf(err, n, "%s", c->err);
	ftpi__rconn_free(c);
	return NULL;
}

void ftpi__rconn_free(struct ftpi__rconn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		SSL_free(c->ssl); /* no close_notify: the socket may be dead; Redis does not care */
	SSL_CTX_free(c->ctx);
	if (c->fd >= 0)
		close(c->fd);
	if (c->rd != NULL)
		redisReaderFree(c->rd);
	free(c->ob);
	free(c);
}

const char *ftpi__rconn_error(const struct ftpi__rconn *c)
{
	return c ? c->err : "";
}

int ftpi__rconn_append(struct ftpi__rconn *c, const char *buf, size_t len)
{
	if (len > RCONN_OB_CAP - c->obn)
		return fail(c, "queued commands", "over the cap");
	if (c->obn + len > c->obcap) {
		size_t cap = c->obcap ? c->obcap : 4096;
		while (cap < c->obn + len)
			cap *= 2;
		char *p = realloc(c->ob, cap);
		if (p == NULL)
			return fail(c, "out of memory", NULL);
		c->ob = p;
		c->obcap = cap;
	}
	memcpy(c->ob + c->obn, buf, len);
	c->obn += len;
	return 0;
}

static int appendv(struct ftpi__rconn *c, const char *fmt, va_list ap)
{
	char *cmd = NULL;
	int len = redisvFormatCommand(&cmd, fmt, ap);
	if (len < 0)
		return fail(c, "command", "cannot be formatted");
	int rc = ftpi__rconn_append(c, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return rc;
}

int ftpi__rconn_appendf(struct ftpi__rconn *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = appendv(c, fmt, ap);
	va_end(ap);
	return rc;
}

int ftpi__rconn_append_argv(struct ftpi__rconn *c, int argc, const char **argv,
			    const size_t *argvlen)
{
	char *cmd = NULL;
	int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
	if (len < 0)
		return fail(c, "command", "cannot be formatted");
	int rc = ftpi__rconn_append(c, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return rc;
}

static int io_error(struct ftpi__rconn *c, const char *what, int e)
{
	if (e == EAGAIN || e == EWOULDBLOCK)
		return fail(c, what, "timed out");
	return fail(c, what, e ? strerror(e) : "connection closed");
}

static int flush(struct ftpi__rconn *c)
{
	size_t off = 0;
	while (off < c->obn) {
		size_t want = c->obn - off;
		ssize_t k;
		errno = 0;
		if (c->ssl != NULL) {
			int w = SSL_write(c->ssl, c->ob + off, want > INT32_MAX ? INT32_MAX : (int)want);
			if (w <= 0) {
				int e = errno;
				ERR_clear_error();
				return io_error(c, "write", e);
			}
			k = w;
		} else {
			k = send(c->fd, c->ob + off, want, MSG_NOSIGNAL);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				return io_error(c, "write", errno);
		}
		off += (size_t)k;
	}
	c->obn = 0;
	return 0;
}

static ssize_t io_read(struct ftpi__rconn *c, char *buf, size_t n)
{
	for (;;) {
		ssize_t k;
		errno = 0;
		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, buf, (int)n);
			if (r > 0)
				return r;
			int e = errno, why = SSL_get_error(c->ssl, r);
			ERR_clear_error();
			return io_error(c, "read", why == SSL_ERROR_ZERO_RETURN ? 0 : e);
		}
		k = recv(c->fd, buf, n, 0);
		if (k > 0)
			return k;
		if (k < 0 && errno == EINTR)
			continue;
		return io_error(c, "read", k == 0 ? 0 : errno);
	}
}

int ftpi__rconn_get_reply(struct ftpi__rconn *c, redisReply **reply)
{
	void *r = NULL;
	char buf[16384];

	*reply = NULL;
	if (redisReaderGetReply(c->rd, &r) != REDIS_OK)
		return fail(c, "reply", c->rd->errstr);
	if (r == NULL && c->obn != 0 && flush(c) != 0)
		return -1;
	while (r == NULL) {
		ssize_t k = io_read(c, buf, sizeof buf);
		if (k < 0)
			return -1;
		if (redisReaderFeed(c->rd, buf, (size_t)k) != REDIS_OK ||
		    redisReaderGetReply(c->rd, &r) != REDIS_OK)
			return fail(c, "reply", c->rd->errstr);
	}
	*reply = r;
	return 0;
}

redisReply *ftpi__rconn_command(struct ftpi__rconn *c, const char *fmt, ...)
{
	redisReply *r = NULL;
	va_list ap;
	va_start(ap, fmt);
	int rc = appendv(c, fmt, ap);
	va_end(ap);
	if (rc != 0 || ftpi__rconn_get_reply(c, &r) != 0)
		return NULL;
	return r;
}
