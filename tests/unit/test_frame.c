/*
 * test_frame: unit tests of the frame codec (proto/frame.c). They own the
 * checks that the header arithmetic judges a stream correctly at every
 * boundary (short header, partial body, zero length, the maximum and one
 * past it, absurd lengths judged from the header alone), that every body
 * kind survives an encode/decode round trip, that garbage decodes to NULL,
 * and that the decode budget refuses a small body that would make protobuf-c
 * allocate a large tree, without leaking what it had allocated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* Copy `n` bytes into a heap block of exactly `n` bytes (ASan sees over-reads).
 */
static uint8_t *exact_copy(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n == 0 ? 1 : n);

	assert_non_null(p);
	if (n > 0)
		memcpy(p, src, n);
	return p;
}

static void header(uint8_t out[FRAME_HEADER_LEN], uint32_t n)
{
	out[0] = (uint8_t)(n >> 24);
	out[1] = (uint8_t)(n >> 16);
	out[2] = (uint8_t)(n >> 8);
	out[3] = (uint8_t)n;
}

/* ---- frame_peek ---- */

static void test_peek_short_header(void **state)
{
	uint8_t hdr[FRAME_HEADER_LEN] = {0, 0, 0, 5};
	uint32_t len;
	size_t avail;

	(void)state;
	assert_int_equal(frame_peek(NULL, 0, FRAME_DEFAULT_MAX, &len),
			 FRAME_NEED_MORE);
	for (avail = 0; avail < FRAME_HEADER_LEN; avail++) {
		uint8_t *p = exact_copy(hdr, avail);

		len = 0xdeadbeef;
		assert_int_equal(frame_peek(p, avail, FRAME_DEFAULT_MAX, &len),
				 FRAME_NEED_MORE);
		free(p);
	}
}

static void test_peek_short_header_huge(void **state)
{
	/* Even a huge length is not judged before the header is whole. */
	uint8_t hdr[FRAME_HEADER_LEN] = {0xff, 0xff, 0xff, 0xff};
	uint32_t len;
	size_t avail;

	(void)state;
	for (avail = 0; avail < FRAME_HEADER_LEN; avail++) {
		uint8_t *p = exact_copy(hdr, avail);

		assert_int_equal(frame_peek(p, avail, FRAME_DEFAULT_MAX, &len),
				 FRAME_NEED_MORE);
		free(p);
	}
}

static void test_peek_exact_header(void **state)
{
	uint8_t hdr[FRAME_HEADER_LEN];
	uint8_t *p;
	uint32_t len = 0;

	(void)state;
	header(hdr, 5);
	p = exact_copy(hdr, sizeof(hdr));
	assert_int_equal(
		frame_peek(p, FRAME_HEADER_LEN, FRAME_DEFAULT_MAX, &len),
		FRAME_NEED_MORE);
	assert_int_equal(len, 5);
	free(p);
}

static void test_peek_partial_body(void **state)
{
	uint8_t buf[FRAME_HEADER_LEN + 100];
	uint32_t len;
	size_t avail;

	(void)state;
	memset(buf, 0x42, sizeof(buf));
	header(buf, 100);
	for (avail = FRAME_HEADER_LEN; avail < sizeof(buf); avail++) {
		uint8_t *p = exact_copy(buf, avail);

		len = 0;
		assert_int_equal(frame_peek(p, avail, FRAME_DEFAULT_MAX, &len),
				 FRAME_NEED_MORE);
		assert_int_equal(len, 100);
		free(p);
	}
}

static void test_peek_ready(void **state)
{
	uint8_t buf[FRAME_HEADER_LEN + 7 + 3];
	uint8_t *p;
	uint32_t len = 0;

	(void)state;
	memset(buf, 0x11, sizeof(buf));
	header(buf, 7);
	p = exact_copy(buf, FRAME_HEADER_LEN + 7);
	assert_int_equal(
		frame_peek(p, FRAME_HEADER_LEN + 7, FRAME_DEFAULT_MAX, &len),
		FRAME_READY);
	assert_int_equal(len, 7);
	free(p);

	/* Bytes of the next frame behind this one do not change the verdict. */
	len = 0;
	assert_int_equal(frame_peek(buf, sizeof(buf), FRAME_DEFAULT_MAX, &len),
			 FRAME_READY);
	assert_int_equal(len, 7);
}

static void test_peek_one_byte_body(void **state)
{
	uint8_t buf[FRAME_HEADER_LEN + 1] = {0, 0, 0, 1, 0x08};
	uint32_t len = 0;

	(void)state;
	assert_int_equal(frame_peek(buf, sizeof(buf), FRAME_DEFAULT_MAX, &len),
			 FRAME_READY);
	assert_int_equal(len, 1);
}

static void test_peek_empty(void **state)
{
	uint8_t buf[FRAME_HEADER_LEN + 4] = {0, 0, 0, 0, 1, 2, 3, 4};
	uint8_t *p;
	uint32_t len = 0xdeadbeef;

	(void)state;
	p = exact_copy(buf, FRAME_HEADER_LEN);
	assert_int_equal(
		frame_peek(p, FRAME_HEADER_LEN, FRAME_DEFAULT_MAX, &len),
		FRAME_EMPTY);
	assert_int_equal(len, 0);
	free(p);
	/* Whatever follows, a zero length stays invalid. */
	assert_int_equal(frame_peek(buf, sizeof(buf), FRAME_DEFAULT_MAX, &len),
			 FRAME_EMPTY);
}

static void test_peek_max_boundary(void **state)
{
	const uint32_t maxes[] = {1, 100, FRAME_DEFAULT_MAX,
				  FRAME_ABSOLUTE_MAX};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		uint32_t max = maxes[i];
		uint8_t hdr[FRAME_HEADER_LEN];
		uint32_t len = 0;

		/* Exactly the maximum: acceptable, the body is awaited. */
		header(hdr, max);
		assert_int_equal(frame_peek(hdr, sizeof(hdr), max, &len),
				 FRAME_NEED_MORE);
		assert_int_equal(len, max);

		/* One past: refused from the header alone. */
		header(hdr, max + 1);
		len = 0;
		assert_int_equal(frame_peek(hdr, sizeof(hdr), max, &len),
				 FRAME_TOO_LARGE);
		assert_int_equal(len, max + 1);
	}
}

static void test_peek_max_ready(void **state)
{
	const uint32_t max = 64;
	uint8_t buf[FRAME_HEADER_LEN + 64];
	uint32_t len = 0;

	(void)state;
	memset(buf, 0, sizeof(buf));
	header(buf, max);
	assert_int_equal(frame_peek(buf, sizeof(buf), max, &len), FRAME_READY);
	assert_int_equal(len, max);
}

static void test_peek_huge(void **state)
{
	const uint32_t huge[] = {0xffffffffu, 0x80000000u, 0x7fffffffu,
				 FRAME_ABSOLUTE_MAX + 1};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		uint8_t hdr[FRAME_HEADER_LEN];
		uint8_t *p;
		uint32_t len = 0;

		header(hdr, huge[i]);
		/* Only the four header bytes exist: the body is never needed.
		 */
		p = exact_copy(hdr, sizeof(hdr));
		assert_int_equal(frame_peek(p, FRAME_HEADER_LEN,
					    FRAME_DEFAULT_MAX, &len),
				 FRAME_TOO_LARGE);
		assert_int_equal(len, huge[i]);
		assert_int_equal(frame_peek(p, FRAME_HEADER_LEN,
					    FRAME_ABSOLUTE_MAX, &len),
				 FRAME_TOO_LARGE);
		free(p);
	}
}

/* ---- frame_put_header ---- */

static void test_put_header_round_trip(void **state)
{
	const uint32_t values[] = {
		0,	 1,	     0xff,	 0x100,	      0xffff,
		0x10000, 0x01020304, 0x7fffffff, 0x80000000u, 0xffffffffu};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint8_t hdr[FRAME_HEADER_LEN];
		uint8_t expect[FRAME_HEADER_LEN];
		uint32_t len = 0;
		enum frame_status st;

		frame_put_header(hdr, values[i]);
		header(expect, values[i]);
		assert_memory_equal(hdr, expect, FRAME_HEADER_LEN);
		st = frame_peek(hdr, sizeof(hdr), 0xffffffffu, &len);
		if (values[i] == 0) {
			assert_int_equal(st, FRAME_EMPTY);
		} else {
			assert_int_equal(st, FRAME_NEED_MORE);
			assert_int_equal(len, values[i]);
		}
	}
	{
		uint8_t hdr[FRAME_HEADER_LEN];

		frame_put_header(hdr, 0x01020304);
		assert_int_equal(hdr[0], 1);
		assert_int_equal(hdr[1], 2);
		assert_int_equal(hdr[2], 3);
		assert_int_equal(hdr[3], 4);
	}
}

/* ---- encode / decode ---- */

/*
 * Encode `env`, check the frame's header against its length, and decode the
 * body back.
 */
static struct frame_msg *round_trip(const Maillage__Envelope *env)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	uint32_t len = 0;
	struct frame_msg *msg;

	assert_int_equal(frame_encode(env, FRAME_DEFAULT_MAX, &buf, &n), 0);
	assert_non_null(buf);
	assert_true(n > FRAME_HEADER_LEN);
	assert_int_equal(frame_peek(buf, n, FRAME_DEFAULT_MAX, &len),
			 FRAME_READY);
	assert_int_equal(len, n - FRAME_HEADER_LEN);
	assert_int_equal(len, maillage__envelope__get_packed_size(env));
	/* One byte short is not a frame yet. */
	assert_int_equal(frame_peek(buf, n - 1, FRAME_DEFAULT_MAX, &len),
			 FRAME_NEED_MORE);
	msg = frame_decode(buf + FRAME_HEADER_LEN, len);
	free(buf);
	assert_non_null(msg);
	assert_non_null(msg->env);
	assert_int_equal(msg->env->request_id, env->request_id);
	assert_int_equal(msg->env->seq, env->seq);
	assert_int_equal(msg->env->body_case, env->body_case);
	assert_string_equal(frame_body_name(msg->env), frame_body_name(env));
	return msg;
}

static void fill_account(Maillage__Account *a)
{
	a->login = "ase";
	a->institution = "ase75";
	a->role = MAILLAGE__ROLE__PARTNER;
	a->institution_name = "Aide sociale \xc3\xa0 l'enfance de Paris";
	a->institution_kind = "child_welfare";
	a->departement = "75";
	a->display_name = "Camille";
}

static void check_account(const Maillage__Account *a)
{
	assert_non_null(a);
	assert_string_equal(a->login, "ase");
	assert_string_equal(a->institution, "ase75");
	assert_int_equal(a->role, MAILLAGE__ROLE__PARTNER);
	assert_string_equal(a->institution_name,
			    "Aide sociale \xc3\xa0 l'enfance de Paris");
	assert_string_equal(a->institution_kind, "child_welfare");
	assert_string_equal(a->departement, "75");
	assert_string_equal(a->display_name, "Camille");
}

static void test_round_trip_hello(void **state)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Hello hello = MAILLAGE__HELLO__INIT;
	struct frame_msg *msg;

	(void)state;
	hello.protocol_version = MAILLAGE__PROTOCOL_VERSION__PROTOCOL_VERSION_1;
	hello.client_name = "maillage-cli/0.1";
	env.request_id = 1;
	env.body_case = MAILLAGE__ENVELOPE__BODY_HELLO;
	env.hello = &hello;
	msg = round_trip(&env);
	assert_string_equal(frame_body_name(msg->env), "hello");
	assert_int_equal(msg->env->hello->protocol_version, 1);
	assert_string_equal(msg->env->hello->client_name, "maillage-cli/0.1");
	frame_msg_free(msg);
}

static void test_round_trip_ping(void **state)
{
	static const uint8_t payload[] = {0, 1, 2, 0, 0xff, 'x', 0};
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Ping ping = MAILLAGE__PING__INIT;
	struct frame_msg *msg;

	(void)state;
	ping.payload.data = (uint8_t *)payload;
	ping.payload.len = sizeof(payload);
	env.request_id = UINT64_MAX;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PING;
	env.ping = &ping;
	msg = round_trip(&env);
	assert_string_equal(frame_body_name(msg->env), "ping");
	assert_int_equal(msg->env->ping->payload.len, sizeof(payload));
	assert_memory_equal(msg->env->ping->payload.data, payload,
			    sizeof(payload));
	frame_msg_free(msg);
}

static void test_round_trip_ping_empty(void **state)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Ping ping = MAILLAGE__PING__INIT;
	struct frame_msg *msg;

	(void)state;
	env.request_id = 2;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PING;
	env.ping = &ping;
	msg = round_trip(&env);
	assert_non_null(msg->env->ping);
	assert_int_equal(msg->env->ping->payload.len, 0);
	frame_msg_free(msg);
}

static void test_round_trip_whoami(void **state)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__WhoAmI who = MAILLAGE__WHO_AM_I__INIT;
	struct frame_msg *msg;

	(void)state;
	env.request_id = 3;
	env.body_case = MAILLAGE__ENVELOPE__BODY_WHOAMI;
	env.whoami = &who;
	msg = round_trip(&env);
	assert_string_equal(frame_body_name(msg->env), "whoami");
	assert_non_null(msg->env->whoami);
	frame_msg_free(msg);
}

static void test_round_trip_welcome(void **state)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Welcome w = MAILLAGE__WELCOME__INIT;
	Maillage__Account a = MAILLAGE__ACCOUNT__INIT;
	struct frame_msg *msg;

	(void)state;
	fill_account(&a);
	w.protocol_version = 1;
	w.server_name = "maillaged/0.1";
	w.account = &a;
	w.max_frame = FRAME_DEFAULT_MAX;
	w.instance_id = "demo-1";
	env.request_id = 1;
	env.body_case = MAILLAGE__ENVELOPE__BODY_WELCOME;
	env.welcome = &w;
	msg = round_trip(&env);
	assert_string_equal(frame_body_name(msg->env), "welcome");
	assert_int_equal(msg->env->welcome->protocol_version, 1);
	assert_string_equal(msg->env->welcome->server_name, "maillaged/0.1");
	assert_int_equal(msg->env->welcome->max_frame, FRAME_DEFAULT_MAX);
	assert_string_equal(msg->env->welcome->instance_id, "demo-1");
	check_account(msg->env->welcome->account);
	frame_msg_free(msg);
}

static void test_round_trip_pong(void **state)
{
	static const uint8_t payload[] = "hello, maillage";
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Pong pong = MAILLAGE__PONG__INIT;
	struct frame_msg *msg;

	(void)state;
	pong.payload.data = (uint8_t *)payload;
	pong.payload.len = sizeof(payload);
	pong.server_time_ms = INT64_C(1700000000123);
	pong.database_ok = 1;
	env.request_id = 42;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PONG;
	env.pong = &pong;
	msg = round_trip(&env);
	assert_string_equal(frame_body_name(msg->env), "pong");
	assert_int_equal(msg->env->pong->payload.len, sizeof(payload));
	assert_memory_equal(msg->env->pong->payload.data, payload,
			    sizeof(payload));
	assert_true(msg->env->pong->server_time_ms == INT64_C(1700000000123));
	assert_true(msg->env->pong->database_ok);
	frame_msg_free(msg);
}

static void test_round_trip_whoami_result(void **state)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__WhoAmIResult r = MAILLAGE__WHO_AM_IRESULT__INIT;
	Maillage__Account a = MAILLAGE__ACCOUNT__INIT;
	struct frame_msg *msg;
	const char *fp = "0123456789abcdef0123456789abcdef"
			 "0123456789abcdef0123456789abcdef";

	(void)state;
	fill_account(&a);
	r.account = &a;
	r.certificate_fingerprint = (char *)fp;
	r.peer_address = "[::1]:51234";
	r.certificate_not_after = INT64_C(4102444800);
	env.request_id = 7;
	env.body_case = MAILLAGE__ENVELOPE__BODY_WHOAMI_RESULT;
	env.whoami_result = &r;
	msg = round_trip(&env);
	assert_string_equal(frame_body_name(msg->env), "whoami_result");
	check_account(msg->env->whoami_result->account);
	assert_string_equal(msg->env->whoami_result->certificate_fingerprint,
			    fp);
	assert_string_equal(msg->env->whoami_result->peer_address,
			    "[::1]:51234");
	assert_true(msg->env->whoami_result->certificate_not_after ==
		    INT64_C(4102444800));
	frame_msg_free(msg);
}

static void test_round_trip_error(void **state)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Error e = MAILLAGE__ERROR__INIT;
	struct frame_msg *msg;

	(void)state;
	e.code = MAILLAGE__ERROR_CODE__FRAME_TOO_LARGE;
	e.message = "frame too large";
	e.field = "payload";
	env.request_id = 9;
	env.body_case = MAILLAGE__ENVELOPE__BODY_ERROR;
	env.error = &e;
	msg = round_trip(&env);
	assert_string_equal(frame_body_name(msg->env), "error");
	assert_int_equal(msg->env->error->code,
			 MAILLAGE__ERROR_CODE__FRAME_TOO_LARGE);
	assert_string_equal(msg->env->error->message, "frame too large");
	assert_string_equal(msg->env->error->field, "payload");
	frame_msg_free(msg);
}

static void test_round_trip_event_seq(void **state)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Error e = MAILLAGE__ERROR__INIT;
	struct frame_msg *msg;

	(void)state;
	e.code = MAILLAGE__ERROR_CODE__UNAVAILABLE;
	env.request_id = 0;
	env.seq = UINT64_C(0x1234567890);
	env.body_case = MAILLAGE__ENVELOPE__BODY_ERROR;
	env.error = &e;
	msg = round_trip(&env);
	assert_true(msg->env->seq == UINT64_C(0x1234567890));
	frame_msg_free(msg);
}

static void test_body_name(void **state)
{
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	static const struct {
		Maillage__Envelope__BodyCase c;
		const char *name;
	} cases[] = {
		{MAILLAGE__ENVELOPE__BODY_HELLO, "hello"},
		{MAILLAGE__ENVELOPE__BODY_PING, "ping"},
		{MAILLAGE__ENVELOPE__BODY_WHOAMI, "whoami"},
		{MAILLAGE__ENVELOPE__BODY_WELCOME, "welcome"},
		{MAILLAGE__ENVELOPE__BODY_PONG, "pong"},
		{MAILLAGE__ENVELOPE__BODY_WHOAMI_RESULT, "whoami_result"},
		{MAILLAGE__ENVELOPE__BODY_ERROR, "error"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env.body_case = cases[i].c;
		assert_string_equal(frame_body_name(&env), cases[i].name);
	}
	env.body_case = MAILLAGE__ENVELOPE__BODY__NOT_SET;
	assert_non_null(frame_body_name(&env));
}

static void test_encode_refuses_over_max(void **state)
{
	static uint8_t payload[200];
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Ping ping = MAILLAGE__PING__INIT;
	uint8_t *buf = NULL;
	size_t n = 0, packed;

	(void)state;
	memset(payload, 'p', sizeof(payload));
	ping.payload.data = payload;
	ping.payload.len = sizeof(payload);
	env.request_id = 5;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PING;
	env.ping = &ping;
	packed = maillage__envelope__get_packed_size(&env);
	assert_true(packed > sizeof(payload));

	assert_int_equal(frame_encode(&env, (uint32_t)packed - 1, &buf, &n),
			 -1);
	assert_int_equal(frame_encode(&env, 100, &buf, &n), -1);
	assert_int_equal(frame_encode(&env, 0, &buf, &n), -1);

	/* Exactly the maximum is allowed. */
	assert_int_equal(frame_encode(&env, (uint32_t)packed, &buf, &n), 0);
	assert_int_equal(n, packed + FRAME_HEADER_LEN);
	free(buf);
}

static void test_encode_refuses_empty(void **state)
{
	/* An envelope with nothing set packs to zero bytes: never a frame. */
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	uint8_t *buf = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(maillage__envelope__get_packed_size(&env), 0);
	assert_int_equal(frame_encode(&env, FRAME_DEFAULT_MAX, &buf, &n), -1);
}

static void test_encode_decode_large_payload(void **state)
{
	/* A body just under the default maximum decodes within its budget. */
	Maillage__Envelope env = MAILLAGE__ENVELOPE__INIT;
	Maillage__Ping ping = MAILLAGE__PING__INIT;
	uint8_t *payload, *buf = NULL;
	size_t n = 0, plen = FRAME_DEFAULT_MAX - 16;
	struct frame_msg *msg;

	(void)state;
	payload = malloc(plen);
	assert_non_null(payload);
	memset(payload, 0xa5, plen);
	ping.payload.data = payload;
	ping.payload.len = plen;
	env.request_id = 11;
	env.body_case = MAILLAGE__ENVELOPE__BODY_PING;
	env.ping = &ping;
	assert_int_equal(frame_encode(&env, FRAME_DEFAULT_MAX, &buf, &n), 0);
	assert_true(n - FRAME_HEADER_LEN <= FRAME_DEFAULT_MAX);
	msg = frame_decode(buf + FRAME_HEADER_LEN, n - FRAME_HEADER_LEN);
	assert_non_null(msg);
	assert_int_equal(msg->env->ping->payload.len, plen);
	assert_memory_equal(msg->env->ping->payload.data, payload, plen);
	frame_msg_free(msg);
	free(buf);
	free(payload);
}

/* ---- decode of garbage ---- */

static void test_decode_null_and_empty(void **state)
{
	static const uint8_t one[] = {0x08};

	(void)state;
	assert_null(frame_decode(NULL, 0));
	assert_null(frame_decode(NULL, 10));
	assert_null(frame_decode(one, 0));
	/* Longer than any frame may be: refused before reading. */
	assert_null(frame_decode(one, (size_t)FRAME_ABSOLUTE_MAX + 1));
	frame_msg_free(NULL);
}

static void expect_garbage(const uint8_t *p, size_t n)
{
	uint8_t *copy = exact_copy(p, n);

	assert_null(frame_decode(copy, n));
	free(copy);
}

static void test_decode_garbage(void **state)
{
	/* Unterminated varint (request_id). */
	static const uint8_t g1[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
				     0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	/* A lone tag. */
	static const uint8_t g2[] = {0x08};
	/* Wire type 7 does not exist. */
	static const uint8_t g3[] = {0x0f, 0x00};
	/* Field number 0 is invalid. */
	static const uint8_t g4[] = {0x00, 0x00};
	/* Length-delimited hello claiming 5 bytes, 1 present. */
	static const uint8_t g5[] = {0x52, 0x05, 0x08};
	/* 64-bit wire type with 2 of 8 bytes. */
	static const uint8_t g6[] = {0x19, 0x01, 0x02};
	/* request_id (varint) sent as length-delimited. */
	static const uint8_t g7[] = {0x0a, 0x01, 0x00};
	/* hello whose body is an unterminated varint. */
	static const uint8_t g8[] = {0x52, 0x02, 0x08, 0xff};
	/* ping whose payload length overruns the ping. */
	static const uint8_t g9[] = {0x5a, 0x03, 0x0a, 0x10, 0x41};
	/* 32-bit wire type with 3 of 4 bytes. */
	static const uint8_t g10[] = {0x1d, 0x01, 0x02, 0x03};
	/* Printable text is not a frame. */
	static const char g11[] = "GET / HTTP/1.1\r\n\r\n";

	(void)state;
	expect_garbage(g1, sizeof(g1));
	expect_garbage(g2, sizeof(g2));
	expect_garbage(g3, sizeof(g3));
	expect_garbage(g4, sizeof(g4));
	expect_garbage(g5, sizeof(g5));
	expect_garbage(g6, sizeof(g6));
	expect_garbage(g7, sizeof(g7));
	expect_garbage(g8, sizeof(g8));
	expect_garbage(g9, sizeof(g9));
	expect_garbage(g10, sizeof(g10));
	expect_garbage((const uint8_t *)g11, sizeof(g11) - 1);
}

static void test_decode_random(void **state)
{
	/* Random bodies: NULL or a well-formed tree, never a crash. */
	uint8_t buf[512];
	unsigned seed = 12345;
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		size_t n = 1 + (size_t)(rand_r(&seed) % sizeof(buf));
		size_t j;
		uint8_t *copy;
		struct frame_msg *msg;

		for (j = 0; j < n; j++)
			buf[j] = (uint8_t)rand_r(&seed);
		copy = exact_copy(buf, n);
		msg = frame_decode(copy, n);
		if (msg != NULL) {
			assert_non_null(msg->env);
			assert_non_null(frame_body_name(msg->env));
			frame_msg_free(msg);
		}
		free(copy);
	}
}

/* ---- budget ---- */

/*
 * Live heap blocks allocated by this program's own code and by frame.c: the
 * test is linked with -Wl,--wrap for malloc, calloc, realloc and free (see
 * tests/CMakeLists.txt), so every such call made from these objects comes
 * through the counters below (libraries' own calls do not).
 */
static long live_blocks;

void *__real_malloc(size_t n);
void *__real_calloc(size_t nmemb, size_t n);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t nmemb, size_t n);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

void *__wrap_malloc(size_t n)
{
	void *p = __real_malloc(n);

	if (p != NULL)
		live_blocks++;
	return p;
}

void *__wrap_calloc(size_t nmemb, size_t n)
{
	void *p = __real_calloc(nmemb, n);

	if (p != NULL)
		live_blocks++;
	return p;
}

void *__wrap_realloc(void *p, size_t n)
{
	void *q = __real_realloc(p, n);

	if (p == NULL && q != NULL)
		live_blocks++;
	return q;
}

void __wrap_free(void *p)
{
	if (p != NULL)
		live_blocks--;
	__real_free(p);
}

static long heap_in_use(void)
{
	return live_blocks;
}

static void test_decode_length_prefix_overclaims(void **state)
{
	/* Envelope.ping whose length claims 2 GiB with a few bytes present. */
	static const uint8_t outer[] = {0x5a, 0x80, 0x80, 0x80, 0x80,
					0x08, 0x0a, 0x01, 0x41};
	/* Envelope.ping of 7 bytes whose payload claims 256 MiB. */
	static const uint8_t inner[] = {0x08, 0x01, 0x5a, 0x07, 0x0a, 0x80,
					0x80, 0x80, 0x80, 0x01, 0x41};
	/* hello.client_name claiming 1 MiB with 2 bytes present. */
	static const uint8_t str[] = {0x52, 0x06, 0x12, 0x80,
				      0x80, 0x40, 0x41, 0x42};
	/* A 10-byte length varint that overflows 64 bits. */
	static const uint8_t ovf[] = {0x5a, 0xff, 0xff, 0xff, 0xff, 0xff,
				      0xff, 0xff, 0xff, 0xff, 0x7f, 0x00};

	(void)state;
	expect_garbage(outer, sizeof(outer));
	expect_garbage(inner, sizeof(inner));
	expect_garbage(str, sizeof(str));
	expect_garbage(ovf, sizeof(ovf));
}

/*
 * `count` occurrences of an unknown varint field (number 3, value 0) after a
 * hello: valid protobuf, 2 bytes each, but protobuf-c keeps every unknown
 * field (a descriptor, a copy of its bytes and a scanned-member slot), which
 * is far more than FRAME_BUDGET_FACTOR bytes per body byte.
 */
static uint8_t *unknown_fields_body(size_t count, size_t *len)
{
	static const uint8_t hello[] = {0x08, 0x01, 0x52, 0x02, 0x08, 0x01};
	size_t n = sizeof(hello) + 2 * count, i;
	uint8_t *p = malloc(n);

	assert_non_null(p);
	memcpy(p, hello, sizeof(hello));
	for (i = 0; i < count; i++) {
		p[sizeof(hello) + 2 * i] = 0x18;
		p[sizeof(hello) + 2 * i + 1] = 0x00;
	}
	*len = n;
	return p;
}

static void test_budget_refuses_many_unknown_fields(void **state)
{
	const size_t counts[] = {2000, 20000, 200000};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		size_t len;
		uint8_t *body = unknown_fields_body(counts[i], &len);
		Maillage__Envelope *plain;

		/* The body is valid: without a budget protobuf-c accepts it. */
		plain = maillage__envelope__unpack(NULL, len, body);
		assert_non_null(plain);
		assert_int_equal(plain->body_case,
				 MAILLAGE__ENVELOPE__BODY_HELLO);
		assert_int_equal(plain->base.n_unknown_fields, counts[i]);
		maillage__envelope__free_unpacked(plain, NULL);

		/* With the budget it is refused. */
		assert_null(frame_decode(body, len));
		free(body);
	}
}

static void test_budget_accepts_few_unknown_fields(void **state)
{
	/* Forward compatibility: a handful of unknown fields is fine. */
	size_t len;
	uint8_t *body = unknown_fields_body(8, &len);
	struct frame_msg *msg;

	(void)state;
	msg = frame_decode(body, len);
	assert_non_null(msg);
	assert_int_equal(msg->env->request_id, 1);
	assert_int_equal(msg->env->body_case, MAILLAGE__ENVELOPE__BODY_HELLO);
	assert_int_equal(msg->env->hello->protocol_version, 1);
	assert_true(msg->budget.blocks > 0);
	frame_msg_free(msg);
	free(body);
}

static void test_budget_boundary_sweep(void **state)
{
	/*
	 * Walk the number of unknown fields up across the budget: small
	 * counts decode whole (every unknown field kept), large ones are
	 * refused, and neither leaves anything allocated behind.
	 */
	size_t count, first_refused = 0, last_accepted = 0;
	long before, after;

	(void)state;
	before = heap_in_use();
	for (count = 0; count <= 2500; count++) {
		size_t len;
		uint8_t *body = unknown_fields_body(count, &len);
		struct frame_msg *msg = frame_decode(body, len);

		if (msg != NULL) {
			assert_int_equal(msg->env->base.n_unknown_fields,
					 count);
			assert_int_equal(msg->env->body_case,
					 MAILLAGE__ENVELOPE__BODY_HELLO);
			last_accepted = count;
			frame_msg_free(msg);
		} else if (first_refused == 0) {
			first_refused = count;
		}
		free(body);
	}
	after = heap_in_use();
	print_message("unknown fields: first refused at %zu, last accepted "
		      "at %zu\n",
		      first_refused, last_accepted);
	assert_true(first_refused > 16);
	assert_true(last_accepted < 2000);
	assert_int_equal(before, after);
}

static void test_budget_repeated_submessages(void **state)
{
	/*
	 * Thousands of empty `hello` occurrences: protobuf-c replaces the
	 * previous occurrence, so the tree stays small, but it scans every
	 * occurrence into slabs first. The decode must either succeed with a
	 * hello or refuse; the sweep crosses the slab boundaries.
	 */
	size_t count;

	(void)state;
	for (count = 1; count <= 5000; count += 7) {
		size_t n = 2 * count, i;
		uint8_t *body = malloc(n);
		struct frame_msg *msg;

		assert_non_null(body);
		for (i = 0; i < count; i++) {
			body[2 * i] = 0x52;
			body[2 * i + 1] = 0x00;
		}
		msg = frame_decode(body, n);
		if (msg != NULL) {
			assert_int_equal(msg->env->body_case,
					 MAILLAGE__ENVELOPE__BODY_HELLO);
			assert_non_null(msg->env->hello);
			frame_msg_free(msg);
		}
		if (count <= 16) /* no slab beyond the stack one */
			assert_non_null(msg);
		free(body);
	}
}

static void test_budget_no_leak(void **state)
{
	size_t len, good_len;
	long before, after;
	uint8_t *body = unknown_fields_body(20000, &len);
	uint8_t *good = unknown_fields_body(4, &good_len);
	int i;

	(void)state;
	/* Warm up any lazily allocated state. */
	assert_null(frame_decode(body, len));
	frame_msg_free(frame_decode(good, good_len));
	before = heap_in_use();
	for (i = 0; i < 50; i++) {
		struct frame_msg *msg;

		assert_null(frame_decode(body, len));
		assert_int_equal(heap_in_use(), before);
		msg = frame_decode(good, good_len);
		assert_non_null(msg);
		/* The tree is counted (the counters do see frame.c)... */
		assert_true(heap_in_use() > before);
		frame_msg_free(msg);
		/* ...and all of it is given back. */
		assert_int_equal(heap_in_use(), before);
	}
	after = heap_in_use();
	assert_int_equal(before, after);
	free(body);
	free(good);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peek_short_header),
		cmocka_unit_test(test_peek_short_header_huge),
		cmocka_unit_test(test_peek_exact_header),
		cmocka_unit_test(test_peek_partial_body),
		cmocka_unit_test(test_peek_ready),
		cmocka_unit_test(test_peek_one_byte_body),
		cmocka_unit_test(test_peek_empty),
		cmocka_unit_test(test_peek_max_boundary),
		cmocka_unit_test(test_peek_max_ready),
		cmocka_unit_test(test_peek_huge),
		cmocka_unit_test(test_put_header_round_trip),
		cmocka_unit_test(test_round_trip_hello),
		cmocka_unit_test(test_round_trip_ping),
		cmocka_unit_test(test_round_trip_ping_empty),
		cmocka_unit_test(test_round_trip_whoami),
		cmocka_unit_test(test_round_trip_welcome),
		cmocka_unit_test(test_round_trip_pong),
		cmocka_unit_test(test_round_trip_whoami_result),
		cmocka_unit_test(test_round_trip_error),
		cmocka_unit_test(test_round_trip_event_seq),
		cmocka_unit_test(test_body_name),
		cmocka_unit_test(test_encode_refuses_over_max),
		cmocka_unit_test(test_encode_refuses_empty),
		cmocka_unit_test(test_encode_decode_large_payload),
		cmocka_unit_test(test_decode_null_and_empty),
		cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_decode_random),
		cmocka_unit_test(test_decode_length_prefix_overclaims),
		cmocka_unit_test(test_budget_refuses_many_unknown_fields),
		cmocka_unit_test(test_budget_accepts_few_unknown_fields),
		cmocka_unit_test(test_budget_boundary_sweep),
		cmocka_unit_test(test_budget_repeated_submessages),
		cmocka_unit_test(test_budget_no_leak),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
