/* aij-ingest end to end against the local broker over TCP: the real program
 * publishes a small week, and a plain librdkafka consumer reads every record
 * and the manifest back. Also: a missing file, a broker that is not there,
 * a stop request. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "clock.h"
#include "aij.pb-c.h"
#include "kafka.h"
#include "support/broker.h"
#include "support/proc.h"

#define RUN_ID      "2026-W05"
#define COMMUNES    "data/communes.csv"
#define MOTIFS      "data/motifs.csv"
#define PARTITIONS  12
#define RUN_TIMEOUT_MS 60000

/* The week: a header, blank lines (empty, spaces, a CRLF one), a record of
 * each validation code, a CRLF record, a Windows-1252 name (0xC8 = È), too
 * many fields, and a last line without a line end. */
static const char WEEK[] =
	"identifiant_sigma;code_regional;identifiant_pe;nom_naissance;prenom;"
	"date_naissance;code_insee_residence;type_dispositif;date_debut;"
	"date_fin_prevue;date_fin_reelle;motif_sortie\n"                   /* 1 */
	"\n"                                                               /* 2 */
	"S001;R11;1234567A;DUPONT;Jean;01/02/2000;75056;AIJ;01/09/2025;28/02/2026;;\n" /* 3 */
	"S002;R11;;MARTIN;Lea;29/02/2004;01001;AIJ;01/09/2025;;;\r\n"     /* 4 */
	"   \t \n"                                                         /* 5 */
	"\r\n"                                                             /* 6 */
	"S003;R11;;DURAND;Paul;01/01/2001;01001;AIJ;01/09/2025;;\n"       /* 7: 01 */
	"S004;R11;;DURAND; ;01/01/2001;01001;AIJ;01/09/2025;;;\n"         /* 8: 07 */
	"S005;R11;;DURAND;Paul;01/01/2001;01001;AIJ;31/04/2025;;;\n"      /* 9: 06 */
	"S006;R11;;DURAND;Paul;01/01/2001;99999;AIJ;01/09/2025;;;\n"      /* 10: 08 */
	"S007;R11;;DURAND;Paul;01/01/2001;01001;AIJ;01/09/2025;;15/10/2025;\n" /* 11: 09 */
	" S008 ; R11 ;x1;LEF\xC8VRE;Zo\xE9;03/03/2003;01001;AIJ;01/09/2025;;15/10/2025;01\n" /* 12 */
	"S009;R11;;A;B;01/01/2001;01001;AIJ;01/09/2025;;;;extra\n"       /* 13: 01 */
	"S010;R11;;LE GOFF;Anne;31/12/1999;75101;AIJ;02/09/2025;;;";       /* 14 */

struct expect {
	uint64_t line;
	unsigned code;
	size_t field_count;
	const char *fields[12]; /* NULL past the kept ones */
};

static const struct expect EXPECTED[] = {
	{ 3, 0, 12, { "S001", "R11", "1234567A", "DUPONT", "Jean", "01/02/2000",
		      "75056", "AIJ", "01/09/2025", "28/02/2026", "", "" } },
	{ 4, 0, 12, { "S002", "R11", "", "MARTIN", "Lea", "29/02/2004", "01001",
		      "AIJ", "01/09/2025", "", "", "" } },
	{ 7, 1, 11, { "S003", "R11", "", "DURAND", "Paul", "01/01/2001", "01001",
		      "AIJ", "01/09/2025", "", "" } },
	{ 8, 7, 12, { "S004", "R11", "", "DURAND", "", "01/01/2001", "01001",
		      "AIJ", "01/09/2025", "", "", "" } },
	{ 9, 6, 12, { "S005", "R11", "", "DURAND", "Paul", "01/01/2001", "01001",
		      "AIJ", "31/04/2025", "", "", "" } },
	{ 10, 8, 12, { "S006", "R11", "", "DURAND", "Paul", "01/01/2001", "99999",
		       "AIJ", "01/09/2025", "", "", "" } },
	{ 11, 9, 12, { "S007", "R11", "", "DURAND", "Paul", "01/01/2001", "01001",
		       "AIJ", "01/09/2025", "", "15/10/2025", "" } },
	{ 12, 0, 12, { "S008", "R11", "x1", "LEF\xC3\x88VRE", "Zo\xC3\xA9",
		       "03/03/2003", "01001", "AIJ", "01/09/2025", "",
		       "15/10/2025", "01" } },
	{ 13, 1, 13, { "S009", "R11", "", "A", "B", "01/01/2001", "01001", "AIJ",
		       "01/09/2025", "", "", "" } },
	{ 14, 0, 12, { "S010", "R11", "", "LE GOFF", "Anne", "31/12/1999",
		       "75101", "AIJ", "02/09/2025", "", "", "" } },
};
#define NEXPECTED (sizeof(EXPECTED) / sizeof(EXPECTED[0]))

static char tmp_dir[64];
static char week_path[128];
static char err_path[128];
static struct test_broker broker;

static void setup(void)
{
	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/aij-test-ingest-XXXXXX");
	cr_assert_not_null(mkdtemp(tmp_dir), "mkdtemp: %s", strerror(errno));
	snprintf(week_path, sizeof(week_path), "%s/semaine 05.csv", tmp_dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr.log", tmp_dir);
}

static void teardown(void)
{
	test_broker_stop(&broker);
	unlink(week_path);
	unlink(err_path);
	rmdir(tmp_dir);
}

TestSuite(ingest, .init = setup, .fini = teardown, .timeout = 120);

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	cr_assert_not_null(f, "cannot create '%s': %s", path, strerror(errno));
	cr_assert_eq(fwrite(data, 1, len, f), len);
	cr_assert_eq(fclose(f), 0);
}

/* Whole contents of a file, NUL-terminated (caller frees), or NULL. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t len = 0;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		char *grown = realloc(buf, len + n + 1);
		cr_assert_not_null(grown);
		buf = grown;
		memcpy(buf + len, chunk, n);
		len += n;
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	else
		buf[len] = '\0';
	return buf;
}

/* Starts $AIJ_BIN/aij-ingest with args (NULL-terminated), stderr to
 * err_path. Returns its pid. */
static pid_t ingest_spawn(const char *const *args)
{
	char path[4096];
	const char *argv[32];
	size_t n = 0;
	argv[n++] = test_proc_bin("aij-ingest", path, sizeof(path));
	for (; args[n - 1] && n < 31; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;

	struct test_proc_io io = { .err = err_path };
	pid_t pid = test_proc_spawn(argv, &io);
	cr_assert_geq(pid, 0, "cannot start '%s'", path);
	return pid;
}

/* Waits for pid; kills it and fails the test if it runs past timeout_ms (a
 * hang). Returns its exit status (-1 when killed by a signal). */
static int ingest_wait(pid_t pid, long timeout_ms)
{
	int status = test_proc_wait(pid, timeout_ms);
	if (status == -1) {
		test_proc_stop(pid, SIGKILL, -1);
		char *err = read_file(err_path);
		cr_assert_fail("aij-ingest still running after %ld ms; stderr:\n%s",
			       timeout_ms, err ? err : "");
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int ingest_run(const char *const *args)
{
	return ingest_wait(ingest_spawn(args), RUN_TIMEOUT_MS);
}

static char *stderr_text(void)
{
	char *err = read_file(err_path);
	cr_assert_not_null(err, "no stderr captured");
	return err;
}

static void sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	cr_assert_eq(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL), 1);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * mdlen] = '\0';
}

/* A message read back: its key and payload, copied. */
struct msg {
	char key[32];
	uint8_t *value;
	size_t len;
};

/* Reads every message of topic's partitions 0..partitions-1 from the
 * beginning, until each partition reached its end. Returns the count. */
static size_t consume_all(const char *topic, int partitions,
			  struct msg *out, size_t max)
{
	char errstr[512];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	cr_assert_eq(rd_kafka_conf_set(conf, "bootstrap.servers", broker.bootstrap,
				       errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	cr_assert_eq(rd_kafka_conf_set(conf, "enable.partition.eof", "true",
				       errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	cr_assert_eq(rd_kafka_conf_set(conf, "group.id", "test-ingest-reader",
				       errstr, sizeof(errstr)), RD_KAFKA_CONF_OK);
	rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
	cr_assert_not_null(rk, "consumer: %s", errstr);

	rd_kafka_topic_partition_list_t *parts =
		rd_kafka_topic_partition_list_new(partitions);
	for (int p = 0; p < partitions; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
			RD_KAFKA_OFFSET_BEGINNING;
	cr_assert_eq(rd_kafka_assign(rk, parts), RD_KAFKA_RESP_ERR_NO_ERROR);
	rd_kafka_topic_partition_list_destroy(parts);

	int *at_end = calloc((size_t)partitions, sizeof(*at_end));
	int ended = 0;
	size_t n = 0;
	long deadline = clock_now_ms() + 30000;
	while (ended < partitions) {
		cr_assert_lt(clock_now_ms(), deadline,
			     "'%s': only %d of %d partitions read to their end",
			     topic, ended, partitions);
		rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
		if (!m)
			continue;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (!at_end[m->partition]) {
				at_end[m->partition] = 1;
				ended++;
			}
		} else {
			cr_assert_eq(m->err, RD_KAFKA_RESP_ERR_NO_ERROR,
				     "consume '%s': %s", topic,
				     rd_kafka_message_errstr(m));
			cr_assert_lt(n, max, "more messages than expected");
			cr_assert_eq(at_end[m->partition], 0);
			snprintf(out[n].key, sizeof(out[n].key), "%.*s",
				 (int)m->key_len, (const char *)m->key);
			out[n].value = malloc(m->len ? m->len : 1);
			memcpy(out[n].value, m->payload, m->len);
			out[n].len = m->len;
			n++;
		}
		rd_kafka_message_destroy(m);
	}
	free(at_end);
	kafka_consumer_close(rk, 2000);
	return n;
}

static void msgs_free(struct msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(msgs[i].value);
}

static void start_broker(void)
{
	cr_assert_eq(test_broker_start(&broker, PARTITIONS), 0,
		     "cannot start aij-broker (built? AIJ_BIN?)");
}

static void check_records(void)
{
	struct msg msgs[64];
	size_t n = consume_all("aij.records", PARTITIONS, msgs, 64);
	cr_assert_eq(n, NEXPECTED, "%zu records read back, %zu expected", n,
		     NEXPECTED);

	const Aij__Record *by_seq[NEXPECTED] = { NULL };
	Aij__Record *recs[64];
	for (size_t i = 0; i < n; i++) {
		recs[i] = aij__record__unpack(NULL, msgs[i].len, msgs[i].value);
		cr_assert_not_null(recs[i], "message %zu is not a Record", i);
		Aij__Record *rec = recs[i];
		cr_assert_lt(rec->seq, NEXPECTED, "seq %llu out of range",
			     (unsigned long long)rec->seq);
		cr_assert_null(by_seq[rec->seq], "seq %llu twice",
			       (unsigned long long)rec->seq);
		by_seq[rec->seq] = rec;
		char key[32];
		snprintf(key, sizeof(key), "%llu", (unsigned long long)rec->line);
		cr_assert_str_eq(msgs[i].key, key, "key of line %s", key);
		cr_assert_str_eq(rec->run_id, RUN_ID);
	}
	/* seq follows the file order, one per record line. */
	for (size_t s = 0; s < NEXPECTED; s++) {
		const Aij__Record *rec = by_seq[s];
		const struct expect *e = &EXPECTED[s];
		cr_assert_eq(rec->line, e->line, "seq %zu: line %llu, expected %llu",
			     s, (unsigned long long)rec->line,
			     (unsigned long long)e->line);
		cr_assert_eq(rec->validation_code, e->code, "line %llu: code %u, "
			     "expected %u", (unsigned long long)e->line,
			     rec->validation_code, e->code);
		cr_assert_eq(rec->field_count, e->field_count,
			     "line %llu: field_count %u", (unsigned long long)e->line,
			     rec->field_count);
		size_t kept = e->field_count < 12 ? e->field_count : 12;
		cr_assert_eq(rec->n_fields, kept, "line %llu: %zu fields kept",
			     (unsigned long long)e->line, rec->n_fields);
		for (size_t i = 0; i < kept; i++)
			cr_assert_str_eq(rec->fields[i], e->fields[i],
					 "line %llu field %zu",
					 (unsigned long long)e->line, i + 1);
	}
	for (size_t i = 0; i < n; i++)
		aij__record__free_unpacked(recs[i], NULL);
	msgs_free(msgs, n);
}

static void check_manifest(void)
{
	struct msg msgs[4];
	size_t n = consume_all("aij.runs", 1, msgs, 4);
	cr_assert_eq(n, 1, "%zu manifests, expected 1", n);
	cr_assert_str_eq(msgs[0].key, RUN_ID);
	Aij__Manifest *m = aij__manifest__unpack(NULL, msgs[0].len, msgs[0].value);
	cr_assert_not_null(m, "not a Manifest");

	char sha[65];
	sha256_hex(WEEK, sizeof(WEEK) - 1, sha);
	cr_assert_str_eq(m->run_id, RUN_ID);
	cr_assert_str_eq(m->source_name, "semaine 05.csv");
	cr_assert_str_eq(m->sha256, sha);
	cr_assert_eq(m->records, NEXPECTED);
	cr_assert_eq(m->last_line, 14);
	cr_assert_eq(m->n_skipped, 2, "%zu skipped ranges", m->n_skipped);
	cr_assert_eq(m->skipped[0]->first, 1);
	cr_assert_eq(m->skipped[0]->last, 2);
	cr_assert_eq(m->skipped[1]->first, 5);
	cr_assert_eq(m->skipped[1]->last, 6);
	cr_assert_gt(m->created_at, 0);
	aij__manifest__free_unpacked(m, NULL);
	msgs_free(msgs, n);
}

Test(ingest, publishes_every_record_then_the_manifest)
{
	start_broker();
	write_file(week_path, WEEK, sizeof(WEEK) - 1);
	const char *args[] = { "--file", week_path, "--brokers", broker.bootstrap,
			       "--run-id", RUN_ID, "--communes", COMMUNES,
			       "--motifs", MOTIFS, NULL };
	int rc = ingest_run(args);
	char *err = stderr_text();
	cr_assert_eq(rc, 0, "exit %d; stderr:\n%s", rc, err);
	/* The final count line: records, valid, invalid by code. */
	cr_assert_not_null(strstr(err, "read 10 records (last line 14)"), "%s", err);
	cr_assert_not_null(strstr(err, "4 valid, 6 invalid (01: 2, 07: 1, 06: 1, "
				       "08: 1, 09: 1)"), "%s", err);
	free(err);

	check_records();
	check_manifest();
}

Test(ingest, run_id_defaults_to_the_iso_week)
{
	start_broker();
	write_file(week_path, WEEK, sizeof(WEEK) - 1);
	const char *args[] = { "--file", week_path, "--brokers", broker.bootstrap,
			       "--communes", COMMUNES, "--motifs", MOTIFS, NULL };
	cr_assert_eq(ingest_run(args), 0);

	char week[16];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(week, sizeof(week), "%G-W%V", &tm);

	struct msg msgs[4];
	size_t n = consume_all("aij.runs", 1, msgs, 4);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(msgs[0].key, week);
	Aij__Manifest *m = aij__manifest__unpack(NULL, msgs[0].len, msgs[0].value);
	cr_assert_not_null(m);
	cr_assert_str_eq(m->run_id, week);
	aij__manifest__free_unpacked(m, NULL);
	msgs_free(msgs, n);
}

Test(ingest, missing_file_is_exit_2_with_a_clear_message)
{
	char missing[192];
	snprintf(missing, sizeof(missing), "%s/absent.csv", tmp_dir);
	const char *args[] = { "--file", missing, "--brokers", "127.0.0.1:1",
			       "--communes", COMMUNES, "--motifs", MOTIFS, NULL };
	int rc = ingest_run(args);
	char *err = stderr_text();
	char want[256];
	snprintf(want, sizeof(want), "cannot open '%s': No such file or directory",
		 missing);
	cr_assert_eq(rc, 2, "exit %d; stderr:\n%s", rc, err);
	cr_assert_not_null(strstr(err, want), "stderr:\n%s", err);
	free(err);
}

Test(ingest, missing_file_flag_is_exit_2)
{
	const char *args[] = { "--brokers", "127.0.0.1:1", NULL };
	unsetenv("AIJ_FILE");
	int rc = ingest_run(args);
	char *err = stderr_text();
	cr_assert_eq(rc, 2, "exit %d; stderr:\n%s", rc, err);
	cr_assert_not_null(strstr(err, "--file"), "stderr:\n%s", err);
	free(err);
}

/* A port on 127.0.0.1 where nothing listens: bound and kept (so nobody else
 * takes it meanwhile) but never listening, so connecting is refused. Close
 * *fd when done. */
static int dead_port(int *fd)
{
	*fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(*fd, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	cr_assert_eq(bind(*fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t len = sizeof(sa);
	cr_assert_eq(getsockname(*fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

Test(ingest, no_broker_fails_without_a_manifest_and_without_hanging)
{
	write_file(week_path, WEEK, sizeof(WEEK) - 1);
	char brokers[64];
	int held;
	snprintf(brokers, sizeof(brokers), "127.0.0.1:%d", dead_port(&held));
	const char *args[] = { "--file", week_path, "--brokers", brokers,
			       "--communes", COMMUNES, "--motifs", MOTIFS,
			       "--kafka-conf", "message.timeout.ms=2000", NULL };
	int rc = ingest_run(args);
	char *err = stderr_text();
	cr_assert_eq(rc, 1, "exit %d; stderr:\n%s", rc, err);
	cr_assert_not_null(strstr(err, "10 of 10 records were not acknowledged"),
			   "stderr:\n%s", err);
	cr_assert_null(strstr(err, "manifest published to"), "stderr:\n%s", err);
	free(err);
	close(held);
}

Test(ingest, bad_kafka_setting_is_exit_2)
{
	write_file(week_path, WEEK, sizeof(WEEK) - 1);
	const char *args[] = { "--file", week_path, "--brokers", "127.0.0.1:1",
			       "--communes", COMMUNES, "--motifs", MOTIFS,
			       "--kafka-conf", "no.such.setting=1", NULL };
	int rc = ingest_run(args);
	char *err = stderr_text();
	cr_assert_eq(rc, 2, "exit %d; stderr:\n%s", rc, err);
	cr_assert_not_null(strstr(err, "no.such.setting"), "stderr:\n%s", err);
	free(err);
}

/* Waits until stderr shows that ingest is publishing (its signal handlers
 * are in place by then). */
static void wait_publishing(pid_t pid)
{
	long deadline = clock_now_ms() + 30000;
	for (;;) {
		char *err = read_file(err_path);
		int up = err && strstr(err, "publishing '");
		free(err);
		if (up)
			return;
		cr_assert_eq(test_proc_wait(pid, 0), -1, "aij-ingest exited before publishing");
		cr_assert_lt(clock_now_ms(), deadline, "aij-ingest never started publishing");
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

Test(ingest, sigterm_stops_without_a_manifest)
{
	/* Many lines and a broker that is not there: ingest is still
	 * waiting on its deliveries when the stop request comes. */
	FILE *f = fopen(week_path, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < 200000; i++)
		fprintf(f, "S%d;R11;;DUPONT;Jean;01/02/2000;75056;AIJ;01/09/2025;;;\n", i);
	cr_assert_eq(fclose(f), 0);
	char brokers[64];
	int held;
	snprintf(brokers, sizeof(brokers), "127.0.0.1:%d", dead_port(&held));
	const char *args[] = { "--file", week_path, "--brokers", brokers,
			       "--communes", COMMUNES, "--motifs", MOTIFS,
			       "--kafka-conf", "message.timeout.ms=120000", NULL };
	pid_t pid = ingest_spawn(args);
	wait_publishing(pid);
	kill(pid, SIGTERM);
	int rc = ingest_wait(pid, RUN_TIMEOUT_MS);
	char *err = stderr_text();
	cr_assert_eq(rc, 1, "exit %d; stderr:\n%s", rc, err);
	cr_assert_not_null(strstr(err, "stopped by a signal"), "stderr:\n%s", err);
	cr_assert_null(strstr(err, "manifest published to"), "stderr:\n%s", err);
	free(err);
	close(held);
}
