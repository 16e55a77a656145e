/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * share_url.c - the Redis side's settings (share.c): the URL of a shared store or event stream,
 * parsed with the TLS settings a rediss:// query may name, the URL as shown (without its
 * password), the share configuration's defaults, the check of a sensor's name, and the wall
 * clock of the share's deadlines (ftpi__share_now, which the expect stage calls too). Knows
 * nothing of hiredis: built with or without it (FTPI_WITH_REDIS); the bottom of the Redis side's
 * files (share_io.c and share.c call it, it calls neither).
 */
#include <stdio.h>
#include <time.h>

#include "share_int.h"

uint64_t ftpi__share_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* A query value [p, e) percent-decoded into out (n bytes): 0, or -1 when malformed or long. */
static int qval(const char *p, const char *e, char *out, size_t n)
{
	size_t k = 0;
	for (; p < e; p++) {
		int c = (unsigned char)*p;
		if (c == '%') {
			if (e - p < 3 || hexval(p[1]) < 0 || hexval(p[2]) < 0)
				return -1;
			c = hexval(p[1]) * 16 + hexval(p[2]);
			p += 2;
		}
		if (c == 0 || k + 1 >= n)
			return -1;
		out[k++] = (char)c;
	}
	out[k] = 0;
	return 0;
}

static int qbool(const char *v)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
		return 1;
	if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
		return 0;
	return -1;
}

/* The TLS settings of a rediss:// query [q, e); an unknown name, or any name on redis://, is
 * an error. */
static int url_query(const char *q, const char *e, struct sh_url *u)
{
	while (q < e) {
		const char *amp = memchr(q, '&', (size_t)(e - q)), *end = amp ? amp : e;
		const char *eq = memchr(q, '=', (size_t)(end - q));
		char name[32], v[256];
		if (eq == NULL || (size_t)(eq - q) >= sizeof name || !u->tls)
			return -1;
		memcpy(name, q, (size_t)(eq - q));
		name[eq - q] = 0;
		if (qval(eq + 1, end, v, sizeof v) != 0)
			return -1;
		if (!strcmp(name, "ssl_ca_certs"))
			memcpy(u->ca, v, sizeof v);
		else if (!strcmp(name, "ssl_certfile"))
			memcpy(u->cert, v, sizeof v);
		else if (!strcmp(name, "ssl_keyfile"))
			memcpy(u->key, v, sizeof v);
		else if (!strcmp(name, "ssl_cert_reqs") && (!strcmp(v, "required") || !strcmp(v, "optional")))
			u->verify = 1;
		else if (!strcmp(name, "ssl_cert_reqs") && !strcmp(v, "none"))
			u->verify = 0;
		else if (!strcmp(name, "ssl_check_hostname") && qbool(v) >= 0)
			u->check_host = qbool(v);
		else
			return -1;
		q = amp ? amp + 1 : e;
	}
	return 0;
}

int ftpi__sh_url_parse(const char *url, struct sh_url *u)
{
	const char *p, *at, *colon, *slash, *qm, *end;
	memset(u, 0, sizeof *u);
	u->port = 6379;
	u->verify = u->check_host = 1;
	if (url == NULL)
		return -1;
	if (strncmp(url, "redis://", 8) == 0) {
		p = url + 8;
	} else if (strncmp(url, "rediss://", 9) == 0) {
		p = url + 9;
		u->tls = 1;
	} else {
		return -1;
	}
	qm = strchr(p, '?'); /* the query may hold paths with slashes */
	end = qm ? qm : p + strlen(p);
	slash = memchr(p, '/', (size_t)(end - p));
	if (slash == NULL)
		slash = end;
	at = memchr(p, '@', (size_t)(slash - p));
	if (at != NULL) {
		const char *c = memchr(p, ':', (size_t)(at - p));
		size_t ul = c ? (size_t)(c - p) : (size_t)(at - p);
		if (ul >= sizeof u->user)
			return -1;
		memcpy(u->user, p, ul);
		if (c) {
			size_t pl = (size_t)(at - c - 1);
			if (pl >= sizeof u->pass)
				return -1;
			memcpy(u->pass, c + 1, pl);
		}
		p = at + 1;
	}
	colon = memchr(p, ':', (size_t)(slash - p));
	const char *hend = colon ? colon : slash;
	if (hend == p || (size_t)(hend - p) >= sizeof u->host)
		return -1;
	memcpy(u->host, p, (size_t)(hend - p));
	if (colon) {
		long v = 0;
		const char *q = colon + 1;
		if (q == slash)
			return -1;
		for (; q < slash; q++) {
			if (*q < '0' || *q > '9' || (v = v * 10 + (*q - '0')) > 65535)
				return -1;
		}
		if (v == 0)
			return -1;
		u->port = (int)v;
	}
	if (slash < end) {
		if ((size_t)(end - slash - 1) >= sizeof u->path)
			return -1;
		memcpy(u->path, slash + 1, (size_t)(end - slash - 1));
	}
	return qm ? url_query(qm + 1, qm + strlen(qm), u) : 0;
}

size_t ftpi_share_url_display(const char *url, char *buf, size_t n)
{
	struct sh_url u;
	int k;
	if (buf == NULL || n == 0)
		return 0;
	if (ftpi__sh_url_parse(url, &u) != 0)
		k = snprintf(buf, n, "(invalid redis URL)");
	else
		k = snprintf(buf, n, "%s://%s%s%s:%d%s%s", u.tls ? "rediss" : "redis", u.user,
			     u.user[0] ? "@" : "", u.host, u.port, u.path[0] ? "/" : "", u.path);
	return k < 0 ? 0 : FTPI__MIN((size_t)k, n - 1);
}

void ftpi_share_config_init(struct ftpi_share_config *sc)
{
	if (sc == NULL)
		return;
	memset(sc, 0, sizeof *sc);
	sc->size = sizeof *sc;
	sc->wait_us = 3000000;
	sc->max_pending = 4096;
	sc->queue_len = 16384;
	sc->timeout_expect = 120000000;
	sc->io_timeout_us = 500000;
}

int ftpi__sh_sensor_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n >= FTPI__SH_SENSOR)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}
