/*
 * rekey: `maillaged rotate-key`, run on the server host beside the
 * service. It re-seals every stored text that is not sealed under the
 * keyring's active key (vault.h), and seals the clear texts stored before
 * encryption at rest, in batches of one transaction each, so that the
 * service keeps running: a batch locks only its own rows, for the time of
 * one AES-GCM run per value.
 */
#ifndef MAILLAGE_REKEY_H
#define MAILLAGE_REKEY_H

#include "config.h"

/* Run the command (argv: its options); the process exit status. */
int rekey_run(const struct config *cfg, int argc, char **argv);

#endif
