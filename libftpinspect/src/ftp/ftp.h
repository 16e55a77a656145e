/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ftp.h - the FTP stage's leaf parsers: the line framer (line.c), the command, reply and address
 * parsers (parse.c) and the FTP detector (detect.c). They take a narrow context (config,
 * counters, allocator), never the engine; the session state machine is in session.h.
 */
#ifndef FTPI_FTP_H
#define FTPI_FTP_H

#include "internal.h"

/* ---- line.c: resumable line framer (RFC 959 §4.1, Telnet NVT RFC 854) ---- */
struct ftpi_line {
	char *buf;        /* grows from 256 bytes up to max_line_len (pool SESSION) */
	uint32_t len;
	uint32_t cap;     /* bytes allocated at buf */
	uint8_t discard;  /* after an overlong line: drop bytes up to the next LF */
	uint8_t iac;      /* Telnet command parsing state */
	uint8_t resync;   /* after a gap: drop the partial line, restart at the next LF */
	uint8_t probe;    /* after a gap: the first bytes are held (up to FTPI__LINE_PROBE) until
	                   * the caller judges whether they start a line (it then clears resync
	                   * and the line goes on) or not (it clears probe: dropped up to the LF) */
	uint8_t unterminated; /* the overlong line being delivered ended without a line end */
	uint64_t over;    /* bytes of the overlong line being discarded (its full length once
	                   * delivered); read by the callback when truncated is set */
};

/* Bytes after a gap that the framer holds while its caller judges them: enough to tell a
 * verb and its space (5) or a reply code and its mark (4) from anything else. */
#define FTPI__LINE_PROBE 8

/* Called once per complete line, without its CR LF. truncated: the line was longer than the cap
 * (text holds the first max_line_len bytes; the line's full length is in l->over). An overlong
 * line is delivered once, at its end (LF, or ftpi__line_finish). Return non-zero to stop framing
 * this chunk. */
typedef int (*ftpi_line_cb)(void *ctx, const char *text, size_t len, int truncated);

/* Frames bytes; returns the number of bytes consumed (all, unless cb stopped early). Returns
 * (size_t)-1 when the buffer could not be allocated (bytes dropped, counted). */
size_t ftpi__line_feed(struct ftpi__ctx *cx, struct ftpi_line *l, const uint8_t *p, size_t n,
		       ftpi_line_cb cb, void *ctx);
void ftpi__line_gap(struct ftpi_line *l);
/* The stream ended or lost bytes: delivers an overlong line still being discarded (its length
 * so far, unterminated set). Call before ftpi__line_gap / release. */
void ftpi__line_finish(struct ftpi__ctx *cx, struct ftpi_line *l, ftpi_line_cb cb, void *ctx);
void ftpi__line_release(struct ftpi__ctx *cx, struct ftpi_line *l);

/* ---- parse.c ---- */
enum ftpi_verb {
	FTPI_CMD_UNKNOWN = 0,
#define FTPI_VERB_MAP(XX)                                                                          \
	XX(USER) XX(PASS) XX(ACCT) XX(CWD) XX(CDUP) XX(SMNT) XX(QUIT) XX(REIN) XX(PORT) XX(PASV)  \
	XX(TYPE) XX(STRU) XX(MODE) XX(RETR) XX(STOR) XX(STOU) XX(APPE) XX(ALLO) XX(REST) XX(RNFR) \
	XX(RNTO) XX(ABOR) XX(DELE) XX(RMD) XX(MKD) XX(PWD) XX(LIST) XX(NLST) XX(SITE) XX(SYST)    \
	XX(STAT) XX(HELP) XX(NOOP) XX(AUTH) XX(ADAT) XX(PBSZ) XX(PROT) XX(CCC) XX(MIC) XX(CONF)   \
	XX(ENC) XX(FEAT) XX(OPTS) XX(EPRT) XX(EPSV) XX(MLSD) XX(MLST) XX(SIZE) XX(MDTM) XX(HOST)  \
	XX(LPRT) XX(LPSV) XX(LANG) XX(CLNT) XX(XPWD) XX(XCWD) XX(XCUP) XX(XMKD) XX(XRMD) XX(MFMT) \
	XX(AVBL) XX(CSID) XX(DSIZ) XX(RMDA) XX(SPSV) XX(THMB) XX(XCRC) XX(XMD5) XX(XSHA1)
#define FTPI__VXX(v) FTPI_CMD_##v,
	FTPI_VERB_MAP(FTPI__VXX)
#undef FTPI__VXX
	FTPI_CMD__COUNT
};

/* Looks a verb up, case-insensitively; FTPI_CMD_UNKNOWN when it is not a known verb. */
int ftpi__verb_lookup(const char *p, size_t n);
const char *ftpi__verb_name(int verb);
/* 1 when the verb opens a data connection (LIST NLST MLSD RETR STOR STOU APPE). */
int ftpi__verb_is_transfer(int verb);

/* Splits a command line: verb = leading letters (up to a space), arg = the rest (one space
 * skipped). Returns 0 when the line has no plausible verb (1-5 alphanumerics). */
int ftpi__cmd_split(const char *line, size_t len, struct ftpi_span *verb, struct ftpi_span *arg);

/* Reply line: "ddd " (last line) or "ddd-" (first line of a multi-line reply) or "ddd" alone.
 * Returns 1 and sets code/cont/text, or 0 when the line does not start with a reply code. */
int ftpi__reply_parse(const char *line, size_t len, unsigned *code, int *cont,
		      struct ftpi_span *text);

/* Address announcements. Each returns 1 on success and fills ep (and for EPSV only the port:
 * ep->addr.family 0 means "the control connection's address"). */
int ftpi__parse_227(const char *text, size_t len, struct ftpi_endpoint *ep);
int ftpi__parse_229(const char *text, size_t len, struct ftpi_endpoint *ep);
int ftpi__parse_228(const char *text, size_t len, struct ftpi_endpoint *ep); /* LPSV reply */
int ftpi__parse_port(const char *arg, size_t len, struct ftpi_endpoint *ep);
int ftpi__parse_eprt(const char *arg, size_t len, struct ftpi_endpoint *ep);
int ftpi__parse_lprt(const char *arg, size_t len, struct ftpi_endpoint *ep);

/* ---- detect.c: does a stream speak FTP? (first bytes of each direction) ---- */
/* "ddd " or "ddd-" at the start. */
int ftpi__ftp_looks_like_reply(const uint8_t *p, size_t n);
/* A known verb of 3-5 letters followed by a space or a line end. */
int ftpi__ftp_looks_like_command(const uint8_t *p, size_t n);
/* After a gap: the bytes plainly start a line (a known verb, or a reply code). */
int ftpi__ftp_starts_line(int dir, const uint8_t *p, size_t n);

/* The bytes held from a connection picked up mid-stream, in arrival order: the directions take
 * turns, starting with `first`; turn[k] is how many bytes the direction speaking in turn k had
 * held when the other one spoke (n_turns of them; the last turn runs to len). */
struct ftpi_sniff_view {
	const uint8_t *buf[2]; /* [FTPI_DIR_TO_SERVER], [FTPI_DIR_TO_CLIENT] */
	size_t len[2];
	int first;
	const uint16_t *turn;
	size_t n_turns;
};
/* Evidence that only FTP gives, for a mid-stream connection on a port that is not FTP's: an FTP
 * verb answered (in arrival order) by a reply code that only FTP gives to it (USER 331, PASS
 * 230, RETR/LIST 150 or 226, REST/RNFR 350, SIZE/MDTM 213, PWD/MKD 257, AUTH 234, ...), or an
 * address announcement and its answer (PORT/EPRT that parse with 200, PASV/EPSV with a 227/229
 * that parses). 1: FTP; -1: not FTP (a line of a lone ".", which ends NNTP, POP3 and SMTP
 * bodies and never an FTP reply); 0: no evidence yet. */
int ftpi__ftp_midstream_evidence(const struct ftpi_sniff_view *v);

#endif /* FTPI_FTP_H */
