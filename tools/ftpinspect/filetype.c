/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * filetype.c - `--file-hashes`: the MIME type of a data connection's content from its first
 * bytes (the library gives at most FTPI_DATA_HEAD_MAX of them), with libmagic. The only unit
 * that includes <magic.h>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <magic.h>

#include "cli.h"

struct filetype {
	magic_t m;
	char mime[128];
};

struct filetype *filetype_open(char *err, size_t errlen)
{
	struct filetype *t = calloc(1, sizeof *t);

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->m = magic_open(MAGIC_MIME_TYPE | MAGIC_NO_CHECK_COMPRESS);
	if (t->m == NULL || magic_load(t->m, NULL) != 0) {
		snprintf(err, errlen, "libmagic: %s",
			 t->m && magic_error(t->m) ? magic_error(t->m) : "cannot load its database");
		filetype_close(t);
		return NULL;
	}
	return t;
}

const char *filetype_mime(struct filetype *t, struct ftpi_span head)
{
	const char *m;

	if (t == NULL || head.ptr == NULL || head.len == 0)
		return NULL;
	m = magic_buffer(t->m, head.ptr, head.len);
	if (m == NULL)
		return NULL;
	/* libmagic's answer is printable ASCII in practice; escape it anyway */
	ftpi_escape(t->mime, sizeof t->mime, m, strlen(m));
	return t->mime;
}

void filetype_close(struct filetype *t)
{
	if (t == NULL)
		return;
	if (t->m != NULL)
		magic_close(t->m);
	free(t);
}
