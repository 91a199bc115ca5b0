/* aij-ingest: publishes a week's dispositifs file to Kafka.
 *
 * One Record per record line (seq 0..n-1, keyed by line number), validated
 * on the way (SPEC §3); then, only once the broker acknowledged every record,
 * the run's Manifest. A record not acknowledged is an error naming how many:
 * no manifest, exit 1, so the run can never look complete. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "aij.pb-c.h"
#include "conf.h"
#include "kafka.h"
#include "log.h"
#include "progress.h"
#include "send.h"
#include "reader.h"
#include "replay.h"
#include "record.h"
#include "referential.h"
#include "signals.h"

/* Once the run cannot complete (SIGTERM, a record not acknowledged), how
 * long we still wait for delivery reports: the operator (or docker stop)
 * wants us gone within seconds, and the verdict is already known. */
#define INGEST_STOP_DRAIN_MS 5000

struct ingest_conf {
	const char *file;
	const char *replay;
	const char *brokers;
	const char *run_id;
	const char *topic_records;
	const char *topic_runs;
	const char *communes;
	const char *motifs;
	const char *kafka_conf;
	const char *group;
	const char *max_ahead;
	long max_ahead_n;
	const char *attempt;
	const char *accept;
	const char *log_level;
	char run_id_default[32];
	char attempt_default[300];
};

/* How a run ended. */
enum ingest_end {
	INGEST_DONE,        /* every line read and published */
	INGEST_STOPPED,     /* SIGTERM/SIGINT */
	INGEST_READ_FAILED, /* the file became unreadable */
	INGEST_FAILED,      /* producing failed */
};

/* The ISO 8601 week of today, e.g. "2026-W48". */
static void ingest_week_today(char *buf, size_t size)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(buf, size, "%G-W%V", &tm);
}

/* A new attempt id for run_id: "<run_id>#<8 random hex digits>". Returns 0,
 * or -1 with errstr. */
static int ingest_attempt_new(const char *run_id, char *buf, size_t size,
			      char *errstr, size_t errstr_size)
{
	uint32_t r;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		snprintf(errstr, errstr_size, "cannot draw an attempt id: %s",
			 strerror(errno));
		return -1;
	}
	snprintf(buf, size, "%s#%08x", run_id, r);
	return 0;
}

/* The checks of conf_program_parse(): the values in force, converted; the
 * attempt id drawn when none is given. */
static int ingest_conf_check(void *arg, char *errstr, size_t errstr_size)
{
	struct ingest_conf *ic = arg;
	if (conf_long("max-ahead", ic->max_ahead, 0, 1000000000L, &ic->max_ahead_n,
		      errstr, errstr_size))
		return -1;
	if (ic->replay && ic->file) {
		snprintf(errstr, errstr_size, "options '--file' and '--replay' "
			 "exclude each other");
		return -1;
	}
	if (!ic->file && !ic->replay) {
		snprintf(errstr, errstr_size, "missing --file (or AIJ_FILE), or --replay");
		return -1;
	}
	if (!*ic->run_id) {
		snprintf(errstr, errstr_size, "empty --run-id");
		return -1;
	}
	if (!ic->attempt) {
		if (ingest_attempt_new(ic->run_id, ic->attempt_default,
				       sizeof(ic->attempt_default), errstr, errstr_size))
			return -1;
		ic->attempt = ic->attempt_default;
	}
	if (!*ic->attempt) {
		snprintf(errstr, errstr_size, "empty --attempt");
		return -1;
	}
	return 0;
}

/* Returns 0, or -1 with *exit_code (EXIT_DONE after --help, EXIT_USAGE on
 * bad usage). */
static int ingest_conf_parse(int argc, char **argv, struct ingest_conf *ic,
			     int *exit_code)
{
	memset(ic, 0, sizeof(*ic));
	ingest_week_today(ic->run_id_default, sizeof(ic->run_id_default));
	const struct conf_opt opts[] = {
		{ "file", "AIJ_FILE", NULL, "FILE",
		  "the week's dispositifs file (required, unless --replay)", &ic->file },
		{ "replay", "AIJ_REPLAY", NULL, "RUN_ID",
		  "instead of a file: publish run RUN_ID's records, read back "
		  "from Kafka, as the new run --run-id", &ic->replay },
		{ "brokers", "AIJ_BROKERS", KAFKA_DEFAULT_BROKERS, "ADDR",
		  "Kafka bootstrap servers", &ic->brokers },
		{ "run-id", "AIJ_RUN_ID", ic->run_id_default, "ID",
		  "run id (default: the ISO week of today)", &ic->run_id },
		{ "attempt", "AIJ_ATTEMPT", NULL, "ID",
		  "this pass of the run, unique (default: <run id>#<8 random hex "
		  "digits>)", &ic->attempt },
		{ "accept", "AIJ_ACCEPT", NULL, NULL,
		  "have the reporter publish this run over its guards", &ic->accept },
		{ "topic-records", "AIJ_TOPIC_RECORDS", KAFKA_TOPIC_RECORDS, "TOPIC",
		  "topic of the records", &ic->topic_records },
		{ "topic-runs", "AIJ_TOPIC_RUNS", KAFKA_TOPIC_RUNS, "TOPIC",
		  "topic of the run manifests", &ic->topic_runs },
		{ "communes", "AIJ_COMMUNES", REF_DEFAULT_COMMUNES, "FILE",
		  "communes referential (code_insee;code_postal;nom_commune)",
		  &ic->communes },
		{ "motifs", "AIJ_MOTIFS", REF_DEFAULT_MOTIFS, "FILE",
		  "exit reasons (code;libelle)", &ic->motifs },
		{ "kafka-conf", "AIJ_KAFKA_CONF", NULL, "LIST",
		  "extra librdkafka producer settings, key=value,key=value",
		  &ic->kafka_conf },
		{ "group", "AIJ_GROUP", KAFKA_GROUP_MATCHERS, "ID",
		  "consumer group of the matchers (flow control)", &ic->group },
		{ "max-ahead", "AIJ_MAX_AHEAD", "120000", "N",
		  "records published and not yet committed by the matchers "
		  "(0: no limit)", &ic->max_ahead },
		CONF_OPT_LOG_LEVEL(&ic->log_level),
		{ NULL, NULL, NULL, NULL, NULL, NULL },
	};
	const struct conf_program prog = {
		.name = "aij-ingest",
		.summary = "Publishes a week's dispositifs file to Kafka: one record "
			   "per line,\nthen the run manifest once every record is "
			   "acknowledged.",
		.opts = opts, .check = ingest_conf_check, .arg = ic,
	};
	return conf_program_parse(&prog, argc, argv, exit_code);
}

/* A writable copy of the reader's line, for record_split() to cut. */
struct line_buf {
	char *text;
	size_t size;
};

static char *line_buf_copy(struct line_buf *lb, const struct reader_line *line)
{
	if (line->len + 1 > lb->size) {
		size_t size = line->len + 1 < 4096 ? 4096 : (line->len + 1) * 2;
		char *text = realloc(lb->text, size);
		if (!text)
			return NULL;
		lb->text = text;
		lb->size = size;
	}
	memcpy(lb->text, line->text, line->len);
	lb->text[line->len] = '\0';
	return lb->text;
}

/* Splits, validates and publishes one line as record number seq. */
static int ingest_line(const struct ingest_conf *ic,
		       const struct referential *ref, struct sender *snd,
		       struct progress *pg, struct line_buf *lb,
		       const struct reader_line *line, uint64_t seq,
		       char *errstr, size_t errstr_size)
{
	char *text = line_buf_copy(lb, line);
	if (!text) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	struct record_fields f;
	record_split(text, &f);
	enum record_code code = record_validate(&f, line->too_long, ref);

	char *fields[RECORD_FIELDS];
	size_t kept = f.count < RECORD_FIELDS ? f.count : RECORD_FIELDS;
	for (size_t i = 0; i < kept; i++)
		fields[i] = (char *)f.field[i]; /* protobuf-c's type; not modified */

	Aij__Record rec = AIJ__RECORD__INIT;
	rec.run_id = (char *)ic->run_id;
	rec.attempt = (char *)ic->attempt;
	rec.line = line->line;
	rec.n_fields = kept;
	rec.fields = fields;
	rec.field_count = (uint32_t)f.count;
	rec.validation_code = (uint32_t)code;
	rec.seq = seq;
	if (send_record(snd, &rec, errstr, errstr_size) < 0)
		return -1;
	progress_count(pg, code);
	return 0;
}

/* Reads every line and publishes it, until the end, a signal or an error. */
static enum ingest_end ingest_records(const struct ingest_conf *ic,
				      struct reader *r,
				      const struct referential *ref,
				      struct sender *snd, struct progress *pg)
{
	struct line_buf lb = { NULL, 0 };
	enum ingest_end end = INGEST_DONE;
	char errstr[512];
	uint64_t seq = 0;
	for (;;) {
		/* Between records: delivery reports, flow control, stop. */
		if (signals_stop) {
			end = INGEST_STOPPED;
			break;
		}
		if (send_pace(snd, errstr, sizeof(errstr)) < 0) {
			end = signals_stop ? INGEST_STOPPED : INGEST_FAILED;
			if (end == INGEST_FAILED)
				log_error("stopped reading after line %llu: %s",
					  (unsigned long long)reader_last_line(r),
					  errstr);
			break;
		}
		struct reader_line line;
		int n = reader_next(r, &line, errstr, sizeof(errstr));
		if (n == 0)
			break;
		if (n < 0) {
			log_error("%s", errstr);
			end = INGEST_READ_FAILED;
			break;
		}
		if (ingest_line(ic, ref, snd, pg, &lb, &line, seq, errstr,
				sizeof(errstr)) < 0) {
			log_error("line %llu: %s", (unsigned long long)line.line,
				  errstr);
			end = INGEST_FAILED;
			break;
		}
		seq++;
		progress_tick(pg);
	}
	free(lb.text);
	return end;
}

/* Waits for the delivery reports of everything produced, with progress
 * lines. A run that cannot complete any more (failed, or a stop requested,
 * even meanwhile) waits a few seconds only. Returns the number of messages
 * not acknowledged. */
static uint64_t ingest_drain(struct sender *snd, struct progress *pg,
			     int doomed)
{
	int budget_ms = send_drain_budget_ms(snd);
	int waited_ms = 0, doomed_ms = 0;
	while (send_drain(snd, 200) > 0) {
		waited_ms += 200;
		if (doomed || signals_stop || snd->failed > 0)
			doomed_ms += 200;
		if (waited_ms >= budget_ms || doomed_ms >= INGEST_STOP_DRAIN_MS)
			break;
		progress_tick(pg);
	}
	return send_unacked(snd);
}

/* Publishes the manifest and waits for its acknowledgement. */
static int ingest_manifest(const struct ingest_conf *ic, struct reader *r,
			   struct sender *snd, uint64_t records)
{
	size_t nskipped = 0;
	const struct reader_range *skipped = reader_skipped(r, &nskipped);
	Aij__LineRange *ranges = calloc(nskipped ? nskipped : 1, sizeof(*ranges));
	Aij__LineRange **range_ptrs = calloc(nskipped ? nskipped : 1,
					     sizeof(*range_ptrs));
	if (!ranges || !range_ptrs) {
		free(ranges);
		free(range_ptrs);
		log_error("out of memory");
		return -1;
	}
	for (size_t i = 0; i < nskipped; i++) {
		aij__line_range__init(&ranges[i]);
		ranges[i].first = skipped[i].first;
		ranges[i].last = skipped[i].last;
		range_ptrs[i] = &ranges[i];
	}
	char sha256[65];
	reader_sha256(r, sha256);

	Aij__Manifest m = AIJ__MANIFEST__INIT;
	m.run_id = (char *)ic->run_id;
	m.attempt = (char *)ic->attempt;
	m.accept = conf_true(ic->accept);
	m.source_name = (char *)basename(ic->file); /* GNU: no copy, no change */
	m.sha256 = sha256;
	m.records = records;
	m.last_line = reader_last_line(r);
	m.n_skipped = nskipped;
	m.skipped = range_ptrs;
	m.created_at = (int64_t)time(NULL);

	char errstr[512];
	int rc = send_manifest(snd, &m, errstr, sizeof(errstr));
	free(ranges);
	free(range_ptrs);
	if (rc < 0) {
		log_error("cannot publish the manifest: %s", errstr);
		return -1;
	}
	if (send_drain(snd, send_drain_budget_ms(snd)) > 0 ||
	    send_unacked(snd) > 0) {
		log_error("the manifest was not acknowledged by the broker: "
			  "the run is not complete, run ingest again");
		return -1;
	}
	log_info("manifest published to '%s': attempt %s, %llu records, last "
		 "line %llu, %zu skipped range(s), sha256 %s%s", ic->topic_runs,
		 ic->attempt, (unsigned long long)m.records,
		 (unsigned long long)m.last_line, nskipped, sha256,
		 m.accept ? ", to publish over the guards (--accept)" : "");
	return 0;
}

/* Drains, then decides: the manifest only when every record is acknowledged
 * and nothing went wrong. Returns the exit code. */
static int ingest_finish(const struct ingest_conf *ic, enum ingest_end end,
			 struct reader *r, struct sender *snd,
			 struct progress *pg)
{
	uint64_t records = snd->produced;
	uint64_t unacked = ingest_drain(snd, pg, end != INGEST_DONE);
	progress_final(pg, reader_last_line(r));
	if (end == INGEST_DONE && signals_stop)
		end = INGEST_STOPPED;

	switch (end) {
	case INGEST_STOPPED:
		log_error("stopped by a signal after %llu records (%llu "
			  "acknowledged, %llu not): no manifest published, the "
			  "run is not complete",
			  (unsigned long long)records,
			  (unsigned long long)(records - unacked),
			  (unsigned long long)unacked);
		return EXIT_RUNTIME;
	case INGEST_READ_FAILED:
		log_error("reading '%s' failed after %llu records: no manifest "
			  "published", ic->file, (unsigned long long)records);
		return EXIT_USAGE;
	case INGEST_FAILED:
	case INGEST_DONE:
		break;
	}
	if (end == INGEST_FAILED && unacked == 0) {
		log_error("publishing stopped after %llu records: no manifest "
			  "published, the run is not complete",
			  (unsigned long long)records);
		return EXIT_RUNTIME;
	}
	if (unacked > 0) {
		log_error("%llu of %llu records were not acknowledged by the "
			  "broker (%llu failed, %llu still queued)%s: no manifest "
			  "published, the run is not complete, run ingest again",
			  (unsigned long long)unacked, (unsigned long long)records,
			  (unsigned long long)snd->failed,
			  (unsigned long long)send_pending(snd),
			  end == INGEST_FAILED ? ", the rest of the file was "
						 "not published" : "");
		return EXIT_RUNTIME;
	}
	log_info("all %llu records acknowledged", (unsigned long long)records);
	return ingest_manifest(ic, r, snd, records) < 0 ? EXIT_RUNTIME : 0;
}

/* --replay: the records of a run already on Kafka, as a new run. */
static int ingest_replay(const struct ingest_conf *ic)
{
	char errstr[512];
	struct sender snd;
	if (send_init(&snd, ic->brokers, ic->kafka_conf, ic->topic_records,
			 ic->topic_runs, errstr, sizeof(errstr)) < 0) {
		log_error("%s", errstr);
		return EXIT_USAGE;
	}
	if (send_flow_init(&snd, ic->brokers, ic->group,
			      (uint64_t)ic->max_ahead_n, errstr, sizeof(errstr)) < 0) {
		log_error("%s", errstr);
		send_release(&snd);
		return EXIT_USAGE;
	}
	struct referential *ref = referential_load(ic->communes, ic->motifs, NULL,
						   errstr, sizeof(errstr));
	if (!ref) {
		log_error("%s", errstr);
		send_release(&snd);
		return EXIT_USAGE;
	}
	struct replay_conf rc = {
		.brokers = ic->brokers, .kafka_conf = ic->kafka_conf,
		.from_run_id = ic->replay, .run_id = ic->run_id,
		.attempt = ic->attempt, .accept = conf_true(ic->accept), .ref = ref,
		.topic_records = ic->topic_records, .topic_runs = ic->topic_runs,
	};
	struct progress pg;
	progress_init(&pg, &snd);
	int code = replay_run(&rc, &snd, &pg);
	referential_free(ref);
	if (code != 0)
		send_drain(&snd, INGEST_STOP_DRAIN_MS);
	send_release(&snd);
	return code;
}

int main(int argc, char **argv)
{
	struct ingest_conf ic;
	int code = 0;
	char errstr[512];

	log_init("ingest", NULL);
	if (ingest_conf_parse(argc, argv, &ic, &code) < 0)
		return code;
	log_set_run(ic.run_id);
	log_info("attempt %s", ic.attempt);
	signals_install();
	if (ic.replay)
		return ingest_replay(&ic);

	struct reader *r = reader_open(ic.file, errstr, sizeof(errstr));
	if (!r) {
		log_error("%s", errstr);
		return EXIT_USAGE;
	}
	struct referential *ref = referential_load(ic.communes, ic.motifs, NULL,
						   errstr, sizeof(errstr));
	if (!ref) {
		log_error("%s", errstr);
		reader_close(r);
		return EXIT_USAGE;
	}
	struct sender snd;
	if (send_init(&snd, ic.brokers, ic.kafka_conf, ic.topic_records,
			 ic.topic_runs, errstr, sizeof(errstr)) < 0) {
		log_error("%s", errstr);
		referential_free(ref);
		reader_close(r);
		return EXIT_USAGE;
	}
	if (send_flow_init(&snd, ic.brokers, ic.group,
			      (uint64_t)ic.max_ahead_n, errstr, sizeof(errstr)) < 0) {
		log_error("%s", errstr);
		send_release(&snd);
		referential_free(ref);
		reader_close(r);
		return EXIT_USAGE;
	}
	log_info("publishing '%s' to %s (records to '%s', manifest to '%s')",
		 ic.file, ic.brokers, ic.topic_records, ic.topic_runs);

	struct progress pg;
	progress_init(&pg, &snd);
	enum ingest_end end = ingest_records(&ic, r, ref, &snd, &pg);
	code = ingest_finish(&ic, end, r, &snd, &pg);

	send_release(&snd);
	referential_free(ref);
	reader_close(r);
	return code;
}
