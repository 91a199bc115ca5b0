/* Test helper: the one way the tests start a process (a program, or a
 * function of the test in a child), choose where its output goes, wait for
 * it and stop it.
 *
 *   char bin[4096];
 *   const char *argv[] = { test_proc_bin("aij-matcher", bin, sizeof(bin)),
 *                          "--batch", "0", NULL };
 *   struct test_proc_io io = { .err = "/dev/null" };
 *   pid_t pid = test_proc_spawn(argv, &io);
 *   int status = test_proc_wait(pid, -1);       (a wait status, as waitpid's)
 *
 * The pipeline's programs are in $AIJ_BIN (default "build/bin", so run the
 * tests from the repository root); a name without '/' is looked up in PATH. */
#ifndef AIJ_TEST_PROC_H
#define AIJ_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* Where a child's standard output and error go; a zeroed struct (or NULL):
 * the test's own. */
struct test_proc_io {
	const char *out;  /* stdout into this file, created ("/dev/null": dropped) */
	const char *err;  /* stderr into this file, created */
	int append;       /* out and err opened for appending, not truncated */
	int out_fd;       /* > 0: stdout onto this descriptor (a pipe's end) */
	int death_signal; /* > 0: sent to the child when the test dies, so that
			     a crashed test leaves nothing running (PR_SET_PDEATHSIG) */
};

/* $AIJ_BIN/name (AIJ_BIN default "build/bin") into buf; returns buf. */
const char *test_proc_bin(const char *name, char *buf, size_t size);

/* Starts argv[0] (a path, or a name looked up in PATH) with argv
 * (NULL-terminated), its output as io says. Returns its pid, or -1 after
 * printing why on stderr. A child that cannot set its output up exits 126,
 * one that cannot run the program 127, saying why on its stderr. */
pid_t test_proc_spawn(const char *const argv[], const struct test_proc_io *io);

/* Starts a child process that runs fn(arg) and exits with what it returns
 * (0..255). Returns its pid, or -1 after printing why on stderr. */
pid_t test_proc_call(int (*fn)(void *arg), void *arg, const struct test_proc_io *io);

/* Waits at most timeout_ms (0: only looks; < 0: no limit) for the child pid
 * to end, and reaps it. Returns its wait status, or -1 when it still runs
 * (or cannot be waited for). */
int test_proc_wait(pid_t pid, long timeout_ms);

/* Sends sig to pid and waits at most timeout_ms (< 0: no limit) for it to
 * end; past that, kills it (SIGKILL, saying so on stderr) and reaps it.
 * Returns the wait status it ended with after sig, or -1 when it had to be
 * killed. */
int test_proc_stop(pid_t pid, int sig, long timeout_ms);

/* The exit code a wait status stands for: the exit status, or 128 + N when
 * killed by signal N (-1 stays -1). */
int test_proc_code(int status);

#endif
