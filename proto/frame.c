/*
 * frame: length-prefixed Envelope framing and byte-budgeted decoding; see
 * frame.h for what this module owns.
 */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

/* Each allocation carries its size in front so that frees credit it back. */
union frame_block_header {
	size_t size;
	max_align_t align;
};

static void *frame_budget_alloc(void *data, size_t size)
{
	struct frame_budget *b = data;
	size_t total;
	union frame_block_header *h;

	if (size > SIZE_MAX - sizeof(*h))
		return NULL;
	total = size + sizeof(*h);
	if (total > b->remaining)
		return NULL;
	h = malloc(total);
	if (h == NULL)
		return NULL;
	b->remaining -= total;
	b->blocks++;
	h->size = total;
	return h + 1;
}

static void frame_budget_free(void *data, void *ptr)
{
	struct frame_budget *b = data;
	union frame_block_header *h;

	if (ptr == NULL)
		return;
	h = (union frame_block_header *)ptr - 1;
	b->remaining += h->size;
	b->blocks--;
	free(h);
}

enum frame_status frame_peek(const uint8_t *buf, size_t avail, uint32_t max,
			     uint32_t *body_len)
{
	uint32_t n;

	if (avail < FRAME_HEADER_LEN)
		return FRAME_NEED_MORE;
	n = ((uint32_t)buf[0] << 24) | ((uint32_t)buf[1] << 16) |
	    ((uint32_t)buf[2] << 8) | (uint32_t)buf[3];
	*body_len = n;
	if (n == 0)
		return FRAME_EMPTY;
	if (n > max)
		return FRAME_TOO_LARGE;
	if (avail - FRAME_HEADER_LEN < n)
		return FRAME_NEED_MORE;
	return FRAME_READY;
}

void frame_put_header(uint8_t out[FRAME_HEADER_LEN], uint32_t body_len)
{
	out[0] = (uint8_t)(body_len >> 24);
	out[1] = (uint8_t)(body_len >> 16);
	out[2] = (uint8_t)(body_len >> 8);
	out[3] = (uint8_t)body_len;
}

int frame_encode(const Maillage__Envelope *env, uint32_t max, uint8_t **out,
		 size_t *out_len)
{
	size_t n = maillage__envelope__get_packed_size(env);
	uint8_t *buf;

	if (n == 0 || n > max || n > FRAME_ABSOLUTE_MAX)
		return -1;
	buf = malloc(FRAME_HEADER_LEN + n);
	if (buf == NULL)
		return -1;
	frame_put_header(buf, (uint32_t)n);
	if (maillage__envelope__pack(env, buf + FRAME_HEADER_LEN) != n) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = FRAME_HEADER_LEN + n;
	return 0;
}

struct frame_msg *frame_decode(const uint8_t *body, size_t len)
{
	struct frame_msg *msg;

	if (body == NULL || len == 0 || len > FRAME_ABSOLUTE_MAX)
		return NULL;
	msg = calloc(1, sizeof(*msg));
	if (msg == NULL)
		return NULL;
	msg->budget.remaining = len * FRAME_BUDGET_FACTOR + FRAME_BUDGET_SLACK;
	msg->allocator.alloc = frame_budget_alloc;
	msg->allocator.free = frame_budget_free;
	msg->allocator.allocator_data = &msg->budget;
	msg->env = maillage__envelope__unpack(&msg->allocator, len, body);
	if (msg->env == NULL) {
		free(msg);
		return NULL;
	}
	return msg;
}

void frame_msg_free(struct frame_msg *msg)
{
	if (msg == NULL)
		return;
	if (msg->env != NULL)
		maillage__envelope__free_unpacked(msg->env, &msg->allocator);
	free(msg);
}

const char *frame_body_name(const Maillage__Envelope *env)
{
	switch (env->body_case) {
	case MAILLAGE__ENVELOPE__BODY_HELLO:
		return "hello";
	case MAILLAGE__ENVELOPE__BODY_PING:
		return "ping";
	case MAILLAGE__ENVELOPE__BODY_WHOAMI:
		return "whoami";
	case MAILLAGE__ENVELOPE__BODY_WELCOME:
		return "welcome";
	case MAILLAGE__ENVELOPE__BODY_PONG:
		return "pong";
	case MAILLAGE__ENVELOPE__BODY_WHOAMI_RESULT:
		return "whoami_result";
	case MAILLAGE__ENVELOPE__BODY_ERROR:
		return "error";
	case MAILLAGE__ENVELOPE__BODY__NOT_SET:
	default:
		return "unknown";
	}
}
