/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * tlsrec.c - the TLS record walker of a control channel in a TLS phase. It follows the record
 * headers (RFC 8446 §5.1, RFC 5246 §6.2) of one direction to notice when the bytes stop being
 * TLS records after at least one of them (the channel went back to clear text: CCC). With a
 * NULL-encryption cipher suite, application data records are clear text followed by a MAC: that
 * text is handed to the caller, so the "encrypted" channel is read like a clear one.
 */
#include "session.h"

size_t ftpi__tlsrec_walk(struct ftpi__tlsrec *w, const uint8_t *p, size_t n, int null_mac,
			 void (*text)(void *ctx, const uint8_t *p, size_t n), void *ctx,
			 int *clear)
{
	size_t i = 0;
	*clear = 0;
	while (i < n) {
		if (w->left) {
			size_t k = FTPI__MIN((size_t)w->left, n - i);
			if (w->hdr[0] == 23 && null_mac > 0 && w->left > (uint32_t)null_mac)
				text(ctx, p + i, FTPI__MIN(k, (size_t)w->left - (size_t)null_mac));
			w->left -= (uint32_t)k;
			i += k;
			continue;
		}
		w->hdr[w->hdr_len++] = p[i++];
		if ((w->hdr_len == 1 && (w->hdr[0] < 20 || w->hdr[0] > 24)) ||
		    (w->hdr_len == 2 && w->hdr[1] != 3)) {
			/* not a record header: clear text starts at the header's first byte (or at
			 * this chunk's start when the header began in an earlier chunk) */
			size_t mine = FTPI__MIN((size_t)w->hdr_len, i);
			*clear = 1;
			w->hdr_len = 0;
			return i - mine;
		}
		if (w->hdr_len == 5) {
			w->left = (uint32_t)((w->hdr[3] << 8) | w->hdr[4]);
			w->hdr_len = 0;
			w->records++;
		}
	}
	return i;
}
