/*
 * maillage-bench: the load generator of the benchmarks (BENCHMARKS.md,
 * deploy/bench). One process, one libevent loop, many mTLS connections that
 * speak the real protocol to maillaged (Hello, NoticeSend, Watch), MQTT
 * 3.1.1 to a Mosquitto broker (the fan-out reference), or nothing but a
 * one-byte echo to a bare TLS server (the handshake ceiling, served by this
 * program too). Every scenario prints one line
 *
 *   RESULT <scenario> key=value key=value ...
 *
 * on stdout (deploy/bench builds its table from them) and its progress on
 * stderr. Nothing here judges a figure: the figures are the output.
 */
#ifndef MAILLAGE_BENCH_H
#define MAILLAGE_BENCH_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "frame.h"

#define BENCH_MAX_CERTS 64
#define BENCH_MAX_TO 32

/* A client identity: certificate and key files, and the SSL_CTX of both. */
struct bench_cert {
	char crt[1024];
	char key[1024];
	SSL_CTX *ctx;
};

/* Options shared by every scenario, from the command line. */
struct bench_opts {
	const char *scenario;
	char host[256];
	int port;
	char ca[1024];
	char crl[1024];
	char server_name[256];
	struct bench_cert certs[BENCH_MAX_CERTS]; /* --cert CRT:KEY, repeated */
	int ncerts;
	struct bench_cert sender; /* --sender CRT:KEY (fan-out) */
	int has_sender;
	char *to[BENCH_MAX_TO]; /* --to CODE[,CODE...] */
	int nto;
	int clients;	  /* ingest: concurrent clients */
	double duration;  /* seconds of measurement */
	double warmup;	  /* seconds discarded before it */
	int subs;	  /* fan-out: subscribers */
	int messages;	  /* fan-out: notices or publications */
	int interval_ms;  /* fan-out: between two of them */
	int payload;	  /* fan-out MQTT: payload bytes */
	int conns;	  /* connections: how many */
	int concurrency;  /* connections, handshakes: in progress at once */
	double hold;	  /* connections: seconds held once open */
	int text_bytes;	  /* ingest: bytes of a notice's text */
	pid_t server_pid; /* the measured server (RSS, CPU); 0: none */
	pid_t pg_pid;	  /* PostgreSQL's postmaster (CPU of its processes) */
	char mode[16];	  /* handshakes: "maillage" or "echo" */
	char topic[128];  /* fan-out MQTT */
	char kind[32];	  /* notice kind */
	char server_crt[1024]; /* echo-server */
	char server_key[1024];
	int verbose;
};

extern struct bench_opts opts;
extern struct event_base *bench_base;

/* ---- clock, output ------------------------------------------------------ */

/* Monotonic clock in nanoseconds. */
int64_t bench_now_ns(void);
void bench_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bench_die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

/* ---- latency samples (stats.c) ----------------------------------------- */

struct bench_samples {
	double *v; /* milliseconds */
	size_t n, cap;
};

void samples_add(struct bench_samples *s, double ms);
/* Sorts in place; q in [0, 1]; 0 when empty. */
double samples_quantile(struct bench_samples *s, double q);
double samples_max(const struct bench_samples *s);
void samples_free(struct bench_samples *s);
/* " p50_ms=... p99_ms=... p999_ms=... max_ms=..." of the samples. */
void samples_print(struct bench_samples *s, const char *prefix);

/*
 * CPU use over a window: the measured server's (opts.server_pid, every
 * thread), PostgreSQL's (opts.pg_pid and its children alive at both ends of
 * the window), this generator's, and the whole machine's (/proc/stat, busy
 * time of every core). "other" = machine - server - PostgreSQL - generator:
 * whatever else runs on the machine.
 */
struct bench_cpu {
	double server_s, pg_s, self_s, machine_s, wall_s;
};

void cpu_mark(struct bench_cpu *c);
/* Usage since `start` (a mark), in seconds of CPU. */
void cpu_since(const struct bench_cpu *start, struct bench_cpu *delta);

/*
 * Per message k of n, the latency of its first and last delivery: prints
 * " first_p50_ms=... spread_p50_ms=..." (medians over the messages of the
 * first delivery, and of last - first: the serial fan-out). Messages
 * nobody received (first < 0) are left out.
 */
void spread_print(const double *first, const double *last, int n);

/* " server_cpu_us=... pg_cpu_us=... gen_cpu_us=... other_cpu_us=..." per
 * operation, and the shares of the window. */
void cpu_print(const struct bench_cpu *d, double ops);

/* A value for a RESULT line: spaces and '=' become '_'. */
const char *result_word(const char *s);

/* VmRSS of a process in KiB, or -1. */
long proc_rss_kib(pid_t pid);

/* ---- TLS connections (net.c) --------------------------------------------- */

enum bconn_state {
	BCONN_CONNECTING = 0, /* TCP + TLS */
	BCONN_OPEN,	      /* TLS done; the scenario speaks */
	BCONN_CLOSED
};

struct bconn;

struct bconn_ops {
	/* TLS handshake completed (client side). */
	void (*open)(struct bconn *c);
	/* Bytes arrived: consume what is whole from `in`. */
	void (*readable)(struct bconn *c, struct evbuffer *in);
	/* Connection failed or closed; `c` is freed after this returns. */
	void (*closed)(struct bconn *c, const char *why);
};

struct bconn {
	struct bufferevent *bev;
	enum bconn_state state;
	const struct bconn_ops *ops;
	void *user;
	int index;
	int64_t t_start; /* connect() called */
	int64_t t_open;	 /* TLS handshake done */
};

/* Client SSL_CTX with this certificate (TLS 1.3, verifies the server). */
SSL_CTX *bench_client_ctx(const char *crt, const char *key);
void bench_load_certs(void);

/* Start a connection to opts.host:opts.port. NULL on immediate failure. */
struct bconn *bconn_new(SSL_CTX *ctx, const struct bconn_ops *ops, void *user,
			int index);
/* Close at once (RST: no TIME_WAIT left behind) and free; no callback. */
void bconn_free(struct bconn *c);
void bconn_write(struct bconn *c, const void *data, size_t len);

/* Encode and send one Envelope. */
void bconn_send(struct bconn *c, Maillage__Envelope *env);
/*
 * Take one whole frame off `in`: 1 with *msg set (free with
 * frame_msg_free), 0 when more bytes are needed, -1 on a bad frame.
 */
int bconn_frame(struct evbuffer *in, struct frame_msg **msg);
void bconn_hello(struct bconn *c, uint64_t request_id);

/* ---- maillage sessions (sess.c) ---------------------------------------- */

enum msess_state {
	MSESS_CONNECTING = 0, /* TCP + TLS */
	MSESS_HELLO,	      /* Hello sent, Welcome awaited */
	MSESS_WATCH,	      /* Watch sent, WatchStarted awaited */
	MSESS_READY,	      /* the scenario's */
	MSESS_FAILED	      /* closed or refused; c is NULL */
};

struct msess;
struct opener;

/* A frame that came after the session was ready. */
typedef void msess_frame_fn(struct msess *s, const Maillage__Envelope *env);

struct msess {
	struct bconn *c;
	enum msess_state state;
	struct opener *op;
	int index;
	int64_t t_connect; /* connect() */
	int64_t t_ready;   /* Welcome (or WatchStarted) received */
	uint64_t next_request;
	void *user;
	/* per-scenario counters */
	uint64_t sent, done, errors, events, event_bytes;
	int64_t t_sent; /* when the request in flight was sent */
};

/*
 * Opens `total` authenticated sessions, at most `concurrency` in progress at
 * once (TCP, TLS, Hello, and Watch when `watch`), and breaks the event loop
 * once every one is ready or failed.
 */
struct opener {
	int total, started, ready, failed, inflight, concurrency;
	int watch;
	int break_when_done;
	SSL_CTX *(*ctx_for)(int index);
	msess_frame_fn *on_frame;
	void (*on_lost)(struct msess *s, const char *why);
	struct msess *sess; /* total of them */
	struct bench_samples connect_ms;
	int64_t t_first; /* the first connect() */
	int64_t t_last;	 /* the last session ready */
	int64_t t_done;	 /* every session ready or failed */
	char error[256]; /* the first failure */
};

void opener_init(struct opener *op, int total, int concurrency, int watch);
/* Run the loop until every session is ready or failed. */
void opener_run(struct opener *op);
void opener_close_all(struct opener *op);
/* Close every session and free the opener's memory. */
void opener_free(struct opener *op);
SSL_CTX *ctx_round_robin(int index);
SSL_CTX *ctx_sender(int index);
void msess_send(struct msess *s, Maillage__Envelope *env);

/* ---- scenarios ------------------------------------------------------------
 */

int scen_ingest(void);
int scen_fanout(void);
int scen_fanout_mqtt(void);
int scen_connections(void);
int scen_handshakes(void);
int echo_server(void);

#endif
