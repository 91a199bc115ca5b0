/* editions/session and editions/throttle: sessions (random ids, CSRF
 * tokens, expiry, the password changing under them, the bound on their
 * number, messages and pending uploads) and the lock-out after failed
 * log-ins, with the clock moved by hand. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../editions/session.h"
#include "../../editions/throttle.h"

#define TTL 8 * 3600

static int is_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

Test(editions_session, create_and_get)
{
	struct session_store *s = session_store_new(TTL, 100, 1 << 20);
	cr_assert_not_null(s);
	char id[SESSION_ID_HEX], id2[SESSION_ID_HEX], errstr[128];
	cr_assert_eq(session_create(s, "agent", "$y$hash", 1000, id, errstr, sizeof(errstr)), 0);
	cr_assert_eq(session_create(s, "agent", "$y$hash", 1000, id2, errstr, sizeof(errstr)), 0);
	cr_expect(is_hex(id, 64), "256 bits in hex: %s", id);
	cr_expect_str_neq(id, id2, "two sessions, two ids");
	struct session_info a, b;
	cr_assert_eq(session_get(s, id, 1001, &a), 1);
	cr_assert_eq(session_get(s, id2, 1001, &b), 1);
	cr_expect_str_eq(a.login, "agent");
	cr_expect(is_hex(a.csrf, 64));
	cr_expect_str_neq(a.csrf, b.csrf, "each session its CSRF token");
	cr_expect_str_neq(a.csrf, id, "the CSRF token is not the id");
	cr_expect_eq(a.expires, 1000 + TTL);
	cr_expect_eq(session_count(s), 2);
	/* Unknown, malformed, truncated ids. */
	cr_expect_eq(session_get(s, "nope", 1001, &a), 0);
	cr_expect_eq(session_get(s, "", 1001, &a), 0);
	cr_expect_eq(session_get(s, NULL, 1001, &a), 0);
	char cut[SESSION_ID_HEX];
	snprintf(cut, sizeof(cut), "%s", id);
	cut[63] = cut[63] == 'a' ? 'b' : 'a';
	cr_expect_eq(session_get(s, cut, 1001, &a), 0, "one digit off is no session");
	session_store_free(s);
}

Test(editions_session, expiry)
{
	struct session_store *s = session_store_new(TTL, 100, 1 << 20);
	char id[SESSION_ID_HEX], errstr[128];
	struct session_info info;
	cr_assert_eq(session_create(s, "agent", "", 0, id, errstr, sizeof(errstr)), 0);
	cr_expect_eq(session_get(s, id, TTL - 1, &info), 1, "alive the last second");
	cr_expect_eq(session_get(s, id, TTL, &info), 0, "gone after 8 h");
	cr_expect_eq(session_count(s), 0, "and removed");
	cr_expect_eq(session_get(s, id, 0, &info), 0, "never back");
	session_store_free(s);
}

Test(editions_session, end_and_password_change)
{
	struct session_store *s = session_store_new(TTL, 100, 1 << 20);
	char id[SESSION_ID_HEX], errstr[128];
	struct session_info info;
	cr_assert_eq(session_create(s, "agent", "$y$old", 0, id, errstr, sizeof(errstr)), 0);
	cr_assert_eq(session_get(s, id, 1, &info), 1);
	cr_expect(session_password_same(&info, "$y$old"));
	cr_expect_not(session_password_same(&info, "$y$new"));
	cr_expect_not(session_password_same(&info, ""));
	cr_expect_eq(session_end(s, id), 1);
	cr_expect_eq(session_end(s, id), 0);
	cr_expect_eq(session_get(s, id, 1, &info), 0);
	session_store_free(s);
}

Test(editions_session, csrf)
{
	struct session_store *s = session_store_new(TTL, 100, 1 << 20);
	char id[SESSION_ID_HEX], errstr[128];
	struct session_info info;
	cr_assert_eq(session_create(s, "agent", "", 0, id, errstr, sizeof(errstr)), 0);
	cr_assert_eq(session_get(s, id, 1, &info), 1);
	char token[SESSION_ID_HEX];
	snprintf(token, sizeof(token), "%s", info.csrf);
	cr_expect(session_csrf_ok(&info, token));
	cr_expect_not(session_csrf_ok(&info, NULL));
	cr_expect_not(session_csrf_ok(&info, ""));
	cr_expect_not(session_csrf_ok(&info, id), "the session id is not the token");
	token[10] ^= 1;
	cr_expect_not(session_csrf_ok(&info, token));
	token[10] ^= 1;
	token[63] = '\0';
	cr_expect_not(session_csrf_ok(&info, token), "a prefix is not the token");
	/* Another session's token does not do. */
	char other[SESSION_ID_HEX];
	struct session_info oinfo;
	cr_assert_eq(session_create(s, "agent", "", 0, other, errstr, sizeof(errstr)), 0);
	cr_assert_eq(session_get(s, other, 1, &oinfo), 1);
	cr_expect_not(session_csrf_ok(&info, oinfo.csrf));
	session_store_free(s);
}

Test(editions_session, flash_once)
{
	struct session_store *s = session_store_new(TTL, 100, 1 << 20);
	char id[SESSION_ID_HEX], errstr[128];
	struct session_info info;
	cr_assert_eq(session_create(s, "agent", "", 0, id, errstr, sizeof(errstr)), 0);
	session_flash(s, id, "Le rapport a été remplacé.");
	cr_assert_eq(session_get(s, id, 1, &info), 1);
	cr_expect_str_eq(info.flash, "Le rapport a été remplacé.");
	cr_assert_eq(session_get(s, id, 2, &info), 1);
	cr_expect_str_eq(info.flash, "", "shown once");
	session_flash(s, "unknown", "x"); /* nothing to do, nothing breaks */
	session_store_free(s);
}

Test(editions_session, pending_uploads)
{
	struct session_store *s = session_store_new(TTL, 100, 10);
	char id[SESSION_ID_HEX], id2[SESSION_ID_HEX], errstr[128];
	cr_assert_eq(session_create(s, "a", "", 0, id, errstr, sizeof(errstr)), 0);
	cr_assert_eq(session_create(s, "b", "", 0, id2, errstr, sizeof(errstr)), 0);
	cr_expect_eq(session_pending_put(s, id, "ML1", strdup("123456"), 6, 1), 0);
	struct session_info info;
	cr_assert_eq(session_get(s, id, 1, &info), 1);
	cr_expect_str_eq(info.pending_ml, "ML1");
	cr_expect_eq(info.pending_rows, 1);
	/* The store holds at most 10 bytes of uploads. */
	cr_expect_eq(session_pending_put(s, id2, "ML2", strdup("12345"), 5, 1), 1);
	size_t len = 0;
	cr_expect_null(session_pending_take(s, id, "ML2", &len), "not for another report");
	char *got = session_pending_take(s, id, "ML1", &len);
	cr_assert_not_null(got);
	cr_expect_eq(len, 6);
	cr_expect_eq(memcmp(got, "123456", 6), 0);
	free(got);
	cr_expect_null(session_pending_take(s, id, "ML1", &len), "taken once");
	/* Room again; a new upload replaces the previous one of the session. */
	cr_expect_eq(session_pending_put(s, id2, "ML2", strdup("12345"), 5, 1), 0);
	cr_expect_eq(session_pending_put(s, id2, "ML2", strdup("abcdefgh"), 8, 2), 0);
	got = session_pending_take(s, id2, "ML2", &len);
	cr_assert_not_null(got);
	cr_expect_eq(len, 8);
	free(got);
	cr_expect_eq(session_pending_put(s, "unknown", "ML2", strdup("x"), 1, 0), -1);
	/* An ended session's upload goes with it. */
	cr_expect_eq(session_pending_put(s, id, "ML1", strdup("123"), 3, 0), 0);
	session_end(s, id);
	session_store_free(s);
}

Test(editions_session, bounded_number_oldest_go)
{
	struct session_store *s = session_store_new(TTL, 3, 1 << 20);
	char id[4][SESSION_ID_HEX], errstr[128];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(session_create(s, "u", "", i, id[i], errstr, sizeof(errstr)), 0);
	struct session_info info;
	cr_expect_eq(session_count(s), 3);
	cr_expect_eq(session_get(s, id[0], 5, &info), 0, "the oldest went");
	for (int i = 1; i < 4; i++)
		cr_expect_eq(session_get(s, id[i], 5, &info), 1, "session %d", i);
	session_store_free(s);
}

Test(editions_session, random_bytes)
{
	unsigned char a[32] = { 0 }, b[32] = { 0 }, zero[32] = { 0 };
	cr_assert_eq(session_random(a, sizeof(a)), 0);
	cr_assert_eq(session_random(b, sizeof(b)), 0);
	cr_expect_neq(memcmp(a, zero, 32), 0);
	cr_expect_neq(memcmp(a, b, 32), 0);
}

/* --- the lock-out ------------------------------------------------------------ */

Test(editions_throttle, five_failures_in_15_minutes_lock_15_minutes)
{
	struct throttle *t = throttle_new(5, 900, 900, 100);
	cr_assert_not_null(t);
	unsigned n = 0;
	for (int i = 0; i < 4; i++) {
		cr_expect_eq(throttle_locked(t, "agent", 100 + i), 0);
		cr_expect_eq(throttle_failed(t, "agent", 100 + i, &n), 0, "failure %d", i + 1);
		cr_expect_eq(n, (unsigned)i + 1);
	}
	cr_expect_eq(throttle_failed(t, "agent", 200, &n), 900, "the 5th locks");
	cr_expect_eq(n, 5);
	cr_expect_eq(throttle_locked(t, "agent", 200), 900);
	cr_expect_eq(throttle_locked(t, "agent", 1099), 1);
	cr_expect_eq(throttle_locked(t, "other", 200), 0, "another login is free");
	/* A failure while locked does not lengthen the lock. */
	cr_expect_eq(throttle_failed(t, "agent", 500, &n), 600);
	cr_expect_eq(throttle_locked(t, "agent", 1100), 0, "free after 15 min");
	cr_expect_eq(throttle_failed(t, "agent", 1100, &n), 0);
	cr_expect_eq(n, 1, "counting again from zero");
	throttle_free(t);
}

Test(editions_throttle, failures_older_than_the_window_do_not_count)
{
	struct throttle *t = throttle_new(5, 900, 900, 100);
	unsigned n = 0;
	for (int i = 0; i < 4; i++)
		throttle_failed(t, "agent", i * 100, &n); /* 0, 100, 200, 300 */
	/* At 950, the failure at 0 is outside the window: 4 in it. */
	cr_expect_eq(throttle_failed(t, "agent", 950, &n), 0);
	cr_expect_eq(n, 4);
	cr_expect_eq(throttle_failed(t, "agent", 960, &n), 900);
	throttle_free(t);
}

Test(editions_throttle, success_forgets)
{
	struct throttle *t = throttle_new(5, 900, 900, 100);
	unsigned n = 0;
	for (int i = 0; i < 4; i++)
		throttle_failed(t, "agent", i, &n);
	throttle_succeeded(t, "agent");
	cr_expect_eq(throttle_failed(t, "agent", 10, &n), 0);
	cr_expect_eq(n, 1);
	throttle_free(t);
}

Test(editions_throttle, bounded_logins)
{
	struct throttle *t = throttle_new(2, 900, 900, 2);
	unsigned n = 0;
	throttle_failed(t, "a", 1, &n);
	throttle_failed(t, "a", 2, &n); /* a locked */
	throttle_failed(t, "b", 3, &n);
	throttle_failed(t, "c", 4, &n); /* one goes: b, the oldest that is not locked */
	cr_expect_eq(throttle_locked(t, "a", 5), 897, "a locked one stays locked");
	cr_expect_eq(throttle_failed(t, "c", 5, &n), 900, "c kept its count");
	cr_expect_eq(throttle_failed(t, "b", 6, &n), 0);
	cr_expect_eq(n, 1, "b was forgotten");
	throttle_free(t);
}
