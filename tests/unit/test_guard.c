/* The guards' decisions (lib/guard.h): each limit at and past its edge,
 * --accept, the same file again, an older week, a corrected week. */
#include <criterion/criterion.h>
#include <string.h>

#include "guard.h"
#include "history.h"

static const struct guard_limits limits = GUARD_LIMITS_DEFAULT;

/* A history with published weeks (run id, sha256) and a held one. */
static json_t *history(void)
{
	return json_pack("[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s},"
			 " {s:s, s:s, s:s, s:s, s:s}]",
			 "kind", "dispositifs", "run_id", "2026-W47", "sha256", "s47",
			 "status", "published", "source", "w47.csv",
			 "kind", "dispositifs", "run_id", "2026-W48", "sha256", "s48",
			 "status", "published", "source", "w48.csv",
			 "kind", "dispositifs", "run_id", "2026-W49", "sha256", "s49",
			 "status", "held", "source", "w49.csv");
}

static struct guard_week week(const char *run_id, const char *sha, uint64_t lines,
			      const json_t *h)
{
	struct guard_week w = { .run_id = run_id, .sha256 = sha, .replay_of = "",
				.lines = lines, .history = h };
	return w;
}

Test(guard, a_clean_week_publishes)
{
	json_t *h = history();
	struct guard_week w = week("2026-W49", "new", 1000, h);
	w.invalid = 300; /* 30.0 %: at the limit, not past it */
	w.columns = 100; /* 10.0 % */
	w.technical = 10; /* 1.0 % */
	struct guard_verdict v;
	guard_week_decide(&w, &limits, &v);
	cr_expect_eq(v.status, GUARD_PUBLISH);
	cr_expect_str_eq(v.guard, "");
	cr_expect_eq(v.accepted, 0);
	cr_expect_str_eq(v.note, "");
	json_decref(h);
}

struct limit_case {
	uint64_t invalid, columns, technical;
	char guard[24];
};

Test(guard, each_limit_holds_just_past_it)
{
	static const struct limit_case cases[] = {
		{ 301, 0, 0, GUARD_VALIDATION },
		{ 101, 101, 0, GUARD_FORMAT },        /* 01 first: it names the cause */
		{ 400, 101, 0, GUARD_FORMAT },
		{ 0, 0, 11, GUARD_TECHNICAL },
		{ 301, 0, 11, GUARD_VALIDATION },
	};
	json_t *h = history();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct guard_week w = week("2026-W49", "new", 1000, h);
		w.invalid = cases[i].invalid;
		w.columns = cases[i].columns;
		w.technical = cases[i].technical;
		struct guard_verdict v;
		guard_week_decide(&w, &limits, &v);
		cr_expect_eq(v.status, GUARD_HOLD, "case %zu", i);
		cr_expect_str_eq(v.guard, cases[i].guard, "case %zu", i);
		cr_expect_neq(v.reason[0], '\0');
		cr_expect_neq(v.reason_fr[0], '\0');

		w.accept = 1;
		guard_week_decide(&w, &limits, &v);
		cr_expect_eq(v.status, GUARD_PUBLISH, "case %zu accepted", i);
		cr_expect_eq(v.accepted, 1);
		cr_expect(strstr(v.note, "--accept"), "%s", v.note);
	}
	json_decref(h);
}

Test(guard, limits_can_change)
{
	struct guard_limits l = limits;
	l.max_technical_pct = 5;
	struct guard_week w = week("2026-W49", "new", 1000, NULL);
	w.technical = 40;
	struct guard_verdict v;
	guard_week_decide(&w, &l, &v);
	cr_expect_eq(v.status, GUARD_PUBLISH);
	w.technical = 51;
	guard_week_decide(&w, &l, &v);
	cr_expect_str_eq(v.guard, GUARD_TECHNICAL);
}

Test(guard, the_same_file_again_is_skipped)
{
	json_t *h = history();
	struct guard_week w = week("2026-W50", "s48", 1000, h);
	struct guard_verdict v;
	guard_week_decide(&w, &limits, &v);
	cr_expect_eq(v.status, GUARD_SKIP);
	cr_expect_str_eq(v.guard, GUARD_ALREADY);
	cr_expect(strstr(v.reason, "already integrated as run 2026-W48"), "%s", v.reason);

	w = week("2026-W49", "s49", 1000, h); /* held, never integrated */
	guard_week_decide(&w, &limits, &v);
	cr_expect_eq(v.status, GUARD_PUBLISH, "a held file is not 'already'");

	w = week("2026-W48", "s48", 1000, h);
	w.replay_of = "2026-W48#0badf00d"; /* a replay re-validates: not skipped */
	guard_week_decide(&w, &limits, &v);
	cr_expect_eq(v.status, GUARD_PUBLISH);
	cr_expect(strstr(v.note, "replaces"), "%s", v.note);
	json_decref(h);
}

Test(guard, an_older_week_needs_accept)
{
	json_t *h = history();
	struct guard_week w = week("2026-W47", "corrected47", 1000, h);
	struct guard_verdict v;
	guard_week_decide(&w, &limits, &v);
	cr_expect_eq(v.status, GUARD_HOLD);
	cr_expect_str_eq(v.guard, GUARD_OLDER);
	cr_expect(strstr(v.reason, "2026-W48"), "%s", v.reason);

	w.accept = 1;
	guard_week_decide(&w, &limits, &v);
	cr_expect_eq(v.status, GUARD_PUBLISH);
	cr_expect_eq(v.accepted, 1);

	/* The newest is by week, not by order: W49 was held, W48 is newest. */
	w = week("2026-W48", "corrected48", 1000, h);
	guard_week_decide(&w, &limits, &v);
	cr_expect_eq(v.status, GUARD_PUBLISH);
	cr_expect(strstr(v.note, "corrected week"), "%s", v.note);

	/* Run ids that are not ISO weeks have no order. */
	w = week("demo", "x", 1000, h);
	guard_week_decide(&w, &limits, &v);
	cr_expect_eq(v.status, GUARD_PUBLISH);
	json_decref(h);
}

Test(guard, iso_weeks)
{
	long wk;
	cr_expect_eq(guard_iso_week("2026-W48", &wk), 0);
	cr_expect_eq(wk, 202648);
	cr_expect_eq(guard_iso_week("2027-W01-r2", &wk), 0);
	cr_expect_eq(wk, 202701);
	cr_expect_eq(guard_iso_week("2026-W480", &wk), -1);
	cr_expect_eq(guard_iso_week("2026-W00", &wk), -1);
	cr_expect_eq(guard_iso_week("2026-W54", &wk), -1);
	cr_expect_eq(guard_iso_week("26-W48", &wk), -1);
	cr_expect_eq(guard_iso_week("demo", &wk), -1);
	cr_expect_eq(guard_iso_week("", &wk), -1);
}

Test(guard, exports)
{
	struct guard_verdict v;
	struct guard_export e = { .rows = 0, .baseline = 1000, .baseline_what = "x" };
	guard_export_decide(&e, &limits, &v);
	cr_expect_str_eq(v.guard, GUARD_DOSSIERS_EMPTY);
	cr_expect_eq(v.status, GUARD_HOLD);

	e = (struct guard_export){ .rows = 13, .malformed = 13, .loaded = 0 };
	guard_export_decide(&e, &limits, &v);
	cr_expect_str_eq(v.guard, GUARD_DOSSIERS_MALFORMED);

	e = (struct guard_export){ .rows = 1000, .malformed = 50, .loaded = 950,
				   .baseline = 1000, .baseline_what = "x" };
	guard_export_decide(&e, &limits, &v);
	cr_expect_eq(v.status, GUARD_PUBLISH, "5.0 %% malformed: at the limit");
	e.malformed = 51;
	e.loaded = 949;
	guard_export_decide(&e, &limits, &v);
	cr_expect_str_eq(v.guard, GUARD_DOSSIERS_MALFORMED);

	e = (struct guard_export){ .rows = 500, .loaded = 500, .baseline = 1000,
				   .baseline_what = "the index in use" };
	guard_export_decide(&e, &limits, &v);
	cr_expect_eq(v.status, GUARD_PUBLISH, "half: at the limit");
	e.rows = e.loaded = 499;
	guard_export_decide(&e, &limits, &v);
	cr_expect_str_eq(v.guard, GUARD_DOSSIERS_SHRUNK);
	cr_expect(strstr(v.reason, "the index in use"), "%s", v.reason);
	e.accept = 1;
	guard_export_decide(&e, &limits, &v);
	cr_expect_eq(v.status, GUARD_PUBLISH);
	cr_expect_eq(v.accepted, 1);

	e = (struct guard_export){ .rows = 10, .loaded = 10, .baseline = 0 };
	guard_export_decide(&e, &limits, &v);
	cr_expect_eq(v.status, GUARD_PUBLISH, "no baseline: the first load");
}
