#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array.h"

#define METRICS_CODES 11 /* codes 1..10 */

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
	char run_id[128];
	enum metrics_state state;
	uint64_t messages, outcomes, records;
	uint64_t failed_by_code[METRICS_CODES];
	uint64_t integrated_by_step[4];
	uint64_t integrated, failed;
	uint64_t runs_written, reports_written, runs_held;
	double last_written; /* unix time */
} m;

static const char *const metrics_state_names[] = {
	"waiting", "collecting", "stalled", "written", "failed", "held", "already",
};

void metrics_run_begin(const char *run_id)
{
	pthread_mutex_lock(&metrics_lock);
	snprintf(m.run_id, sizeof(m.run_id), "%s", run_id);
	m.state = METRICS_COLLECTING;
	m.outcomes = m.records = 0;
	pthread_mutex_unlock(&metrics_lock);
}

void metrics_progress(uint64_t messages, uint64_t outcomes, uint64_t records)
{
	pthread_mutex_lock(&metrics_lock);
	m.messages = messages;
	m.outcomes = outcomes;
	m.records = records;
	pthread_mutex_unlock(&metrics_lock);
}

void metrics_state(enum metrics_state state)
{
	pthread_mutex_lock(&metrics_lock);
	m.state = state;
	pthread_mutex_unlock(&metrics_lock);
}

void metrics_written(const struct collect *c, size_t reports)
{
	uint64_t by_code[METRICS_CODES] = { 0 };
	for (size_t i = 0; i < c->n_failed; i++)
		for (int code = 1; code < METRICS_CODES; code++)
			by_code[code] += (c->failed[i].code_mask >> code) & 1;
	pthread_mutex_lock(&metrics_lock);
	memcpy(m.failed_by_code, by_code, sizeof(by_code));
	memcpy(m.integrated_by_step, c->integrated_by_step,
	       sizeof(m.integrated_by_step));
	m.integrated = c->n_integrated;
	m.failed = c->n_failed;
	m.runs_written++;
	m.reports_written += reports;
	m.last_written = (double)time(NULL);
	m.state = METRICS_WRITTEN;
	pthread_mutex_unlock(&metrics_lock);
}

void metrics_verdict(const char *status)
{
	pthread_mutex_lock(&metrics_lock);
	if (strcmp(status, "held") == 0) {
		m.state = METRICS_HELD;
		m.runs_held++;
	} else if (strcmp(status, "already") == 0) {
		m.state = METRICS_ALREADY;
	} else if (strcmp(status, "failed") == 0) {
		m.state = METRICS_FAILED;
	}
	pthread_mutex_unlock(&metrics_lock);
}

/* Appends to a growing buffer; on no memory the text is dropped (NULL). */
struct metrics_buf {
	char *text;
	size_t len, cap;
};

__attribute__((format(printf, 2, 3)))
static void metrics_add(struct metrics_buf *b, const char *fmt, ...)
{
	if (!b->text && b->cap)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->text ? b->text + b->len : NULL,
				  b->text ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if (b->text && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		char *text = array_grow(b->text, &b->cap, b->len + (size_t)n + 1, 1, 4096);
		if (!text) {
			free(b->text);
			b->text = NULL;
			b->cap = 1;
			return;
		}
		b->text = text;
	}
}

/* A run id is letters, digits, '.', '_', '-' (ingest checks nothing, so
 * anything else is replaced to keep the label valid). */
static void metrics_label(const char *s, char *out, size_t size)
{
	size_t i = 0;
	for (; s[i] && i + 1 < size; i++)
		out[i] = (s[i] == '"' || s[i] == '\\' || s[i] == '\n') ? '_' : s[i];
	out[i] = '\0';
}

char *metrics_render(const char *degraded, size_t *len)
{
	struct metrics_buf b = { NULL, 0, 0 };
	char reason[512];
	metrics_label(degraded, reason, sizeof(reason));
	metrics_add(&b, "# HELP aij_reporter_degraded 1 when a week or an export was held or failed, or Redis has no index (reason in the label; /healthz says it too).\n"
		    "# TYPE aij_reporter_degraded gauge\n"
		    "aij_reporter_degraded{reason=\"%s\"} %d\n", reason, *degraded ? 1 : 0);
	pthread_mutex_lock(&metrics_lock);
	char run[sizeof(m.run_id)];
	metrics_label(m.run_id, run, sizeof(run));
	metrics_add(&b, "# HELP aij_reporter_messages_total Messages read from the runs and outcomes topics (every run).\n"
		    "# TYPE aij_reporter_messages_total counter\n"
		    "aij_reporter_messages_total %llu\n", (unsigned long long)m.messages);
	metrics_add(&b, "# HELP aij_reporter_run_records Records of the followed run (its manifest; 0 before it).\n"
		    "# TYPE aij_reporter_run_records gauge\n"
		    "aij_reporter_run_records{run_id=\"%s\"} %llu\n", run,
		    (unsigned long long)m.records);
	metrics_add(&b, "# HELP aij_reporter_run_outcomes Distinct outcomes received for the followed run.\n"
		    "# TYPE aij_reporter_run_outcomes gauge\n"
		    "aij_reporter_run_outcomes{run_id=\"%s\"} %llu\n", run,
		    (unsigned long long)m.outcomes);
	metrics_add(&b, "# HELP aij_reporter_run_missing Records of the followed run still without an outcome (the pipeline's lag).\n"
		    "# TYPE aij_reporter_run_missing gauge\n"
		    "aij_reporter_run_missing{run_id=\"%s\"} %llu\n", run,
		    (unsigned long long)(m.records > m.outcomes ? m.records - m.outcomes : 0));
	metrics_add(&b, "# HELP aij_reporter_run_state The followed run's state (1 for the current one).\n"
		    "# TYPE aij_reporter_run_state gauge\n");
	for (size_t i = 0; i < sizeof(metrics_state_names) / sizeof(*metrics_state_names); i++)
		metrics_add(&b, "aij_reporter_run_state{run_id=\"%s\",state=\"%s\"} %d\n",
			    run, metrics_state_names[i], m.state == (enum metrics_state)i);
	metrics_add(&b, "# HELP aij_reporter_lines Lines of the last written run, by outcome.\n"
		    "# TYPE aij_reporter_lines gauge\n"
		    "aij_reporter_lines{outcome=\"integrated\"} %llu\n"
		    "aij_reporter_lines{outcome=\"failed\"} %llu\n",
		    (unsigned long long)m.integrated, (unsigned long long)m.failed);
	metrics_add(&b, "# HELP aij_reporter_lines_failed Failed lines of the last written run whose codes include code.\n"
		    "# TYPE aij_reporter_lines_failed gauge\n");
	for (int code = 1; code < METRICS_CODES; code++)
		metrics_add(&b, "aij_reporter_lines_failed{code=\"%02d\"} %llu\n", code,
			    (unsigned long long)m.failed_by_code[code]);
	metrics_add(&b, "# HELP aij_reporter_lines_integrated Integrated lines of the last written run by step.\n"
		    "# TYPE aij_reporter_lines_integrated gauge\n");
	for (int step = 1; step < 4; step++)
		metrics_add(&b, "aij_reporter_lines_integrated{step=\"%d\"} %llu\n", step,
			    (unsigned long long)m.integrated_by_step[step]);
	metrics_add(&b, "# HELP aij_reporter_runs_written_total Runs whose reports were written.\n"
		    "# TYPE aij_reporter_runs_written_total counter\n"
		    "aij_reporter_runs_written_total %llu\n"
		    "# HELP aij_reporter_runs_held_total Complete runs a guard held (nothing published).\n"
		    "# TYPE aij_reporter_runs_held_total counter\n"
		    "aij_reporter_runs_held_total %llu\n"
		    "# HELP aij_reporter_reports_written_total Report files written.\n"
		    "# TYPE aij_reporter_reports_written_total counter\n"
		    "aij_reporter_reports_written_total %llu\n"
		    "# HELP aij_reporter_last_written_seconds Unix time the last run was written (0: none).\n"
		    "# TYPE aij_reporter_last_written_seconds gauge\n"
		    "aij_reporter_last_written_seconds %.0f\n",
		    (unsigned long long)m.runs_written, (unsigned long long)m.runs_held,
		    (unsigned long long)m.reports_written, m.last_written);
	pthread_mutex_unlock(&metrics_lock);
	*len = b.len;
	return b.text;
}
