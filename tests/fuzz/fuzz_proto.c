/* libFuzzer target: the protobuf decoding path of matcher and reporter.
 * Bytes from the records, outcomes or runs topic are unpacked as Record,
 * Outcome and Manifest; what unpacks packs again, and that packing is
 * stable (unknown fields included). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aij.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when msg or a message inside it kept an unknown field numbered 0. */
static int fuzz_has_field0(const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	for (size_t i = 0; i < msg->n_unknown_fields; i++)
		if (msg->unknown_fields[i].tag == 0)
			return 1;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)msg;
		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *arr =
				*(ProtobufCMessage *const *const *)(base + f->offset);
			for (size_t k = 0; k < n; k++)
				if (arr[k] && fuzz_has_field0(arr[k]))
					return 1;
		} else {
			const ProtobufCMessage *sub =
				*(const ProtobufCMessage *const *)(base + f->offset);
			/* A oneof member that is not the case set is not there. */
			if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF &&
			    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
				continue;
			if (sub && fuzz_has_field0(sub))
				return 1;
		}
	}
	return 0;
}

/* Packs msg, unpacks that and packs again: the second packing must be the
 * same bytes (the first one is canonical, whatever the input's encoding). */
static void fuzz_roundtrip(const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(n ? n : 1), *again = NULL;
	if (!buf)
		abort();
	if (protobuf_c_message_pack(msg, buf) != n)
		abort();
	/* libprotobuf-c (1.4) accepts an unknown field numbered 0 when its tag
	 * is written on two bytes or more, and packs it back on one byte, which
	 * it then refuses: its quirk, harmless to us (the field is ignored). */
	if (fuzz_has_field0(msg)) {
		free(buf);
		return;
	}
	ProtobufCMessage *back = protobuf_c_message_unpack(msg->descriptor, NULL, n, buf);
	if (!back || protobuf_c_message_get_packed_size(back) != n)
		abort();
	again = malloc(n ? n : 1);
	if (!again || protobuf_c_message_pack(back, again) != n || memcmp(buf, again, n) != 0)
		abort();
	protobuf_c_message_free_unpacked(back, NULL);
	free(again);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Aij__Record *rec = aij__record__unpack(NULL, size, data);
	if (rec) {
		/* What the matcher reads from a record must be usable strings. */
		if (!rec->run_id || (rec->n_fields && !rec->fields))
			abort();
		for (size_t i = 0; i < rec->n_fields; i++)
			if (!rec->fields[i])
				abort();
		fuzz_roundtrip(&rec->base);
		aij__record__free_unpacked(rec, NULL);
	}
	Aij__Outcome *out = aij__outcome__unpack(NULL, size, data);
	if (out) {
		if (!out->run_id)
			abort();
		if (out->result_case == AIJ__OUTCOME__RESULT_FAILED && !out->failed)
			abort();
		fuzz_roundtrip(&out->base);
		aij__outcome__free_unpacked(out, NULL);
	}
	Aij__Manifest *man = aij__manifest__unpack(NULL, size, data);
	if (man) {
		if (!man->run_id || !man->source_name || !man->sha256)
			abort();
		for (size_t i = 0; i < man->n_skipped; i++)
			if (!man->skipped[i])
				abort();
		fuzz_roundtrip(&man->base);
		aij__manifest__free_unpacked(man, NULL);
	}
	return 0;
}
