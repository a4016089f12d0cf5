/*
 * fuzz_frame: the wire decoder, i.e. everything the daemon does with the
 * bytes of a connection before a request handler sees them.
 *
 * The input is used twice:
 *  1. as one frame body: frame_decode() with its allocation budget, then
 *     checks that the decoded envelope re-encodes (frame_encode) to bytes
 *     that decode again and re-encode to the same bytes, that the budget
 *     is fully credited back when the tree is freed, and frame_body_name();
 *  2. as a byte stream of frames, walked the way conn_read_frame() walks a
 *     connection's input: frame_peek() against a small and the default
 *     maximum, then frame_decode() of each whole frame.
 * Any violated invariant aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr,                                        \
				"fuzz_frame: %s:%d: check failed: %s\n",       \
				__FILE__, __LINE__, #cond);                    \
			abort();                                               \
		}                                                              \
	} while (0)

/*
 * Unknown fields anywhere in the tree. protobuf-c keeps them and writes them
 * back, but it accepts a tag of 0 written in a non-minimal varint (it checks
 * only the first byte) and then re-encodes it minimally, which it refuses:
 * so a tree with unknown fields may legitimately not survive a round trip.
 */
static size_t fuzz_unknown_fields(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	size_t n = m->n_unknown_fields, k;
	unsigned i;

	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *member = (const char *)m + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t count = *(const size_t *)((const char *)m +
							 f->quantifier_offset);
			ProtobufCMessage *const *arr =
				*(ProtobufCMessage *const *const *)member;
			for (k = 0; k < count; k++)
				n += fuzz_unknown_fields(arr[k]);
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)m +
					f->quantifier_offset) != f->id)
			continue;
		if (*(ProtobufCMessage *const *)member != NULL)
			n += fuzz_unknown_fields(
				*(ProtobufCMessage *const *)member);
	}
	return n;
}

/* Re-encode and decode again; the second encoding must be a fixed point. */
static void fuzz_roundtrip(const Maillage__Envelope *env)
{
	uint8_t *f1 = NULL, *f2 = NULL;
	size_t n1 = 0, n2 = 0;
	Maillage__Envelope *env2;

	if (frame_encode(env, FRAME_ABSOLUTE_MAX, &f1, &n1) != 0) {
		/* Only an envelope that packs to nothing may be refused. */
		FUZZ_CHECK(maillage__envelope__get_packed_size(env) == 0);
		return;
	}
	FUZZ_CHECK(n1 > FRAME_HEADER_LEN);
	{
		uint32_t len = 0;
		FUZZ_CHECK(frame_peek(f1, n1, FRAME_ABSOLUTE_MAX, &len) ==
			   FRAME_READY);
		FUZZ_CHECK(len == n1 - FRAME_HEADER_LEN);
	}
	/* The system allocator: a canonical encoding can be much shorter than
	 * the input (non-minimal varints) and so get a smaller budget. */
	env2 = maillage__envelope__unpack(NULL, n1 - FRAME_HEADER_LEN,
					  f1 + FRAME_HEADER_LEN);
	if (env2 == NULL) {
		FUZZ_CHECK(fuzz_unknown_fields(&env->base) > 0);
		free(f1);
		return;
	}
	FUZZ_CHECK(env2->body_case == env->body_case);
	FUZZ_CHECK(env2->request_id == env->request_id);
	FUZZ_CHECK(frame_encode(env2, FRAME_ABSOLUTE_MAX, &f2, &n2) == 0);
	FUZZ_CHECK(n2 == n1 && memcmp(f1, f2, n1) == 0);
	maillage__envelope__free_unpacked(env2, NULL);
	free(f1);
	free(f2);
}

static void fuzz_body(const uint8_t *body, size_t len)
{
	struct frame_msg *msg = frame_decode(body, len);
	size_t budget = len * FRAME_BUDGET_FACTOR + FRAME_BUDGET_SLACK;
	const char *name;

	if (msg == NULL)
		return;
	FUZZ_CHECK(msg->env != NULL);
	FUZZ_CHECK(msg->budget.remaining <= budget);
	name = frame_body_name(msg->env);
	FUZZ_CHECK(name != NULL && name[0] != '\0');
	fuzz_roundtrip(msg->env);
	/* Free the tree through the budget: every block credited back. */
	maillage__envelope__free_unpacked(msg->env, &msg->allocator);
	msg->env = NULL;
	FUZZ_CHECK(msg->budget.blocks == 0);
	FUZZ_CHECK(msg->budget.remaining == budget);
	frame_msg_free(msg);
}

static void fuzz_stream(const uint8_t *data, size_t size, uint32_t max)
{
	size_t off = 0;
	uint32_t len;

	while (off < size) {
		len = 0;
		switch (frame_peek(data + off, size - off, max, &len)) {
		case FRAME_NEED_MORE:
			/* Either no whole header, or a body still to come. */
			FUZZ_CHECK(size - off < FRAME_HEADER_LEN ||
				   (len > 0 && len <= max &&
				    size - off - FRAME_HEADER_LEN < len));
			return;
		case FRAME_TOO_LARGE:
			FUZZ_CHECK(len > max);
			return;
		case FRAME_EMPTY:
			FUZZ_CHECK(len == 0);
			return;
		case FRAME_READY:
			FUZZ_CHECK(len > 0 && len <= max);
			FUZZ_CHECK(size - off - FRAME_HEADER_LEN >= len);
			{
				struct frame_msg *msg = frame_decode(
					data + off + FRAME_HEADER_LEN, len);
				if (msg == NULL)
					return; /* the daemon closes here */
				frame_msg_free(msg);
			}
			off += FRAME_HEADER_LEN + (size_t)len;
			break;
		default:
			FUZZ_CHECK(!"frame_peek returned an unknown status");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* frame_decode() must refuse an empty body without reading it. */
	FUZZ_CHECK(frame_decode(data, 0) == NULL);
	if (size > 0)
		fuzz_body(data, size);
	fuzz_stream(data, size, 1024);
	fuzz_stream(data, size, FRAME_DEFAULT_MAX);
	return 0;
}
