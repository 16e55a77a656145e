/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * share_int.h - private to the Redis side's files (share.c, share_url.c, share_wire.c,
 * share_io.c): the parsed URL, the requests engines queue for the I/O thread, the answer rings,
 * the share object itself, the sizes these files agree on and the functions they share
 * (ftpi__sh_ names). Nothing outside them includes it; the stage's interface is share.h.
 */
#ifndef FTPI_SHARE_INT_H
#define FTPI_SHARE_INT_H

#include "share.h"

/* URL: redis://[USER:PASS@]HOST:PORT[/DB or /STREAM]; rediss:// for TLS, whose query may name
 * its files and checks with redis-py's names: ?ssl_ca_certs=FILE&ssl_certfile=FILE&
 * ssl_keyfile=FILE&ssl_cert_reqs=required|optional|none&ssl_check_hostname=true|false (values
 * percent-decoded). Without ssl_ca_certs the system's CA store verifies the server. */
struct sh_url {
	int tls, verify, check_host;
	char user[64], pass[128], host[128], path[128];
	char ca[256], cert[256], key[256];
	int port;
};

/* The URL into u (zeroed first): 0, or -1 when it is not one (share_url.c). */
int ftpi__sh_url_parse(const char *url, struct sh_url *u);
/* A sensor name: 1..48 bytes of [A-Za-z0-9._-]. */
int ftpi__sh_sensor_ok(const char *s);

#ifdef FTPI_WITH_REDIS
#include <pthread.h>
#include <stdatomic.h>

#include <hiredis/hiredis.h>

enum { R_NONE = 0, R_PUB, R_UPD, R_LOOKUP, R_CHECK, R_XFER, R_NOTE, R_XADD };

struct req {
	uint8_t type;
	uint16_t me;
	uint32_t ticket;
	uint32_t seq; /* PUB, UPD: the entry's sequence number (unique in this share) */
	char key[FTPI__SH_KEY];
	char field[16];
	struct ftpi__sx_pub p;      /* PUB */
	struct ftpi_xfer x;         /* PUB, UPD */
	uint8_t has_x, matched;
	uint64_t firm_us, gone_us;  /* UPD */
	struct ftpi_endpoint cli, srv; /* LOOKUP */
	uint64_t now_us, max_age_us;    /* LOOKUP; CHECK: now_us = when the expectation ended */
	uint8_t final;                  /* LOOKUP, CHECK: decide now, whatever others' progress */
	char *line;                 /* XADD */
	size_t len;
};

struct aring {
	pthread_mutex_t lock;
	struct ftpi__sh_answer *a;
	uint32_t head, n;
	_Atomic uint32_t outstanding; /* requests sent whose answer was not taken */
	_Atomic uint32_t ready;       /* answers waiting in the ring */
};

struct ftpi__share {
	struct sh_url url;
	char disp[300];
	char sensor[FTPI__SH_SENSOR];
	uint64_t wait_us, timeout_expect, io_timeout_us, stream_maxlen;
	uint32_t max_pending, qcap;
	unsigned engines;
	struct req *q;
	struct req *batch; /* the I/O thread's (FTPI__SH_BATCH) */
	uint32_t qhead, qn;
	size_t qbytes, qbytes_cap;
	int busy; /* the thread is working on a request taken from the ring */
	int kick; /* an engine waits for what is queued: send it now */
	uint64_t first_at; /* wall clock the ring last became non-empty */
	pthread_mutex_t lock;
	pthread_cond_t cv, idle;
	int stop;
	pthread_t thr;
	int started;
	struct aring *ar;
	_Atomic uint64_t *progress; /* per engine: everything before it is decided */
	uint64_t wm_sent, wm_sent_at;
	uint64_t prog_read_at;         /* wall clock the progress hash was last read */
	_Atomic uint32_t others;       /* other sensors in it then */
	_Atomic uint64_t watch_until;  /* engines hold "alone" answers until then (share_watch) */
	struct ftpi__rconn *c;
	char *ob; /* the pipeline being written (FTPI__SH_OB_CAP bytes), handed over at once */
	size_t obn;
	char pub_sha[41], lookup_sha[41], verdict_sha[41]; /* the scripts, loaded at each connect */
	uint64_t next_try_us, backoff_us;
	int ever_connected;
	char last_error[400];
	_Atomic uint32_t seq;
	_Atomic uint64_t connected, errors, reconnects, published, lookups, claims, claim_lost,
		pending_dropped, queue_full, withheld, remote_claimed, stream_events, stream_dropped;
};

#define FTPI__SH_OB_CAP (256u << 10) /* the pipeline's buffer (share_wire.c) */

/* queued writes that wake the I/O thread (else its 20 ms timeout does) */
#define FTPI__SH_WAKE_AT 256
/* requests taken from the ring at once: their writes go in one pipeline */
#define FTPI__SH_BATCH 512
/* µs the oldest queued request waits for a batch to fill */
#define FTPI__SH_BATCH_WAIT 20000u

/* ---- share_wire.c: keys, values, the pipeline's bytes ---- */
size_t ftpi__sh_tag_of(const struct ftpi_addr *a, char *buf);
void ftpi__sh_addr_text(const struct ftpi_addr *a, char *buf, size_t n);
int ftpi__sh_addr_parse(const char *s, size_t len, struct ftpi_addr *a);
uint64_t ftpi__sh_num(const char *s, size_t len);
uint64_t ftpi__sh_ttl_s(const struct ftpi__share *sh);
size_t ftpi__sh_u64_text(char *b, uint64_t v);
void ftpi__sh_parse_entry(const redisReply *h, struct ftpi__sh_answer *a, int *matched,
			  uint64_t *gone_us);
void ftpi__sh_idx_key(char *buf, const char *tag, size_t tl, uint16_t port);
void ftpi__sh_ob_send(struct ftpi__share *sh);
void ftpi__sh_ob_cmd(struct ftpi__share *sh, const char *a0, const char *a1, const char *a2,
		     const char *a3, const char *a4, const char *a5);
void ftpi__sh_app3(struct ftpi__share *sh, const char *c, const char *a, const char *b);
/* A request's commands written into the pipeline: how many (each has a reply). */
int ftpi__sh_app_pub(struct ftpi__share *sh, const struct req *q);
int ftpi__sh_app_upd(struct ftpi__share *sh, const struct req *q);
int ftpi__sh_app_note(struct ftpi__share *sh, const struct req *q);
int ftpi__sh_app_xadd(struct ftpi__share *sh, const struct req *q);

/* ---- share_io.c: the I/O thread ---- */
void ftpi__sh_merge_upd(struct req *t, uint64_t firm_us, int matched,
			const struct ftpi_xfer *x, uint64_t gone_us);
/* The thread's function (arg: the share), until stop is set and the ring is empty. */
void *ftpi__sh_io_main(void *arg);
#endif /* FTPI_WITH_REDIS */

#endif /* FTPI_SHARE_INT_H */
