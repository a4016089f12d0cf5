/*
 * keyfile: opening a secret file (TLS private key, audit signing key, data
 * encryption keyring) only when nobody but the daemon's user can read it.
 * A secret readable by its group or by others, a symbolic link or anything
 * but a regular file is refused with a message naming the file and the fix,
 * so that the daemon refuses to start rather than run with a leaked key.
 */
#ifndef MAILLAGE_KEYFILE_H
#define MAILLAGE_KEYFILE_H

#include <stddef.h>

/*
 * Open `path` read-only after checking it: a regular file, not a symbolic
 * link, no permission for group or others, owned by the effective user or
 * by root. `what` names the secret in the message ("TLS private key").
 * Returns the descriptor (close-on-exec) or -1 with `err` set.
 */
int keyfile_open(const char *path, const char *what, char *err, size_t errlen);

/* The same check without keeping the file open: 0 or -1 with `err` set. */
int keyfile_check(const char *path, const char *what, char *err, size_t errlen);

#endif
