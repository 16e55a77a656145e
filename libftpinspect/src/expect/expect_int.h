/* SPDX-License-Identifier: BSD-2-Clause */
/* expect_int.h - between expect.c and dconn.c only. */
#ifndef FTPI_EXPECT_INT_H
#define FTPI_EXPECT_INT_H

#include "expect.h"

struct ftpi_dconn *ftpi__dconn_new(struct ftpi__expect_tab *xt, struct ftpi_session *s,
				   struct ftpi_flow *f, int link);
void ftpi__dconn_session_end(struct ftpi__expect_tab *xt, struct ftpi_session *s);
/* Frees a session's data connections without events (teardown). */
void ftpi__dconn_release_all(struct ftpi__expect_tab *xt, struct ftpi_session *s);
/* A passive data connection's server port joins its server's summary. */
void ftpi__dconn_count_port(const struct ftpi_dconn *d);
void ftpi__count_passive_port(struct ftpi_server *sv, uint16_t port);
/* Closed data connections whose final reply never came. */
void ftpi__dconn_tick(struct ftpi__expect_tab *xt, uint64_t now);
/* Claimed connections of other engines' sessions held for the owner's reply (all: force). */
void ftpi__dconn_remote_tick(struct ftpi__expect_tab *xt, uint64_t now, int force);
/* Frees them without events (teardown). */
void ftpi__dconn_remote_release(struct ftpi__expect_tab *xt);

#endif /* FTPI_EXPECT_INT_H */
