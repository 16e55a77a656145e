/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dconn.c - a data connection's life up to its data event: its first bytes (TLS or clear, the
 * ClientHello that proves a resumed TLS session), the transfer command it carries, the final
 * reply it waits for, and attempts that never became a connection. Data connections are never
 * buffered: only their first bytes are looked at, and with file_hashes the payload is hashed as
 * it streams (core/fhash.c), its first bytes kept for typing.
 */
#include "expect.h"

#include "expect_int.h"

#define DCONN_WAIT_US (60ull * 1000000) /* a closed data connection waits this long for its reply */
#define DCONN_TLS_BYTES 16384            /* bytes of a data connection read for its ClientHello */
#define DCONN_WAIT_MAX 32 /* closed data connections held per session for their reply */

uint64_t ftpi__dconn_session_id(const struct ftpi_dconn *d)
{
	return d == NULL ? 0 : d->s ? d->s->id : d->sid;
}

/* The data channel's handshake is reviewed like the control channel's: weak versions and
 * suites raise the same findings (once per session). */
static void review_tls(struct ftpi__expect_tab *xt, struct ftpi_dconn *d)
{
	d->tls_version = d->tlsp->version;
	d->tls_cipher = d->tlsp->cipher;
	if (d->s != NULL)
		ftpi__tlsreview_weak(xt->cx, xt->ftp->tlsr, &d->s->fs, d->tlsp, &d->cli, &d->srv,
				     " on a data connection");
}

int ftpi__dconn_data(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, struct ftpi_flow *f,
		     int dir, const uint8_t *p, size_t n)
{
	uint8_t had = d->first_len[dir]; /* bytes of this direction kept from earlier chunks */
	if (d->first_len[dir] < sizeof d->first[dir]) {
		size_t k = FTPI__MIN(n, sizeof d->first[dir] - d->first_len[dir]);
		memcpy(d->first[dir] + d->first_len[dir], p, k);
		d->first_len[dir] = (uint8_t)(d->first_len[dir] + k);
	}
	if (!d->tls_checked) {
		/* The first payload of either side decides: a TLS handshake record or not. */
		const uint8_t *q = d->first[dir];
		if (d->first_len[dir] >= 3) {
			d->tls_checked = 1;
			d->tls = q[0] == 0x16 && q[1] == 0x03 && q[2] <= 0x04;
			if (!d->tls && d->s && !d->clear_reported) {
				d->clear_reported = 1;
				ftpi__session_cleartext_data(xt->ftp, d->s, "data connection payload is "
								      "not TLS");
			} else if (!d->tls && d->sref) { /* the owner says it, as of this packet */
				ftpi__store_note_clear(xt->store, d->sref, xt->cx->now_us,
						       xt->cx->frame);
			} else if (!d->tls && d->sh) {
				ftpi__share_note(xt->share, d->sh->key, "clear");
			}
			if (d->tls && d->tlsp == NULL && ((d->s && d->s->tlsp) || d->tls_session)) {
				d->tlsp = ftpi__alloc(xt->cx, FTPI__POOL_TLS, sizeof *d->tlsp);
				if (d->tlsp)
					ftpi__tls_init(d->tlsp);
			}
		}
	}
	if (xt->cx->cfg.file_hashes != 0 && !d->fh_done) {
		d->fh_done = 1;
		d->fh = ftpi__fhash_new(xt->cx, xt->cx->cfg.file_hashes);
	}
	if (d->fh != NULL && d->tls_checked && d->tls) {
		/* TLS: the payload is ciphertext, no file to hash */
		ftpi__fhash_free(xt->cx, d->fh);
		d->fh = NULL;
	}
	ftpi__fhash_update(d->fh, dir, p, n);
	int more = 0;
	if (d->tls && d->tlsp) {
		int tdir = dir == FTPI_DIR_TO_SERVER ? (d->active ? 1 : 0) : (d->active ? 0 : 1);
		if (!d->tls_fed[dir] && had)
			/* the record began in earlier chunks, kept while the check waited for 3 bytes */
			ftpi__tls_feed(xt->cx, d->tlsp, tdir, d->first[dir], had);
		d->tls_fed[dir] = 1;
		more = ftpi__tls_feed(xt->cx, d->tlsp, tdir, p, n);
		if (d->tlsp->seen_client_hello && d->s)
			d->link = (uint8_t)ftpi__tlsreview_link(d->s->tlsp, &d->s->last_psk_hash,
								d->tlsp, d->link);
		if (d->tlsp->seen_server_hello && !d->tls_version)
			review_tls(xt, d);
		if (f->half[0].bytes + f->half[1].bytes > DCONN_TLS_BYTES)
			more = 0;
	}
	if (!more && d->tls_checked && d->first_len[0] + d->first_len[1] > 0 && d->fh == NULL) {
		/* nothing more to learn: count only from here */
		if (d->tlsp) {
			ftpi__tls_release(xt->cx, d->tlsp);
			ftpi__free(xt->cx, FTPI__POOL_TLS, d->tlsp, sizeof *d->tlsp);
			d->tlsp = NULL;
		}
		return FTPI_REASM_DROP | FTPI_REASM_UNWANT;
	}
	return FTPI_REASM_MORE;
}

void ftpi__dconn_gap(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, int dir)
{
	(void)xt;
	ftpi__fhash_gap(d->fh, dir);
}

static void dconn_emit(struct ftpi__expect_tab *xt, struct ftpi_dconn *d)
{
	struct ftpi_event ev;
	struct ftpi__tls_namebufs nb;
	struct ftpi__tls_names *names = &xt->ftp->tlsr->names;
	if (d->emitted)
		return;
	d->emitted = 1;
	memset(&ev, 0, sizeof ev);
	ev.type = FTPI_EV_DATA;
	ev.session_id = d->s ? d->s->id : d->sid;
	ev.stream_id = d->stream_id;
	ev.client = d->cli;
	if (d->sref) { /* the transfer as the owner of the session last published it */
		struct ftpi_xfer x;
		ftpi__store_read_xfer(xt->store, d->sref, &x);
		if (x.state) {
			d->xfer = x;
			d->has_xfer = 1;
		}
	}
	ev.server = d->srv;
	struct ftpi_data_info *di = &ev.u.data;
	di->link = d->link;
	di->announced_by = d->announce;
	di->active = d->active;
	if (d->has_xfer) {
		const char *vn = ftpi__verb_name(d->xfer.verb);
		di->command.ptr = vn;
		di->command.len = strlen(vn);
		di->file.ptr = d->xfer.file;
		di->file.len = d->xfer.file_len;
		di->status = d->xfer.status;
	}
	di->bytes_to_server = d->bytes_to_server;
	di->bytes_to_client = d->bytes_to_client;
	di->tls = d->tls;
	di->start_us = d->start_us;
	di->end_us = d->end_us;
	di->nat_used = d->nat_used;
	di->announce_frame = d->announce_frame;
	di->tls_version = d->tls_version;
	di->tls_cipher = d->tls_cipher;
	if (d->tls_version) {
		di->tls_version_name = ftpi__tls_version_name(names, d->tls_version, nb.version);
		di->tls_cipher_name = ftpi__tls_cipher_name(names, d->tls_cipher, nb.cipher);
	}
	di->hash_dir = -1;
	ftpi__fhash_final(d->fh, di);
	if (d->sh && d->sh->sensor[0]) {
		di->control_sensor.ptr = d->sh->sensor;
		di->control_sensor.len = strlen(d->sh->sensor);
	}
	ev.ts_us = d->end_us ? d->end_us : xt->cx->now_us;
	ev.frame = 0;
	ftpi__emit(xt->cx, &ev);
}

static void dconn_free(struct ftpi__expect_tab *xt, struct ftpi_dconn *d)
{
	if (d->s) {
		struct ftpi_dconn **pp = &d->s->dconns;
		while (*pp && *pp != d)
			pp = &(*pp)->snext;
		if (*pp)
			*pp = d->snext;
	}
	if (d->flow) {
		d->flow->app = NULL;
		d->flow = NULL;
	}
	if (d->tlsp) {
		ftpi__tls_release(xt->cx, d->tlsp);
		ftpi__free(xt->cx, FTPI__POOL_TLS, d->tlsp, sizeof *d->tlsp);
	}
	ftpi__fhash_free(xt->cx, d->fh);
	d->fh = NULL;
	if ((d->sref || d->sh_pending || d->sh) && !d->answered)
		xt->remote_open--;
	if (d->sref)
		ftpi__store_claim_release(xt->store, d->sref);
	if (d->shslot)
		ftpi__shslot_free(xt, d->shslot);
	ftpi__free(xt->cx, FTPI__POOL_SESSION, d->sh, sizeof *d->sh);
	ftpi__free(xt->cx, FTPI__POOL_SESSION, d, sizeof *d);
}

/* The sessions that may hold closed data connections waiting for their final reply: the timer
 * looks at these, not at every session. A session joins when one of its connections starts
 * waiting, and leaves when the timer finds none waiting or when it ends. */
static void waiting_link(struct ftpi__expect_tab *xt, struct ftpi_session *s)
{
	if (s->wlisted || s->ended) /* an ended session is being freed */
		return;
	s->wprev = NULL;
	s->wnext = xt->waiting;
	if (xt->waiting)
		xt->waiting->wprev = s;
	xt->waiting = s;
	s->wlisted = 1;
}

static void waiting_unlink(struct ftpi__expect_tab *xt, struct ftpi_session *s)
{
	if (!s->wlisted)
		return;
	if (s->wprev)
		s->wprev->wnext = s->wnext;
	else
		xt->waiting = s->wnext;
	if (s->wnext)
		s->wnext->wprev = s->wprev;
	s->wprev = s->wnext = NULL;
	s->wlisted = 0;
}

void ftpi__dconn_detach(struct ftpi__expect_tab *xt, struct ftpi_dconn *d)
{
	d->flow = NULL;
	if (d->s == NULL) /* no session owns it */
		dconn_free(xt, d);
}

void ftpi__dconn_release_all(struct ftpi__expect_tab *xt, struct ftpi_session *s)
{
	waiting_unlink(xt, s);
	while (s->dconns) {
		struct ftpi_dconn *d = s->dconns;
		s->dconns = d->snext;
		d->s = NULL;
		d->flow = NULL;
		dconn_free(xt, d);
	}
}

/* A claimed connection: ready once the owner, this far in capture time, has its final reply
 * or has let go of the expectation. */
static int remote_ready(struct ftpi__expect_tab *xt, const struct ftpi_dconn *d)
{
	struct ftpi_xfer x;
	ftpi__store_wait(xt->store, xt->me, xt->cx->in_flush ? UINT64_MAX : xt->cx->now_us);
	memset(&x, 0, sizeof x);
	if (ftpi__store_read_xfer(xt->store, d->sref, &x))
		return 1;
	return x.state == 3 || (x.state && x.status != FTPI_DATA_UNKNOWN);
}

static int dconn_ready(struct ftpi__expect_tab *xt, const struct ftpi_dconn *d)
{
	if (!d->closed)
		return 0;
	if (d->sref)
		return remote_ready(xt, d);
	if (d->s == NULL || d->s->ended || FTPI__UNREADABLE(d->s))
		return 1;
	if (!d->has_xfer)
		return 0;
	return d->xfer.state == 3 || d->xfer.status != FTPI_DATA_UNKNOWN;
}

static int remote_never_at_end(struct ftpi__expect_tab *xt, struct ftpi_dconn *d,
			       struct ftpi_flow *f);

void ftpi__dconn_answered(struct ftpi__expect_tab *xt, struct ftpi_dconn *d)
{
	if ((d->sref == 0 && !d->sh_pending && !d->sh) || d->answered)
		return;
	if (remote_never_at_end(xt, d, d->flow))
		return; /* answered too late: one engine had let go of it */
	d->answered = 1;
	xt->remote_open--;
	if (d->sref)
		ftpi__store_note_answered(xt->store, d->sref);
	if (d->sh)
		ftpi__share_note(xt->share, d->sh->key, "answered");
}

/* A connection that was tried (SYN) and never answered, or refused: no data connection came. */
static int never_established(const struct ftpi_dconn *d, const struct ftpi_flow *f)
{
	return !f->midstream && !f->half[1].syn_seen && f->half[0].bytes == 0 &&
	       f->half[1].bytes == 0 && (d->s || d->sref || d->sh) &&
	       d->link == FTPI_LINK_ANNOUNCED;
}

static void report_never(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, uint64_t syns,
			 uint64_t back)
{
	char msg[300], evd[200];
	struct ftpi__subject rs, *fs;
	const struct ftpi_endpoint *ssrv;
	if (d->s) {
		fs = &d->s->fs;
		ssrv = &d->s->srv;
	} else { /* claimed: said on the owner's session, which records it itself */
		memset(&rs, 0, sizeof rs);
		rs.id = d->sid;
		rs.cli = d->rcli;
		rs.srv = d->rsrv;
		fs = &rs;
		ssrv = &d->rsrv;
	}
	size_t n = ftpi__buf_printf(msg, sizeof msg, 0, "%s data connection to ",
				    ftpi_announce_name(d->announce));
	n = ftpi__buf_endpoint(msg, sizeof msg, n, &d->srv);
	n = ftpi__buf_printf(msg, sizeof msg, n, " was attempted but never established: ");
	if (!d->active && !ftpi__addr_eq(&d->srv.addr, &ssrv->addr)) {
		char a[64], b[64];
		ftpi_addr_format(&d->srv.addr, a, sizeof a);
		ftpi_addr_format(&ssrv->addr, b, sizeof b);
		n = ftpi__buf_printf(msg, sizeof msg, n, "the SYN went to %s instead of %s, ", a, b);
	}
	ftpi__buf_printf(msg, sizeof msg, n, "%s",
			 back ? "refused (RST)" : "SYN without answer");
	n = ftpi__buf_printf(evd, sizeof evd, 0, "%llu SYN packet(s) from ",
			     (unsigned long long)syns);
	ftpi__buf_endpoint(evd, sizeof evd, n, &d->cli);
	ftpi__finding(xt->cx, fs, FTPI_FINDING_DATA_CONNECTION_MISSING, &d->cli, &d->srv, msg, evd);
	if (d->s && d->s->n_dconns)
		d->s->n_dconns--;
}

/* A claimed connection not answered when its owner's session ended (before this packet): one
 * engine said data_connection_missing at that end, with the client's packets until then, and let
 * go of the connection. 1 when said so here (d freed, its flow no data connection any more). */
static int remote_never_at_end(struct ftpi__expect_tab *xt, struct ftpi_dconn *d,
			       struct ftpi_flow *f)
{
	uint64_t te, fe, now = xt->cx->now_us, frame = xt->cx->frame, syns = 0;
	if (d->sref == 0)
		return 0;
	/* the owner is this far (at this time, past this frame): its session end, if before, is
	 * in the entry */
	if (xt->cx->in_flush)
		ftpi__store_wait(xt->store, xt->me, UINT64_MAX);
	else
		ftpi__store_wait_at(xt->store, xt->me, now, frame);
	if (!ftpi__store_ended(xt->store, d->sref, &te, &fe) ||
	    (!xt->cx->in_flush && (te > now || (te == now && fe > frame))))
		return 0;
	for (uint8_t i = 0; i < d->n_syn; i++)
		syns += d->syn_us[i] < te || (d->syn_us[i] == te && xt->cx->in_flush);
	struct ftpi__asof a = ftpi__asof_begin(xt->cx, te, fe); /* as of that packet */
	report_never(xt, d, syns, 0);
	ftpi__asof_end(xt->cx, a);
	if (f) {
		f->app = NULL;
		f->role = FTPI_ROLE_OTHER;
		ftpi__reasm_unwant(xt->cx, f);
	}
	d->flow = NULL;
	dconn_free(xt, d);
	return 1;
}

/* ---- Redis (share.h): connections looked up or claimed from another sensor ---- */

static void hold(struct ftpi__expect_tab *xt, struct ftpi_dconn *d)
{
	if (d->sh_held)
		return;
	d->sh_held = 1;
	d->snext = xt->remote;
	xt->remote = d;
}

static void unhold(struct ftpi__expect_tab *xt, struct ftpi_dconn *d)
{
	if (!d->sh_held)
		return;
	for (struct ftpi_dconn **pp = &xt->remote; *pp; pp = &(*pp)->snext)
		if (*pp == d) {
			*pp = d->snext;
			break;
		}
	d->sh_held = 0;
	d->snext = NULL;
}

static int xfer_final(const struct ftpi_dconn *d)
{
	return d->has_xfer && (d->xfer.state == 3 || d->xfer.status != FTPI_DATA_UNKNOWN);
}

/* Asks the owner's transfer for a closed claimed connection (held until the answer). */
static void ask_xfer(struct ftpi__expect_tab *xt, struct ftpi_dconn *d)
{
	if (d->shslot == 0)
		d->shslot = ftpi__shslot_new(xt, FTPI__SH_XFER, d);
	if (d->shslot == 0) { /* every slot taken: as it is */
		unhold(xt, d);
		dconn_emit(xt, d);
		dconn_free(xt, d);
		return;
	}
	struct ftpi__shslot *sl = &xt->sh_slots[d->shslot - 1];
	sl->kind = FTPI__SH_XFER;
	sl->since = ftpi__share_now();
	sl->busy = ftpi__share_xfer(xt->share, xt->me, ftpi__shslot_ticket(xt, d->shslot - 1),
				    d->sh->key) == 0;
	sl->due = sl->busy ? 0 : sl->since + 100000;
	hold(xt, d);
}

void ftpi__dconn_share_claimed(struct ftpi__expect_tab *xt, struct ftpi_dconn *d)
{
	if (d->answered)
		ftpi__share_note(xt->share, d->sh->key, "answered");
	if (d->tls_checked && !d->tls)
		ftpi__share_note(xt->share, d->sh->key, "clear");
	if (!d->closed)
		return;
	if (d->sh_never) {
		unhold(xt, d);
		report_never(xt, d, d->sh_syns, d->sh_back);
		dconn_free(xt, d);
		return;
	}
	if (xfer_final(d)) {
		unhold(xt, d);
		dconn_emit(xt, d);
		dconn_free(xt, d);
		return;
	}
	ask_xfer(xt, d);
}

struct ftpi_flow *ftpi__dconn_share_giveup(struct ftpi__expect_tab *xt, struct ftpi_dconn *d)
{
	struct ftpi_flow *f = d->flow;
	unhold(xt, d);
	if (f) {
		f->app = NULL;
		f->role = FTPI_ROLE_OTHER;
		d->flow = NULL;
	}
	if (xt->cx->st.data_connections)
		xt->cx->st.data_connections--; /* it was not one */
	dconn_free(xt, d);
	return f;
}

int ftpi__dconn_share_greeting(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, int dir,
			       const uint8_t *p, size_t n)
{
	if (!ftpi__dconn_share_fresh(d) || dir != FTPI_DIR_TO_CLIENT || n < 4 ||
	    !(p[0] == '2' || p[0] == '1') || p[1] != '2' ||
	    p[2] != '0' || (p[3] != ' ' && p[3] != '-') || !ftpi__ftp_looks_like_reply(p, n))
		return 0;
	struct ftpi_flow *f = ftpi__dconn_share_giveup(xt, d);
	if (f == NULL)
		return 0;
	f->role = FTPI_ROLE_UNKNOWN;
	return 1;
}

int ftpi__dconn_share_xfer(struct ftpi__expect_tab *xt, struct ftpi_dconn *d,
			   const struct ftpi__sh_answer *a, int force)
{
	if (a && a->result == FTPI__SHA_FOUND && a->x.state) {
		d->xfer = a->x;
		d->has_xfer = 1;
	}
	if (!force && a && a->result == FTPI__SHA_FOUND && !a->gone && !xfer_final(d))
		return 0;
	unhold(xt, d);
	dconn_emit(xt, d);
	dconn_free(xt, d);
	return 1;
}

/* f is the flow when it just closed; NULL for a forced end (timeout, session end). */
void ftpi__dconn_close(struct ftpi__expect_tab *xt, struct ftpi_dconn *d, struct ftpi_flow *f)
{
	if (f) {
		d->closed = 1;
		d->closed_us = xt->cx->now_us;
		d->end_us = f->last_us;
		d->bytes_to_server = f->half[0].bytes;
		d->bytes_to_client = f->half[1].bytes;
		f->app = NULL;
		d->flow = NULL;
		if (d->sh_pending || d->sh) {
			/* Redis: the owner's facts come by answer */
			d->sh_never = !f->midstream && !f->half[1].syn_seen &&
				      f->half[0].bytes == 0 && f->half[1].bytes == 0;
			d->sh_syns = (uint32_t)FTPI__MIN(f->half[0].packets, UINT32_MAX);
			d->sh_back = (uint32_t)FTPI__MIN(f->half[1].packets, UINT32_MAX);
			if (d->sh_pending) {
				hold(xt, d);
				return;
			}
			ftpi__dconn_share_claimed(xt, d);
			return;
		}
		if (never_established(d, f)) {
			if (remote_never_at_end(xt, d, f))
				return;
			if (d->sref)
				ftpi__store_note_never(xt->store, d->sref);
			report_never(xt, d, f->half[0].packets, f->half[1].packets);
			dconn_free(xt, d);
			return;
		}
		int ready = dconn_ready(xt, d);
		if (d->sref && !ready) {
			d->snext = xt->remote; /* held until the owner's reply */
			xt->remote = d;
			return;
		}
		if (!ready) {
			/* wait for the final reply, but never hold more than a few per session */
			unsigned waiting = 0;
			for (struct ftpi_dconn *o = d->s ? d->s->dconns : NULL; o; o = o->snext)
				waiting += o->closed;
			if (waiting <= DCONN_WAIT_MAX) {
				if (d->s)
					waiting_link(xt, d->s);
				return;
			}
		}
	}
	dconn_emit(xt, d);
	dconn_free(xt, d);
}

void ftpi__dconn_xfer_update(struct ftpi__expect_tab *xt, struct ftpi_session *s)
{
	struct ftpi_dconn *target = NULL;
	/* another engine may carry this transfer's connection: it reads the transfer there */
	for (struct ftpi_expect *x = s->expects; x; x = x->snext) {
		if (x->sref && !x->matched)
			ftpi__store_xfer(xt->store, x->sref, &s->xfer);
		if (x->shseq && !x->matched)
			ftpi__share_update(xt->share, &x->target, s->id, x->shseq, 0, 0, &s->xfer, 0);
	}
	/* the newest connection that carries this transfer, or an open one without any */
	for (struct ftpi_dconn *d = s->dconns; d; d = d->snext) {
		if (d->has_xfer && d->xfer.state < 3 && d->xfer.verb == s->xfer.verb) {
			target = d;
			break;
		}
	}
	if (target == NULL && s->xfer.state < 3) {
		for (struct ftpi_dconn *d = s->dconns; d; d = d->snext)
			if (!d->has_xfer) {
				target = d;
				break;
			}
	}
	if (target == NULL)
		return;
	target->has_xfer = 1;
	target->xfer = s->xfer;
	if (s->xfer.state == 3 && target->closed) {
		dconn_emit(xt, target);
		dconn_free(xt, target);
	}
}

void ftpi__dconn_session_end(struct ftpi__expect_tab *xt, struct ftpi_session *s)
{
	waiting_unlink(xt, s);
	while (s->dconns) {
		struct ftpi_dconn *d = s->dconns;
		if (d->flow && never_established(d, d->flow)) {
			struct ftpi_flow *f = d->flow;
			report_never(xt, d, f->half[0].packets, f->half[1].packets);
			f->app = NULL;
			f->role = FTPI_ROLE_OTHER;
			d->flow = NULL;
			dconn_free(xt, d);
			continue;
		}
		if (d->flow && d->flow->external) {
			/* a stream still open: its data event comes when the host closes it, with
			 * the bytes and gaps it really had (the session's facts are copied) */
			s->dconns = d->snext;
			d->snext = NULL;
			d->s = NULL;
			continue;
		}
		if (d->flow) {
			/* still open: report it with what it carried so far */
			s->dconns = d->snext;
			d->snext = NULL;
			d->bytes_to_server = d->flow->half[0].bytes;
			d->bytes_to_client = d->flow->half[1].bytes;
			d->end_us = d->flow->last_us;
			dconn_emit(xt, d);
			d->s = NULL;
			struct ftpi_flow *f = d->flow;
			d->flow = NULL;
			f->app = NULL;
			f->role = FTPI_ROLE_OTHER;
			ftpi__reasm_unwant(xt->cx, f);
			dconn_free(xt, d);
			continue;
		}
		dconn_emit(xt, d);
		dconn_free(xt, d);
	}
}

/* Claimed connections held for their owner's reply; all of them when force is set. */
void ftpi__dconn_remote_tick(struct ftpi__expect_tab *xt, uint64_t now, int force)
{
	for (struct ftpi_dconn **pp = &xt->remote, *d; (d = *pp) != NULL;) {
		if (d->sh_held) { /* Redis answers decide; at the end, as they are */
			if (!force) {
				pp = &d->snext;
				continue;
			}
			*pp = d->snext;
			d->sh_held = 0;
			if (!d->sh_pending)
				dconn_emit(xt, d);
			dconn_free(xt, d);
			continue;
		}
		if (force || now - d->closed_us > DCONN_WAIT_US || dconn_ready(xt, d)) {
			*pp = d->snext;
			dconn_emit(xt, d);
			dconn_free(xt, d);
		} else {
			pp = &d->snext;
		}
	}
}

void ftpi__dconn_remote_release(struct ftpi__expect_tab *xt)
{
	while (xt->remote) {
		struct ftpi_dconn *d = xt->remote;
		xt->remote = d->snext;
		dconn_free(xt, d);
	}
}

/* Closes s's closed connections whose wait is over, in the session's order. */
static void close_expired(struct ftpi__expect_tab *xt, struct ftpi_session *s, uint64_t now)
{
	for (struct ftpi_dconn *d = s->dconns, *dn; d; d = dn) {
		dn = d->snext;
		if (d->closed && now - d->closed_us > DCONN_WAIT_US)
			ftpi__dconn_close(xt, d, NULL);
	}
}

#define DCONN_DUE_MAX 64

void ftpi__dconn_tick(struct ftpi__expect_tab *xt, uint64_t now)
{
	struct ftpi_session *due[DCONN_DUE_MAX], *s, *sn;
	size_t n = 0;
	int more = 0;

	if (xt->remote)
		ftpi__dconn_remote_tick(xt, now, 0);
	/* Only the sessions that may hold waiting connections are looked at; those with one whose
	 * wait is over are served in the order of the session list (newest first: descending
	 * ids), the order a walk over all sessions has, so the events come out the same. */
	for (s = xt->waiting; s; s = sn) {
		int any = 0, over = 0;
		sn = s->wnext;
		for (struct ftpi_dconn *d = s->dconns; d; d = d->snext) {
			if (d->closed) {
				any = 1;
				over |= now - d->closed_us > DCONN_WAIT_US;
			}
		}
		if (!any)
			waiting_unlink(xt, s);
		else if (over && n < DCONN_DUE_MAX)
			due[n++] = s;
		else if (over)
			more = 1;
	}
	if (more) { /* many at once: the walk over all sessions gives the order directly */
		for (s = xt->ftp->sessions; s; s = s->next)
			close_expired(xt, s, now);
		return;
	}
	for (size_t i = 1; i < n; i++) { /* insertion sort, descending ids */
		struct ftpi_session *k = due[i];
		size_t j = i;
		for (; j > 0 && due[j - 1]->id < k->id; j--)
			due[j] = due[j - 1];
		due[j] = k;
	}
	for (size_t i = 0; i < n; i++)
		close_expired(xt, due[i], now);
}

void ftpi__count_passive_port(struct ftpi_server *sv, uint16_t port)
{
	if (sv == NULL)
		return;
	if (sv->data_passive == 0 || port < sv->data_min)
		sv->data_min = port;
	if (sv->data_passive == 0 || port > sv->data_max)
		sv->data_max = port;
	sv->data_passive++;
}

void ftpi__dconn_count_port(const struct ftpi_dconn *d)
{
	if (d->s && !d->active)
		ftpi__count_passive_port(d->s->server, d->srv.port);
}
