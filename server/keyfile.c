/*
 * keyfile: permission checks on secret files before they are read; see
 * keyfile.h. The check is made on the opened descriptor (fstat), so that
 * the file checked is the file read.
 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int keyfile_open(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "%s (%s): %s", path, what,
			 errno == ELOOP ? "a symbolic link, refused"
					: strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s (%s): not a regular file", path,
			 what);
		close(fd);
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
			 "%s (%s): accessible to its group or others "
			 "(mode %03o): chmod 600 it",
			 path, what, (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen,
			 "%s (%s): owned by uid %u, not by the daemon's user",
			 path, what, (unsigned)st.st_uid);
		close(fd);
		return -1;
	}
	return fd;
}

int keyfile_check(const char *path, const char *what, char *err, size_t errlen)
{
	int fd = keyfile_open(path, what, err, errlen);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}
