/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * state.c - the session state machine's one setter and its names table (FTPI_SSTATE_MAP in
 * session.h). Commands and replies decide transitions; only this file writes the state.
 */
#include "session.h"

static const char *const state_names[] = {
#define XX(name) #name,
	FTPI_SSTATE_MAP(XX)
#undef XX
};

const char *ftpi__session_state_name(int state)
{
	if (state < 0 || state >= FTPI_SS__COUNT)
		return "?";
	return state_names[state];
}

/* The one place a session's state changes (curl's ftp_state_low): a breakpoint here sees every
 * transition; debug builds keep the previous state for the debugger. */
void ftpi__session_set_state(struct ftpi_session *s, int state)
{
	FTPI__ASSERT(state >= 0 && state < FTPI_SS__COUNT);
#ifdef FTPI_DEBUG
	s->prev_state = s->state;
#endif
	s->state = state;
}

