/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * privs.c - -Z USER: once the capture is open, become USER for good (ftpinspect and the extcap).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "cli.h"

int cli_drop_privileges(const char *user)
{
	struct passwd *pw = getpwnam(user);

	if (pw == NULL) {
		fprintf(stderr, "ftpinspect: -Z %s: no such user\n", user);
		return -1;
	}
	if (getuid() != 0 && geteuid() != 0) {
		if (getuid() == pw->pw_uid)
			return 0;
		fprintf(stderr, "ftpinspect: -Z %s: not running as root, cannot change user\n",
			user);
		return -1;
	}
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0) {
		fprintf(stderr, "ftpinspect: -Z %s: cannot drop privileges: %s\n", user,
			strerror(errno));
		return -1;
	}
	/* Verify: the ids changed and root cannot be regained. */
	if (getuid() != pw->pw_uid || geteuid() != pw->pw_uid || getgid() != pw->pw_gid ||
	    getegid() != pw->pw_gid || (pw->pw_uid != 0 && setuid(0) == 0)) {
		fprintf(stderr, "ftpinspect: -Z %s: privileges were not dropped\n", user);
		return -1;
	}
	return 0;
}
