/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * strings.c - names for every public enum (generated from the X-macro maps in ftpinspect.h so
 * they cannot drift), address formatting and parsing, escaping of wire bytes, and the small
 * bounded text builders the other units use for messages and evidence.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

unsigned ftpi_version(void)
{
	return FTPI_VERSION_NUM;
}

const char *ftpi_version_string(void)
{
	return FTPI_VERSION_STRING;
}

const char *ftpi_status_name(int status)
{
	switch (status) {
#define FTPI__XX(num, name, str)                                                                   \
	case num:                                                                                  \
		return "FTPI_" #name;
		FTPI_STATUS_MAP(FTPI__XX)
#undef FTPI__XX
	}
	return "FTPI_E_UNKNOWN";
}

const char *ftpi_strerror(int status)
{
	switch (status) {
#define FTPI__XX(num, name, str)                                                                   \
	case num:                                                                                  \
		return str;
		FTPI_STATUS_MAP(FTPI__XX)
#undef FTPI__XX
	}
	return "unknown status";
}

static const char *const finding_names[] = {
#define FTPI__XX(name, id, sev) id,
	FTPI_FINDING_MAP(FTPI__XX)
#undef FTPI__XX
};

static const int finding_sev[] = {
#define FTPI__XX(name, id, sev) sev,
	FTPI_FINDING_MAP(FTPI__XX)
#undef FTPI__XX
};

const char *ftpi_finding_name(int kind)
{
	if (kind < 0 || kind >= FTPI_FINDING__COUNT)
		return NULL;
	return finding_names[kind];
}

int ftpi_finding_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < FTPI_FINDING__COUNT; i++)
		if (strcmp(finding_names[i], name) == 0)
			return i;
	return -1;
}

int ftpi_finding_default_severity(int kind)
{
	if (kind < 0 || kind >= FTPI_FINDING__COUNT)
		return -1;
	return finding_sev[kind];
}

static const char *const sev_names[] = {"info", "low", "medium", "high"};

const char *ftpi_severity_name(int sev)
{
	if (sev < 0 || sev >= (int)FTPI__ARRAY_LEN(sev_names))
		return NULL;
	return sev_names[sev];
}

int ftpi_severity_from_name(const char *name)
{
	if (name == NULL)
		return -1;
	for (int i = 0; i < (int)FTPI__ARRAY_LEN(sev_names); i++)
		if (strcasecmp(sev_names[i], name) == 0)
			return i;
	return -1;
}

static const char *const event_names[] = {
#define FTPI__XX(name, str) str,
	FTPI_EVENT_MAP(FTPI__XX)
#undef FTPI__XX
};

const char *ftpi_event_type_name(int type)
{
	if (type < 0 || type >= FTPI_EV__COUNT)
		return NULL;
	return event_names[type];
}

#define FTPI__NAME_TABLE(fn, ...)                                                                  \
	const char *fn(int v)                                                                      \
	{                                                                                          \
		static const char *const t[] = {__VA_ARGS__};                                      \
		if (v < 0 || v >= (int)FTPI__ARRAY_LEN(t))                                         \
			return NULL;                                                               \
		return t[v];                                                                       \
	}

FTPI__NAME_TABLE(ftpi_login_name, "none", "success", "failed")
FTPI__NAME_TABLE(ftpi_tls_mode_name, "none", "explicit", "implicit")
FTPI__NAME_TABLE(ftpi_announce_name, NULL, "PORT", "EPRT", "LPRT", "PASV", "EPSV", "LPSV")
FTPI__NAME_TABLE(ftpi_link_name, "none", "announced", "inferred", "tls-resumption", "tls-psk")
FTPI__NAME_TABLE(ftpi_data_status_name, "unknown", "completed", "aborted", "failed")
FTPI__NAME_TABLE(ftpi_flow_state_name, "syn_sent", "syn_rcvd", "established", "closing", "closed")

static const char *const stats_names[] = {
#define FTPI__XX(name) #name,
	FTPI_STATS_MAP(FTPI__XX) FTPI_STATS_MAP2(FTPI__XX)
#undef FTPI__XX
};

static const size_t stats_offsets[] = {
#define FTPI__XX(name) offsetof(struct ftpi_stats, name),
	FTPI_STATS_MAP(FTPI__XX) FTPI_STATS_MAP2(FTPI__XX)
#undef FTPI__XX
};

const char *ftpi_stats_field_name(size_t index)
{
	if (index >= FTPI__ARRAY_LEN(stats_names))
		return NULL;
	return stats_names[index];
}

uint64_t ftpi_stats_field(const struct ftpi_stats *st, size_t index)
{
	uint64_t v;
	if (st == NULL || index >= FTPI__ARRAY_LEN(stats_offsets))
		return 0;
	memcpy(&v, (const char *)st + stats_offsets[index], sizeof v);
	return v;
}

/* The dotted quad of ip at o, NUL-terminated (16 bytes at most); returns its length. By hand:
 * inet_ntop goes through sprintf. */
static size_t dotted_quad(const uint8_t *ip, char *o)
{
	char *start = o;
	for (int i = 0; i < 4; i++) {
		unsigned v = ip[i];
		if (v >= 100)
			*o++ = (char)('0' + v / 100);
		if (v >= 10)
			*o++ = (char)('0' + v / 10 % 10);
		*o++ = (char)('0' + v % 10);
		*o++ = '.';
	}
	o[-1] = '\0';
	return (size_t)(o - 1 - start);
}

size_t ftpi_addr_format(const struct ftpi_addr *a, char *buf, size_t buflen)
{
	char tmp[INET6_ADDRSTRLEN];

	if (buf == NULL || buflen == 0)
		return 0;
	if (a != NULL && a->family == 4 && buflen >= sizeof "255.255.255.255")
		return dotted_quad(a->ip, buf); /* the common case: straight into buf */
	tmp[0] = '\0';
	if (a != NULL && a->family == 4)
		dotted_quad(a->ip, tmp);
	else if (a != NULL && a->family == 6)
		inet_ntop(AF_INET6, a->ip, tmp, sizeof tmp);
	else
		memcpy(tmp, "?", 2);
	size_t n = strlen(tmp);
	if (n >= buflen)
		n = buflen - 1;
	memcpy(buf, tmp, n);
	buf[n] = '\0';
	return n;
}

int ftpi_cidr_parse(struct ftpi_cidr *out, const char *text)
{
	char tmp[64];
	const char *slash;
	size_t alen;
	long prefix = -1;

	if (out == NULL || text == NULL)
		return FTPI_E_INVAL;
	memset(out, 0, sizeof *out);
	slash = strchr(text, '/');
	alen = slash ? (size_t)(slash - text) : strlen(text);
	if (alen == 0 || alen >= sizeof tmp)
		return FTPI_E_INVAL;
	memcpy(tmp, text, alen);
	tmp[alen] = '\0';
	if (inet_pton(AF_INET, tmp, out->addr.ip) == 1)
		out->addr.family = 4;
	else if (inet_pton(AF_INET6, tmp, out->addr.ip) == 1)
		out->addr.family = 6;
	else
		return FTPI_E_INVAL;
	int maxp = out->addr.family == 4 ? 32 : 128;
	if (slash) {
		const char *p = slash + 1;
		if (*p == '\0')
			return FTPI_E_INVAL;
		prefix = 0;
		for (; *p; p++) {
			if (*p < '0' || *p > '9')
				return FTPI_E_INVAL;
			prefix = prefix * 10 + (*p - '0');
			if (prefix > maxp)
				return FTPI_E_INVAL;
		}
	} else {
		prefix = maxp;
	}
	out->prefix = (uint8_t)prefix;
	return FTPI_OK;
}

int ftpi__cidr_match(const struct ftpi_cidr *c, const struct ftpi_addr *a)
{
	if (c->addr.family != a->family)
		return 0;
	unsigned bits = c->prefix, i = 0;
	for (; bits >= 8; bits -= 8, i++)
		if (c->addr.ip[i] != a->ip[i])
			return 0;
	if (bits) {
		uint8_t mask = (uint8_t)(0xff << (8 - bits));
		if ((c->addr.ip[i] & mask) != (a->ip[i] & mask))
			return 0;
	}
	return 1;
}

/* RFC 1918, RFC 6598 (CGN), loopback, link-local; IPv6 ULA, link-local, loopback. */
int ftpi__addr_is_private(const struct ftpi_addr *a)
{
	const uint8_t *ip = a->ip;
	if (a->family == 4) {
		return ip[0] == 10 || (ip[0] == 172 && (ip[1] & 0xf0) == 16) ||
		       (ip[0] == 192 && ip[1] == 168) || (ip[0] == 100 && (ip[1] & 0xc0) == 64) ||
		       ip[0] == 127 || (ip[0] == 169 && ip[1] == 254);
	}
	if (a->family == 6) {
		static const uint8_t loop[16] = {[15] = 1};
		return (ip[0] & 0xfe) == 0xfc || (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) ||
		       memcmp(ip, loop, 16) == 0;
	}
	return 0;
}

size_t ftpi_escape(char *dst, size_t dstlen, const char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (dst == NULL || dstlen == 0)
		return 0;
	for (size_t i = 0; i < len && src; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			if (o + 1 >= dstlen)
				break;
			dst[o++] = (char)c;
		} else {
			if (o + 4 >= dstlen)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return o;
}

/* Appends n bytes at *len, keeping room for the terminator (what vsnprintf would keep). */
static void put(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	size_t room = cap - 1 - *len;
	if (n > room)
		n = room;
	memcpy(buf + *len, s, n);
	*len += n;
}

static void put_num(char *buf, size_t cap, size_t *len, unsigned long long v, int neg,
		    unsigned base, unsigned width)
{
	char d[24];
	size_t i = sizeof d;
	do {
		d[--i] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (sizeof d - i < width && i > 1)
		d[--i] = '0';
	if (neg)
		d[--i] = '-';
	put(buf, cap, len, d + i, sizeof d - i);
}

/*
 * Messages are built per finding, often thousands per capture: the conversions the library
 * uses (%s %c %u %d %x %llu %lld, a zero-padded width, %%) are written here directly; any other
 * makes the whole call go through vsnprintf. Same bytes and the same truncation either way.
 */
size_t ftpi__buf_printf(char *buf, size_t cap, size_t len, const char *fmt, ...)
{
	va_list ap, ap2;
	size_t start = len;
	const char *f;

	if (len >= cap)
		return len;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	for (f = fmt; *f; f++) {
		const char *pct = strchr(f, '%');
		if (pct == NULL) {
			put(buf, cap, &len, f, strlen(f));
			break;
		}
		put(buf, cap, &len, f, (size_t)(pct - f));
		f = pct + 1;
		unsigned width = 0;
		int ll = 0;
		if (*f == '0')
			while (*f >= '0' && *f <= '9')
				width = width * 10 + (unsigned)(*f++ - '0');
		if (f[0] == 'l' && f[1] == 'l') {
			ll = 1;
			f += 2;
		}
		if (*f == 's' && !ll && !width) {
			const char *a = va_arg(ap, const char *);
			put(buf, cap, &len, a ? a : "(null)", strlen(a ? a : "(null)"));
		} else if (*f == 'c' && !ll && !width) {
			char c = (char)va_arg(ap, int);
			put(buf, cap, &len, &c, 1);
		} else if (*f == 'u' || *f == 'x') {
			unsigned long long v = ll ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned);
			put_num(buf, cap, &len, v, 0, *f == 'x' ? 16 : 10, width);
		} else if (*f == 'd' && !width) {
			long long v = ll ? va_arg(ap, long long) : va_arg(ap, int);
			put_num(buf, cap, &len, v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v,
				v < 0, 10, 0);
		} else if (*f == '%' && !ll && !width) {
			put(buf, cap, &len, "%", 1);
		} else {
			/* not ours: the C library does the whole call */
			int n = vsnprintf(buf + start, cap - start, fmt, ap2);
			va_end(ap);
			va_end(ap2);
			if (n < 0)
				return start;
			len = start + (size_t)n;
			return len >= cap ? cap - 1 : len;
		}
	}
	va_end(ap);
	va_end(ap2);
	buf[len] = '\0';
	return len;
}

size_t ftpi__buf_escape(char *buf, size_t cap, size_t len, const void *src, size_t n)
{
	if (len >= cap)
		return len;
	return len + ftpi_escape(buf + len, cap - len, (const char *)src, n);
}

size_t ftpi__buf_endpoint(char *buf, size_t cap, size_t len, const struct ftpi_endpoint *ep)
{
	char a[64];
	ftpi_addr_format(&ep->addr, a, sizeof a);
	if (ep->addr.family == 6)
		return ftpi__buf_printf(buf, cap, len, "[%s]:%u", a, ep->port);
	return ftpi__buf_printf(buf, cap, len, "%s:%u", a, ep->port);
}
