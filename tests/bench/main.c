/*
 * maillage-bench: command line and scenario dispatch; see bench.h.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

struct bench_opts opts;
struct event_base *bench_base;

static void usage(int rc)
{
	fprintf(rc == 0 ? stdout : stderr,
		"usage: maillage-bench SCENARIO [OPTIONS]\n"
		"\n"
		"Scenarios (each prints one line `RESULT SCENARIO key=value "
		"...`):\n"
		"  ingest       --clients N concurrent clients send notices as "
		"fast as\n"
		"               NoticeSent comes back, for --duration seconds "
		"after --warmup\n"
		"  fanout       --subs N subscribers Watch; the --sender sends "
		"--messages\n"
		"               runaway notices to --to, one every "
		"--interval-ms\n"
		"  fanout-mqtt  the same against an MQTT broker over TLS, QoS "
		"1,\n"
		"               --payload bytes, topic --topic\n"
		"  connections  open --conns authenticated connections "
		"(--concurrency at\n"
		"               once), measure the server's RSS "
		"(--server-pid), "
		"--hold s\n"
		"  handshakes   full handshakes for --duration s with "
		"--concurrency at once;\n"
		"               --mode maillage (TLS + Hello/Welcome), tls "
		"(TLS "
		"+ an\n"
		"               unsupported Hello: no database) or echo (TLS + "
		"a 1-byte\n"
		"               echo, against `maillage-bench echo-server`)\n"
		"  echo-server  bare mTLS echo server on --host:--port "
		"(--server-cert,\n"
		"               --server-key, --ca, --crl): the handshake "
		"ceiling\n"
		"\n"
		"Options:\n"
		"  --host H --port P --server-name NAME (default localhost)\n"
		"  --ca FILE --crl FILE --cert CRT:KEY (repeatable: "
		"round-robin)\n"
		"  --sender CRT:KEY --to CODE[,CODE...] --kind KIND (default "
		"referral;\n"
		"               fanout: runaway)\n"
		"  --clients N --duration S --warmup S --text-bytes N\n"
		"  --subs N --messages N --interval-ms N --payload N --topic "
		"T\n"
		"  --conns N --concurrency N --hold S --mode M\n"
		"  --server-pid PID  the measured server: its RSS and CPU\n"
		"  --pg-pid PID      PostgreSQL's postmaster: its processes' "
		"CPU\n"
		"  -v                say why each failed session failed\n"
		"\n"
		"Example:\n"
		"  maillage-bench ingest --port 7443 --ca pki/ca.crt \\\n"
		"      --cert pki/clients/ase.crt:pki/clients/ase.key --to "
		"pjj75 \\\n"
		"      --clients 16 --duration 5\n");
	exit(rc);
}

static void copy_opt(char *dst, size_t size, const char *v, const char *name)
{
	if (strlen(v) >= size)
		bench_die("%s: too long", name);
	memcpy(dst, v, strlen(v) + 1);
}

static void parse_cert(struct bench_cert *c, const char *v)
{
	const char *colon = strchr(v, ':');

	if (colon == NULL)
		bench_die("a certificate is CRT:KEY, not %s", v);
	if ((size_t)(colon - v) >= sizeof(c->crt) ||
	    strlen(colon + 1) >= sizeof(c->key))
		bench_die("certificate path too long");
	memcpy(c->crt, v, (size_t)(colon - v));
	c->crt[colon - v] = '\0';
	memcpy(c->key, colon + 1, strlen(colon + 1) + 1);
}

static void parse_to(const char *v)
{
	char *dup = strdup(v), *save = NULL, *tok;

	if (dup == NULL)
		bench_die("out of memory");
	for (tok = strtok_r(dup, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (opts.nto == BENCH_MAX_TO)
			bench_die("at most %d recipients", BENCH_MAX_TO);
		opts.to[opts.nto] = strdup(tok);
		if (opts.to[opts.nto] == NULL)
			bench_die("out of memory");
		opts.nto++;
	}
	free(dup);
}

static int parse_int(const char *v, const char *name, int lo, int hi)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < lo || n > hi)
		bench_die("%s: an integer from %d to %d", name, lo, hi);
	return (int)n;
}

static double parse_secs(const char *v, const char *name)
{
	char *end;
	double d = strtod(v, &end);

	if (*v == '\0' || *end != '\0' || d < 0 || d > 86400)
		bench_die("%s: seconds, 0 to 86400", name);
	return d;
}

enum {
	O_HOST = 256,
	O_PORT,
	O_CA,
	O_CRL,
	O_NAME,
	O_CERT,
	O_SENDER,
	O_TO,
	O_KIND,
	O_CLIENTS,
	O_DURATION,
	O_WARMUP,
	O_TEXT,
	O_SUBS,
	O_MESSAGES,
	O_INTERVAL,
	O_PAYLOAD,
	O_TOPIC,
	O_CONNS,
	O_CONC,
	O_HOLD,
	O_MODE,
	O_PID,
	O_PGPID,
	O_SCRT,
	O_SKEY
};

static const struct option long_opts[] = {
	{"host", required_argument, NULL, O_HOST},
	{"port", required_argument, NULL, O_PORT},
	{"ca", required_argument, NULL, O_CA},
	{"crl", required_argument, NULL, O_CRL},
	{"server-name", required_argument, NULL, O_NAME},
	{"cert", required_argument, NULL, O_CERT},
	{"sender", required_argument, NULL, O_SENDER},
	{"to", required_argument, NULL, O_TO},
	{"kind", required_argument, NULL, O_KIND},
	{"clients", required_argument, NULL, O_CLIENTS},
	{"duration", required_argument, NULL, O_DURATION},
	{"warmup", required_argument, NULL, O_WARMUP},
	{"text-bytes", required_argument, NULL, O_TEXT},
	{"subs", required_argument, NULL, O_SUBS},
	{"messages", required_argument, NULL, O_MESSAGES},
	{"interval-ms", required_argument, NULL, O_INTERVAL},
	{"payload", required_argument, NULL, O_PAYLOAD},
	{"topic", required_argument, NULL, O_TOPIC},
	{"conns", required_argument, NULL, O_CONNS},
	{"concurrency", required_argument, NULL, O_CONC},
	{"hold", required_argument, NULL, O_HOLD},
	{"mode", required_argument, NULL, O_MODE},
	{"server-pid", required_argument, NULL, O_PID},
	{"pg-pid", required_argument, NULL, O_PGPID},
	{"server-cert", required_argument, NULL, O_SCRT},
	{"server-key", required_argument, NULL, O_SKEY},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0}};

static void parse(int argc, char **argv)
{
	int ch;

	copy_opt(opts.host, sizeof(opts.host), "127.0.0.1", "--host");
	copy_opt(opts.server_name, sizeof(opts.server_name), "localhost",
		 "--server-name");
	copy_opt(opts.topic, sizeof(opts.topic), "maillage/bench", "--topic");
	opts.port = 7443;
	opts.clients = 1;
	opts.duration = 5;
	opts.warmup = 1;
	opts.subs = 100;
	opts.messages = 20;
	opts.interval_ms = 200;
	opts.payload = 0;
	opts.conns = 1000;
	opts.concurrency = 64;
	opts.text_bytes = 200;
	copy_opt(opts.mode, sizeof(opts.mode), "maillage", "--mode");
	while ((ch = getopt_long(argc, argv, "vh", long_opts, NULL)) != -1) {
		switch (ch) {
		case O_HOST:
			copy_opt(opts.host, sizeof(opts.host), optarg,
				 "--host");
			break;
		case O_PORT:
			opts.port = parse_int(optarg, "--port", 1, 65535);
			break;
		case O_CA:
			copy_opt(opts.ca, sizeof(opts.ca), optarg, "--ca");
			break;
		case O_CRL:
			copy_opt(opts.crl, sizeof(opts.crl), optarg, "--crl");
			break;
		case O_NAME:
			copy_opt(opts.server_name, sizeof(opts.server_name),
				 optarg, "--server-name");
			break;
		case O_CERT:
			if (opts.ncerts == BENCH_MAX_CERTS)
				bench_die("at most %d --cert", BENCH_MAX_CERTS);
			parse_cert(&opts.certs[opts.ncerts++], optarg);
			break;
		case O_SENDER:
			parse_cert(&opts.sender, optarg);
			opts.has_sender = 1;
			break;
		case O_TO:
			parse_to(optarg);
			break;
		case O_KIND:
			copy_opt(opts.kind, sizeof(opts.kind), optarg,
				 "--kind");
			break;
		case O_CLIENTS:
			opts.clients =
				parse_int(optarg, "--clients", 1, 100000);
			break;
		case O_DURATION:
			opts.duration = parse_secs(optarg, "--duration");
			break;
		case O_WARMUP:
			opts.warmup = parse_secs(optarg, "--warmup");
			break;
		case O_TEXT:
			opts.text_bytes =
				parse_int(optarg, "--text-bytes", 0, 30000);
			break;
		case O_SUBS:
			opts.subs = parse_int(optarg, "--subs", 1, 1000000);
			break;
		case O_MESSAGES:
			opts.messages =
				parse_int(optarg, "--messages", 1, 60000);
			break;
		case O_INTERVAL:
			opts.interval_ms =
				parse_int(optarg, "--interval-ms", 1, 600000);
			break;
		case O_PAYLOAD:
			opts.payload = parse_int(optarg, "--payload", 0, 65536);
			break;
		case O_TOPIC:
			copy_opt(opts.topic, sizeof(opts.topic), optarg,
				 "--topic");
			break;
		case O_CONNS:
			opts.conns = parse_int(optarg, "--conns", 1, 1000000);
			break;
		case O_CONC:
			opts.concurrency =
				parse_int(optarg, "--concurrency", 1, 100000);
			break;
		case O_HOLD:
			opts.hold = parse_secs(optarg, "--hold");
			break;
		case O_MODE:
			copy_opt(opts.mode, sizeof(opts.mode), optarg,
				 "--mode");
			break;
		case O_PID:
			opts.server_pid = (pid_t)parse_int(
				optarg, "--server-pid", 0, 0x7fffffff);
			break;
		case O_PGPID:
			opts.pg_pid = (pid_t)parse_int(optarg, "--pg-pid", 0,
						       0x7fffffff);
			break;
		case O_SCRT:
			copy_opt(opts.server_crt, sizeof(opts.server_crt),
				 optarg, "--server-cert");
			break;
		case O_SKEY:
			copy_opt(opts.server_key, sizeof(opts.server_key),
				 optarg, "--server-key");
			break;
		case 'v':
			opts.verbose = 1;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
}

/* As many descriptors as the hard limit allows: thousands of sockets. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	const char *scen;
	int rc;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)
		usage(argc < 2 ? 2 : 0);
	scen = argv[1];
	opts.scenario = scen;
	parse(argc - 1, argv + 1);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	bench_base = event_base_new();
	if (bench_base == NULL)
		bench_die("event_base_new failed");
	if (strcmp(scen, "echo-server") == 0)
		return echo_server();
	bench_load_certs();
	if (strcmp(scen, "ingest") == 0)
		rc = scen_ingest();
	else if (strcmp(scen, "fanout") == 0)
		rc = scen_fanout();
	else if (strcmp(scen, "fanout-mqtt") == 0)
		rc = scen_fanout_mqtt();
	else if (strcmp(scen, "connections") == 0)
		rc = scen_connections();
	else if (strcmp(scen, "handshakes") == 0)
		rc = scen_handshakes();
	else
		usage(2);
	fflush(stdout);
	return rc;
}
