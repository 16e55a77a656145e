/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fit.h - how well a new connection fits an announced data connection: the one scoring rule that
 * the engine's own table, the in-process store and the Redis share all rank with. Pure: endpoints
 * in, a score out; it touches no table.
 */
#ifndef FTPI_FIT_H
#define FTPI_FIT_H

#include "internal.h"

struct ftpi__fit {
	int score, cli_bad, srv_bad, nat;
};

/* What the rule needs of an expectation: the engine's own, or a copy from a store. */
struct ftpi__fit_view {
	const struct ftpi_endpoint *target, *scli, *ssrv;
	int active, bounce, has_reached;
};

/* The fit of a connection cli -> srv, without the matched/firm bonus; score -1 when it does not
 * fit. */
struct ftpi__fit ftpi__fit_conn(const struct ftpi__fit_view *x, const struct ftpi_endpoint *cli,
				const struct ftpi_endpoint *srv);

#endif /* FTPI_FIT_H */
