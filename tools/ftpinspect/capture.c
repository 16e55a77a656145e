/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * capture.c - the only unit of ftpinspect that talks to libpcap: savefiles (pcap and pcapng, or
 * standard input), live interfaces (promiscuous, block delivery, a bounded wait so the caller
 * can advance the engine's clock when the link is idle), BPF filters, capture statistics, the
 * savefile position for the progress line, gzip-compressed savefiles (through zlib, when built
 * with it), the interface list (-D), and the signal handlers, which only set a flag and
 * call pcap_breakloop(). It turns each pcap record into a struct ftpi_packet and knows nothing
 * of FTP.
 *
 * Live capture uses TPACKET_V3 block delivery (immediate mode off unless asked for): the kernel
 * hands over a block when it is full or after the 1 s read timeout, one wake-up per block
 * instead of one per packet, which is what keeps up with a busy link. The handle is
 * non-blocking and this unit waits in its own poll() with a bounded timeout, because libpcap
 * with TPACKET_V3 would otherwise block forever on a quiet link (the kernel retires no empty
 * block), and the caller's timers (idle expiry, -G, statistics) must fire anyway.
 *
 * A regular savefile is read through a 256 KiB stdio buffer, and ahead on a thread of this unit
 * when the process has a core to spare (see struct ra).
 */
#include <errno.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#ifdef FTPI_WITH_ZLIB
#include <zlib.h>
#endif

#include "cli.h"

/* The stdio buffer of a savefile: libpcap reads records through stdio, whose default buffer
 * (st_blksize, 4 KiB) costs a read() per 4 KiB; with 256 KiB reading a file costs a third
 * less (bench/results.md, "Per-core cost, seventh round"). */
#define CAP_FILE_BUFFER (256u << 10)

/* Read-ahead of a regular savefile: a thread of this unit read()s the file into a ring of
 * slots while libpcap parses, on the caller's thread, what it reads through a stdio cookie
 * stream over the ring (with the same 256 KiB buffer: glibc reads an unbuffered cookie stream
 * a byte at a time). The kernel's copy of the file, a good part of reading it, moves to the
 * other core; the bytes, hence the packets, the end (EOF, a record cut short, a read error and
 * its errno) and every message are those of reading the file directly. Only a regular file is
 * read ahead (a pipe's read() could block the thread that fclose() joins), and only when the
 * process may run on a core more than its busy threads (cap_set_read_ahead): with --workers 2
 * on two cores a third thread slows the run down (mix500: wall 0.34 -> 0.42 s).
 *
 * The ring: slots [head, tail) are published, the reading thread fills slot[tail] (never while
 * the ring is full), the stream's side holds slot[head] until it has copied it all; each side
 * sleeps only when it must (empty; full, until half is free) and is woken only then. */
#define RA_SLOTS 8
#define RA_SLOT_BYTES (256u << 10)

struct ra_slot {
	uint8_t *buf;
	size_t len; /* 0: the end of the file, or a read error (err) */
	int err;
};

struct ra {
	int fd;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t filled, emptied;
	unsigned head, tail; /* slots taken by the reader of the stream, slots published */
	int quit;	     /* the stream is closed: the reading thread stops */
	int reader_waits, consumer_waits; /* who sleeps (signalled only then) */
	int held;			  /* the stream's side holds slot[head] */
	size_t off;			  /* its next byte */
	long long pos;			  /* bytes handed to libpcap (the progress line) */
	struct ra_slot slot[RA_SLOTS];
};

struct cap {
	pcap_t *p;
	char *iobuf; /* the savefile's stdio buffer (freed after pcap_close()), or NULL */
	struct ra *ra; /* read-ahead (closed with the stream by pcap_close()), or NULL */
	int live;
	int linktype;
	long long size; /* regular savefile size, or -1 */
	cap_handler fn;
	void *user;
	int n;
	int fd;	    /* live: the selectable descriptor, or -1 */
	int down;   /* live: the interface went down and has not delivered a packet since */
	int wait_ms; /* live: longest wait in poll() */
	char iface[IF_NAMESIZE];
	int ctl; /* live: a socket for SIOCGIFFLAGS, or -1 */
#ifdef FTPI_WITH_ZLIB
	gzFile gz; /* a gzip-compressed savefile, read through a stdio cookie */
#endif
};

static volatile sig_atomic_t stop_flag;
static volatile sig_atomic_t usr1_flag;
static volatile sig_atomic_t hup_flag;
static pcap_t *volatile current;

static void on_signal(int sig)
{
	pcap_t *p = current;

	if (sig == SIGUSR1)
		usr1_flag = 1;
	else if (sig == SIGHUP)
		hup_flag = 1;
	else
		stop_flag = 1;
	if (p != NULL)
		pcap_breakloop(p);
}

void cap_signals_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	/* Restart interrupted writes to stdout; poll() in libpcap returns anyway and the handler's
	 * pcap_breakloop() wakes it. */
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed output pipe is an EPIPE write error that the caller handles (quietly). */
	signal(SIGPIPE, SIG_IGN);
}

void cap_signals_current(struct cap *c)
{
	current = c ? c->p : NULL;
}

int cap_stop_requested(void)
{
	return stop_flag != 0;
}

void cap_request_stop(void)
{
	stop_flag = 1;
}

int cap_fd(const struct cap *c)
{
	return pcap_fileno(c->p);
}

void cap_breakloop(struct cap *c)
{
	pcap_breakloop(c->p);
}

int cap_set_nonblock(struct cap *c)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	return pcap_setnonblock(c->p, 1, ebuf) == 0 ? 0 : -1;
}

int cap_take_usr1(void)
{
	if (!usr1_flag)
		return 0;
	usr1_flag = 0;
	return 1;
}

int cap_take_hup(void)
{
	if (!hup_flag)
		return 0;
	hup_flag = 0;
	return 1;
}

const char *cap_lib_version(void)
{
	return pcap_lib_version();
}

int cap_check_filter(const char *filter, uint32_t snaplen, char *err, size_t errlen)
{
	struct bpf_program prog;
	pcap_t *p = pcap_open_dead(DLT_EN10MB, (int)snaplen);

	if (p == NULL) {
		snprintf(err, errlen, "cannot create a pcap handle");
		return -1;
	}
	if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "%s", pcap_geterr(p));
		pcap_close(p);
		return -1;
	}
	pcap_freecode(&prog);
	pcap_close(p);
	return 0;
}

#ifdef FTPI_WITH_ZLIB
static ssize_t gz_cookie_read(void *cookie, char *buf, size_t size)
{
	unsigned n = size > (1u << 30) ? (1u << 30) : (unsigned)size;
	int r = gzread((gzFile)cookie, buf, n);
	return r < 0 ? -1 : (ssize_t)r;
}

static int gz_cookie_close(void *cookie)
{
	(void)cookie; /* gzclose() is called by cap_close(), which needs the offset until then */
	return 0;
}

/* A savefile that starts with the gzip magic is opened through zlib (like `zcat f | tcpdump -r
 * -`). Returns NULL (and no error) when the file is not gzip-compressed. */
static FILE *open_gz(struct cap *c, const char *path, char *err, size_t errlen)
{
	static const cookie_io_functions_t io = {gz_cookie_read, NULL, NULL, gz_cookie_close};
	unsigned char magic[2];
	FILE *f = fopen(path, "rb");
	FILE *cf;

	if (f == NULL)
		return NULL;
	if (fread(magic, 1, 2, f) != 2 || magic[0] != 0x1f || magic[1] != 0x8b) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	c->gz = gzopen(path, "rb");
	if (c->gz == NULL)
		return NULL;
	gzbuffer(c->gz, CAP_FILE_BUFFER); /* zlib's reads: 256 KiB, not 8 KiB, at a time */
	cf = fopencookie(c->gz, "rb", io);
	if (cf == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		gzclose(c->gz);
		c->gz = NULL;
		return NULL;
	}
	if (c->iobuf != NULL)
		setvbuf(cf, c->iobuf, _IOFBF, CAP_FILE_BUFFER);
	return cf;
}
#endif

/* The reading thread: fills free slots with read() until the end, an error or quit. */
static void *ra_main(void *arg)
{
	struct ra *ra = arg;

	for (;;) {
		pthread_mutex_lock(&ra->lock);
		if (ra->tail - ra->head == RA_SLOTS && !ra->quit) {
			/* full: sleep until half the ring is free, not one wake-up per slot */
			ra->reader_waits = 1;
			while (ra->tail - ra->head > RA_SLOTS / 2 && !ra->quit)
				pthread_cond_wait(&ra->emptied, &ra->lock);
			ra->reader_waits = 0;
		}
		int quit = ra->quit;
		pthread_mutex_unlock(&ra->lock);
		if (quit)
			return NULL;
		/* slot[tail] is this thread's until it is published */
		struct ra_slot *sl = &ra->slot[ra->tail % RA_SLOTS];
		ssize_t n;
		do
			n = read(ra->fd, sl->buf, RA_SLOT_BYTES);
		while (n < 0 && errno == EINTR);
		sl->len = n > 0 ? (size_t)n : 0;
		sl->err = n < 0 ? errno : 0;
		pthread_mutex_lock(&ra->lock);
		ra->tail++;
		if (ra->consumer_waits)
			pthread_cond_signal(&ra->filled);
		pthread_mutex_unlock(&ra->lock);
		if (n <= 0)
			return NULL; /* the end (or an error) stays published */
	}
}

/* The stream's read: bytes from the slots, in order. 0 at the end; -1 with the read's errno. */
static ssize_t ra_read(void *cookie, char *buf, size_t size)
{
	struct ra *ra = cookie;
	size_t got = 0;

	while (got < size) {
		if (!ra->held || ra->off == ra->slot[ra->head % RA_SLOTS].len) {
			pthread_mutex_lock(&ra->lock);
			if (ra->held && ra->slot[ra->head % RA_SLOTS].len > 0) {
				/* done with it: back to the reading thread */
				ra->head++;
				ra->held = 0;
				if (ra->reader_waits && ra->tail - ra->head <= RA_SLOTS / 2)
					pthread_cond_signal(&ra->emptied);
			}
			if (ra->head == ra->tail) {
				ra->consumer_waits = 1;
				while (ra->head == ra->tail)
					pthread_cond_wait(&ra->filled, &ra->lock);
				ra->consumer_waits = 0;
			}
			pthread_mutex_unlock(&ra->lock);
			ra->held = 1;
			ra->off = 0;
			const struct ra_slot *sl = &ra->slot[ra->head % RA_SLOTS];
			if (sl->len == 0) { /* the end, kept for every later read */
				if (sl->err != 0 && got == 0) {
					errno = sl->err;
					return -1;
				}
				break;
			}
		}
		const struct ra_slot *sl = &ra->slot[ra->head % RA_SLOTS];
		size_t k = size - got < sl->len - ra->off ? size - got : sl->len - ra->off;
		memcpy(buf + got, sl->buf + ra->off, k);
		ra->off += k;
		got += k;
	}
	ra->pos += (long long)got;
	return (ssize_t)got;
}

static void ra_free(struct ra *ra)
{
	for (unsigned i = 0; i < RA_SLOTS; i++)
		free(ra->slot[i].buf);
	free(ra);
}

/* Destroys the lock and conditions, closes the file, frees the ring (no thread running). */
static void ra_teardown(struct ra *ra)
{
	pthread_mutex_destroy(&ra->lock);
	pthread_cond_destroy(&ra->filled);
	pthread_cond_destroy(&ra->emptied);
	close(ra->fd);
	ra_free(ra);
}

/* Stops and joins the reading thread, then tears down. */
static void ra_stop(struct ra *ra)
{
	pthread_mutex_lock(&ra->lock);
	ra->quit = 1;
	pthread_cond_signal(&ra->emptied);
	pthread_mutex_unlock(&ra->lock);
	pthread_join(ra->th, NULL);
	ra_teardown(ra);
}

/* fclose() of the stream (pcap_close()). */
static int ra_close(void *cookie)
{
	ra_stop(cookie);
	return 0;
}

static unsigned ra_busy = 1; /* threads already busy (0: --no-read-ahead) */

void cap_set_read_ahead(unsigned busy_threads)
{
	ra_busy = busy_threads;
}

/* Whether this process may run on a core more than its busy threads. */
static int spare_core(void)
{
	return ra_busy > 0 && cli_cores() > ra_busy;
}

/* A stream over regular file f read ahead (f is then closed), or NULL: f is read directly. */
static FILE *open_ahead(struct cap *c, FILE *f)
{
	static const cookie_io_functions_t io = {ra_read, NULL, NULL, ra_close};
	struct stat st;
	struct ra *ra;
	sigset_t all, old;
	FILE *cf;
	int rc;

	if (!spare_core() || fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	ra = calloc(1, sizeof *ra);
	if (ra == NULL)
		return NULL;
	for (unsigned i = 0; i < RA_SLOTS; i++) {
		if ((ra->slot[i].buf = malloc(RA_SLOT_BYTES)) == NULL) {
			ra_free(ra);
			return NULL;
		}
	}
	/* the file from where stdio is: at its start, nothing read through f yet */
	ra->fd = dup(fileno(f));
	if (ra->fd < 0) {
		ra_free(ra);
		return NULL;
	}
	pthread_mutex_init(&ra->lock, NULL);
	pthread_cond_init(&ra->filled, NULL);
	pthread_cond_init(&ra->emptied, NULL);
	/* signals stay with the caller's thread (their handlers break its reads) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&ra->th, NULL, ra_main, ra);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		ra_teardown(ra);
		return NULL;
	}
	cf = fopencookie(ra, "rb", io);
	if (cf == NULL) {
		ra_stop(ra);
		return NULL;
	}
	if (c->iobuf != NULL)
		setvbuf(cf, c->iobuf, _IOFBF, CAP_FILE_BUFFER);
	c->ra = ra;
	fclose(f);
	return cf;
}

/* A savefile through stdio with a large buffer (what pcap_open_offline() does, but with its
 * 4 KiB buffer), read ahead when it can be: NULL with a reason in err. */
static pcap_t *open_plain(struct cap *c, const char *path, char *ebuf, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	FILE *ahead;
	pcap_t *p;

	if (f == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return NULL;
	}
	ahead = open_ahead(c, f);
	if (ahead != NULL) {
		f = ahead;
	} else if (c->iobuf != NULL) {
		setvbuf(f, c->iobuf, _IOFBF, CAP_FILE_BUFFER);
	}
	p = pcap_fopen_offline(f, ebuf);
	if (p == NULL) {
		fclose(f);
		c->ra = NULL;
	}
	return p;
}

struct cap *cap_open_file(const char *path, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct cap *c = calloc(1, sizeof *c);
	struct stat stb;
	int std_in = strcmp(path, "-") == 0;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ebuf[0] = '\0';
	err[0] = '\0';
	if (!std_in)
		c->iobuf = malloc(CAP_FILE_BUFFER); /* without it, stdio's own */
#ifdef FTPI_WITH_ZLIB
	if (!std_in) {
		FILE *gzf = open_gz(c, path, err, errlen);
		if (gzf != NULL) {
			c->p = pcap_fopen_offline(gzf, ebuf);
			if (c->p == NULL) {
				fclose(gzf);
				gzclose(c->gz);
				c->gz = NULL;
			}
		} else if (err[0] != '\0') {
			free(c->iobuf);
			free(c);
			return NULL;
		}
	}
	if (c->p == NULL && c->gz == NULL && ebuf[0] == '\0')
		c->p = std_in ? pcap_open_offline(path, ebuf) : open_plain(c, path, ebuf, err, errlen);
#else
	c->p = std_in ? pcap_open_offline(path, ebuf) : open_plain(c, path, ebuf, err, errlen);
#endif
	if (c->p == NULL && err[0] != '\0') {
		free(c->iobuf);
		free(c);
		return NULL;
	}
	if (c->p == NULL) {
		/* libpcap's message often starts with the path; the caller prints it already. */
		size_t pl = strlen(path);
		const char *msg = ebuf[0] ? ebuf : "cannot open";
		if (strncmp(msg, path, pl) == 0 && msg[pl] == ':' && msg[pl + 1] == ' ')
			msg += pl + 2;
		snprintf(err, errlen, "%s", msg);
		free(c->iobuf);
		free(c);
		return NULL;
	}
	c->linktype = pcap_datalink(c->p);
	c->size = -1;
	c->fd = -1;
	c->ctl = -1;
	if (!std_in && stat(path, &stb) == 0 && S_ISREG(stb.st_mode))
		c->size = (long long)stb.st_size;
	return c;
}

struct cap *cap_open_live(const char *iface, uint32_t snaplen, uint32_t buffer_kib, int immediate,
			  char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	struct cap *c = calloc(1, sizeof *c);
	int rc;

	if (c == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ebuf[0] = '\0';
	c->p = pcap_create(iface, ebuf);
	if (c->p == NULL) {
		snprintf(err, errlen, "%s", ebuf);
		free(c);
		return NULL;
	}
	c->live = 1;
	c->size = -1;
	snprintf(c->iface, sizeof c->iface, "%s", iface);
	pcap_set_snaplen(c->p, (int)snaplen);
	pcap_set_promisc(c->p, 1);
	pcap_set_timeout(c->p, CAP_READ_TIMEOUT_MS);
	pcap_set_immediate_mode(c->p, immediate ? 1 : 0);
	if (buffer_kib == 0)
		buffer_kib = CAP_DEFAULT_BUFFER_KIB;
	pcap_set_buffer_size(c->p, (int)buffer_kib * 1024);
	rc = pcap_activate(c->p);
	if (rc < 0) {
		const char *why = pcap_statustostr(rc);
		const char *detail = pcap_geterr(c->p);
		if ((rc == PCAP_ERROR && detail && *detail) || (detail && strcmp(detail, why) == 0))
			snprintf(err, errlen, "%s", detail);
		else if (detail && *detail)
			snprintf(err, errlen, "%s (%s)", why, detail);
		else
			snprintf(err, errlen, "%s", why);
		pcap_close(c->p);
		free(c);
		return NULL;
	}
	if (rc > 0)
		fprintf(stderr, "ftpinspect: %s: warning: %s\n", iface, pcap_statustostr(rc));
	c->linktype = pcap_datalink(c->p);
	c->wait_ms = CAP_READ_TIMEOUT_MS;
	c->ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	c->fd = pcap_get_selectable_fd(c->p);
	if (c->fd >= 0 && pcap_setnonblock(c->p, 1, ebuf) != 0)
		c->fd = -1; /* blocking reads then, bounded by the read timeout as before */
	return c;
}

int cap_set_filter(struct cap *c, const char *filter, char *err, size_t errlen)
{
	struct bpf_program prog;

	if (pcap_compile(c->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen, "%s", pcap_geterr(c->p));
		return -1;
	}
	if (pcap_setfilter(c->p, &prog) != 0) {
		snprintf(err, errlen, "%s", pcap_geterr(c->p));
		pcap_freecode(&prog);
		return -1;
	}
	pcap_freecode(&prog);
	return 0;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct cap *c = (struct cap *)user;
	struct ftpi_packet pkt;

	/* pcap stores seconds as unsigned 32 bits: past 2038 libpcap hands back a negative time_t */
	pkt.ts_us = (uint64_t)(uint32_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
	pkt.linktype = c->linktype;
	pkt.caplen = h->caplen;
	pkt.wirelen = h->len;
	pkt.data = bytes;
	c->n++;
	c->fn(c->user, &pkt);
}

/* Waits up to ms for the live handle to become readable: 1 readable, 0 timeout or signal. */
static int wait_readable(struct cap *c, int ms)
{
	struct pollfd pfd;

	if (c->fd < 0)
		return 1;
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, ms) > 0;
}

static int dispatch_once(struct cap *c, int max)
{
	return pcap_dispatch(c->p, max, on_packet, (u_char *)c);
}

/* Whether the live interface is up with a carrier (1), down (0); 1 when it cannot be told
 * ("any", or no socket). libpcap 1.10 hides a downed interface: reads just time out. */
static int link_up(struct cap *c)
{
	struct ifreq ifr;

	if (c->ctl < 0 || strcmp(c->iface, "any") == 0)
		return 1;
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, c->iface, sizeof ifr.ifr_name);
	if (ioctl(c->ctl, SIOCGIFFLAGS, &ifr) != 0)
		return 1;
	return (ifr.ifr_flags & IFF_UP) && (ifr.ifr_flags & IFF_RUNNING);
}

int cap_dispatch(struct cap *c, int max, cap_handler fn, void *user, int *n_read)
{
	int rc;

	c->fn = fn;
	c->user = user;
	c->n = 0;
	rc = dispatch_once(c, max);
	if (rc == 0 && c->live && c->fd >= 0 && !stop_flag && wait_readable(c, c->wait_ms))
		rc = dispatch_once(c, max);
	*n_read = c->n;
	if (c->n > 0 && c->down) {
		c->down = 0;
		return CAP_UP;
	}
	if (rc == PCAP_ERROR_BREAK)
		return CAP_BREAK;
	if (rc < 0) {
		/* Down but still there: the packet socket stays bound and delivers again once the
		 * interface is up. Wait (no spinning on a repeated error), then keep reading. */
		if (c->live && if_nametoindex(c->iface) != 0) {
			int was_down = c->down;
			c->down = 1;
			poll(NULL, 0, c->wait_ms);
			return was_down ? CAP_IDLE : CAP_DOWN;
		}
		return CAP_ERROR;
	}
	if (rc == 0 && c->n == 0) {
		if (!c->live)
			return CAP_EOF;
		if (link_up(c) == c->down) { /* the state changed */
			c->down = !c->down;
			return c->down ? CAP_DOWN : CAP_UP;
		}
		return CAP_IDLE;
	}
	return CAP_PACKETS;
}

int cap_drain(struct cap *c, int max_ms, cap_handler fn, void *user, uint64_t *n_read)
{
	struct timespec t0, now;
	int rc;

	*n_read = 0;
	if (!c->live)
		return 0;
	c->fn = fn;
	c->user = user;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left;
		c->n = 0;
		rc = dispatch_once(c, -1);
		*n_read += (uint64_t)c->n;
		if (rc == PCAP_ERROR_BREAK)
			continue; /* the signal that asked for the drain */
		if (rc < 0)
			return -1;
		if (rc > 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = max_ms - ((now.tv_sec - t0.tv_sec) * 1000L +
				 (now.tv_nsec - t0.tv_nsec) / 1000000L);
		/* The block the kernel is filling is handed over at the latest after the read
		 * timeout; in immediate mode there is none. */
		if (left <= 0 || c->fd < 0 || !wait_readable(c, (int)left))
			return 0;
	}
}

int cap_list_interfaces(FILE *f, char *err, size_t errlen)
{
	char ebuf[PCAP_ERRBUF_SIZE];
	pcap_if_t *all = NULL;
	int i = 0;

	ebuf[0] = '\0';
	if (pcap_findalldevs(&all, ebuf) != 0) {
		snprintf(err, errlen, "%s", ebuf);
		return -1;
	}
	for (pcap_if_t *d = all; d != NULL; d = d->next) {
		bpf_u_int32 st = d->flags & PCAP_IF_CONNECTION_STATUS;
		const char *conn = st == PCAP_IF_CONNECTION_STATUS_CONNECTED	   ? ", Connected"
				   : st == PCAP_IF_CONNECTION_STATUS_DISCONNECTED ? ", Disconnected"
										   : "";
		fprintf(f, "%d.%s", ++i, d->name);
		if (d->description != NULL)
			fprintf(f, " (%s)", d->description);
		fprintf(f, " [%s%s%s%s%s]\n", d->flags & PCAP_IF_LOOPBACK ? "Loopback, " : "",
			d->flags & PCAP_IF_WIRELESS ? "Wireless, " : "",
			d->flags & PCAP_IF_UP ? "Up" : "Down",
			d->flags & PCAP_IF_RUNNING ? ", Running" : "",
			st == PCAP_IF_CONNECTION_STATUS_NOT_APPLICABLE ? ", Not applicable" : conn);
	}
	pcap_freealldevs(all);
	if (i == 0) {
		snprintf(err, errlen, "no interfaces found (capturing may need root)");
		return -1;
	}
	return 0;
}

const char *cap_error(struct cap *c)
{
	return pcap_geterr(c->p);
}

int cap_get_stats(struct cap *c, struct cap_stats *out)
{
	struct pcap_stat ps;

	memset(out, 0, sizeof *out);
	if (!c->live || pcap_stats(c->p, &ps) != 0)
		return -1;
	out->valid = 1;
	out->received = ps.ps_recv;
	out->dropped = ps.ps_drop;
	out->ifdropped = ps.ps_ifdrop;
	return 0;
}

int cap_is_live(const struct cap *c)
{
	return c->live;
}

int cap_linktype(const struct cap *c)
{
	return c->linktype;
}

long long cap_file_pos(struct cap *c)
{
	FILE *f;
	if (c->live || c->size < 0)
		return -1;
	if (c->ra != NULL)
		return c->ra->pos; /* the stream has no position of its own */
#ifdef FTPI_WITH_ZLIB
	if (c->gz != NULL)
		return (long long)gzoffset(c->gz); /* compressed bytes, like the size */
#endif
	f = pcap_file(c->p);
	return f ? (long long)ftell(f) : -1;
}

long long cap_file_size(struct cap *c)
{
	return c->size;
}

void cap_close(struct cap *c)
{
	if (c == NULL)
		return;
	if (current == c->p)
		current = NULL;
	if (c->ctl >= 0)
		close(c->ctl);
	pcap_close(c->p); /* closes the savefile's stream (read-ahead too): its buffer goes after */
	c->ra = NULL;
#ifdef FTPI_WITH_ZLIB
	if (c->gz != NULL)
		gzclose(c->gz);
#endif
	free(c->iobuf);
	free(c);
}
