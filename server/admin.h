/*
 * admin: the administration of the network (issue 6, admin part). This
 * module owns the admin requests (institutions added, listed, enabled and
 * disabled; accounts added, listed, enabled, disabled and bound to another
 * certificate), the check of a certificate an admin gives (one client
 * certificate issued by the network CA, valid now, not revoked, through
 * OpenSSL's X509_verify_cert against the daemon's CA store), the cutting
 * of live connections when an account or an institution may no longer
 * connect (a notification on channel maillage_admin from any instance, a
 * walk of the connection table, and a sweep that asks the database about
 * every live connection after a notification or a lost subscription), and
 * `maillaged bootstrap-admin`, the local command that creates the first
 * admin on the server host. Only role admin (acl_role_may, ACL_OP_ADMIN)
 * gets past the first check; admins read no case content. Every request
 * writes one audit record naming the account and institution it is about
 * (target_account_id, target_institution_id), never a name.
 */
#ifndef MAILLAGE_ADMIN_H
#define MAILLAGE_ADMIN_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "cert.h"
#include "maillage.pb-c.h"

struct conn;
struct server;
struct config;

/* Requests (dispatch table). */
void admin_institution_add(struct conn *c, const Maillage__Envelope *env);
void admin_institution_list(struct conn *c, const Maillage__Envelope *env);
void admin_institution_set(struct conn *c, const Maillage__Envelope *env);
void admin_account_add(struct conn *c, const Maillage__Envelope *env);
void admin_account_list(struct conn *c, const Maillage__Envelope *env);
void admin_account_set(struct conn *c, const Maillage__Envelope *env);
void admin_account_rotate(struct conn *c, const Maillage__Envelope *env);

/* Listen on maillage_admin and be ready to cut connections. 0, or -1. */
int admin_start(struct server *srv);
void admin_stop(void);

/* The largest certificate accepted, in bytes of PEM. */
#define ADMIN_CERT_MAX 16384

/* What is kept of a certificate that passed admin_cert_check(). */
struct admin_cert {
	char fingerprint[CERT_FINGERPRINT_LEN + 1];
	char not_after[32]; /* RFC 3339 UTC */
};

/*
 * Check `pem` (`len` bytes, not NUL-terminated): exactly one PEM
 * certificate and no private key, not a CA, verifying against `store`
 * (chain, signature, validity now, purpose SSL client, CRL when the store
 * checks them). 0 and `out`, or -1 with a message for the person who gave
 * it in `msg` (no certificate content in it).
 */
int admin_cert_check(X509_STORE *store, const char *pem, size_t len,
		     struct admin_cert *out, char *msg, size_t msglen);

/*
 * `maillaged -c FILE bootstrap-admin LOGIN --institution CODE --cert
 * FILE.pem [--name N --kind K --departement D [--contact C]]
 * [--display-name N]`: argv[0] is "bootstrap-admin". Blocking libpq, run
 * from the command line, never from the event loop. Returns the exit code.
 */
int admin_bootstrap(const struct config *cfg, int argc, char **argv);

#endif
