/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fit.c - the scoring of a new connection against an expectation (fit.h): exact, NAT "reached"
 * address, another node of a load balancer, a rewritten bounce address, or a mismatch.
 */
#include "fit.h"

/* Two addresses of one subnet (/24, /64): nodes behind one load balancer. */
static int same_subnet(const struct ftpi_addr *a, const struct ftpi_addr *b)
{
	if (a->family != b->family)
		return 0;
	return memcmp(a->ip, b->ip, a->family == 6 ? 8 : 3) == 0;
}

struct ftpi__fit ftpi__fit_conn(const struct ftpi__fit_view *x, const struct ftpi_endpoint *cli,
				const struct ftpi_endpoint *srv)
{
	const struct ftpi_endpoint *scli = x->scli, *ssrv = x->ssrv;
	struct ftpi__fit c = {-1, 0, 0, FTPI_NAT_NA};
	if (!x->active) {
		int to_target = ftpi__addr_eq(&srv->addr, &x->target->addr);
		int to_reached = ftpi__addr_eq(&srv->addr, &ssrv->addr);
		c.cli_bad = !ftpi__addr_eq(&cli->addr, &scli->addr);
		if (!to_target && !to_reached) {
			/* the control's client, to the announced port of another node next to the
			 * control's server: a balancer sent it elsewhere */
			if (c.cli_bad || !same_subnet(&srv->addr, &ssrv->addr))
				return c;
			c.srv_bad = 1;
		} else if (x->has_reached) {
			c.nat = to_target ? FTPI_NAT_ANNOUNCED : FTPI_NAT_REACHED;
		}
	} else if (ftpi__addr_eq(&srv->addr, &x->target->addr)) {
		c.srv_bad = !ftpi__addr_eq(&cli->addr, &ssrv->addr);
	} else if (x->bounce && ftpi__addr_eq(&srv->addr, &scli->addr) &&
		   ftpi__addr_eq(&cli->addr, &ssrv->addr)) {
		c.nat = FTPI_NAT_REWRITTEN; /* the control's own host pair, the announced port */
	} else {
		return c;
	}
	if (c.cli_bad && c.srv_bad)
		return c; /* nothing but the port in common */
	c.score = !c.cli_bad && !c.srv_bad ? 8 : 0;
	return c;
}
