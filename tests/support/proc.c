#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

#define TEST_PROC_POLL_MS 10

const char *test_proc_bin(const char *name, char *buf, size_t size)
{
	const char *dir = getenv("AIJ_BIN");
	snprintf(buf, size, "%s/%s", dir && *dir ? dir : "build/bin", name);
	return buf;
}

/* In the child: path (a file, created) onto fd, for writing. 0 or -1. */
static int test_proc_redirect(const char *path, int append, int fd)
{
	int flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC);
	int file = open(path, flags, 0644);
	if (file < 0) {
		fprintf(stderr, "test_proc: cannot open '%s': %s\n", path, strerror(errno));
		return -1;
	}
	int rc = dup2(file, fd) < 0 ? -1 : 0;
	close(file);
	return rc;
}

/* Forks; in the child, sets its output up as io says (exit 126 when it
 * cannot). Returns what fork() returned, -1 printed. */
static pid_t test_proc_fork(const struct test_proc_io *io)
{
	fflush(NULL); /* no buffered output duplicated into the child */
	pid_t pid = fork();
	if (pid < 0)
		fprintf(stderr, "test_proc: fork: %s\n", strerror(errno));
	if (pid != 0 || !io)
		return pid;
	if (io->death_signal > 0)
		prctl(PR_SET_PDEATHSIG, io->death_signal);
	if (io->out_fd > 0 && io->out_fd != STDOUT_FILENO &&
	    (dup2(io->out_fd, STDOUT_FILENO) < 0 || close(io->out_fd) < 0))
		_exit(126);
	if ((io->out && test_proc_redirect(io->out, io->append, STDOUT_FILENO) < 0) ||
	    (io->err && test_proc_redirect(io->err, io->append, STDERR_FILENO) < 0))
		_exit(126);
	return 0;
}

pid_t test_proc_spawn(const char *const argv[], const struct test_proc_io *io)
{
	pid_t pid = test_proc_fork(io);
	if (pid != 0)
		return pid;
	execvp(argv[0], (char *const *)argv);
	fprintf(stderr, "test_proc: cannot run '%s': %s\n", argv[0], strerror(errno));
	_exit(127);
}

pid_t test_proc_call(int (*fn)(void *arg), void *arg, const struct test_proc_io *io)
{
	pid_t pid = test_proc_fork(io);
	if (pid != 0)
		return pid;
	_exit(fn(arg) & 0xff);
}

int test_proc_wait(pid_t pid, long timeout_ms)
{
	long deadline = clock_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, timeout_ms < 0 ? 0 : WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0 && clock_now_ms() >= deadline)
			return -1;
		if (r == 0)
			clock_sleep_ms(TEST_PROC_POLL_MS);
	}
}

int test_proc_stop(pid_t pid, int sig, long timeout_ms)
{
	kill(pid, sig);
	int status = test_proc_wait(pid, timeout_ms);
	if (status != -1)
		return status;
	fprintf(stderr, "test_proc: process %d still running %ld ms after signal %d, "
		"killing it\n", (int)pid, timeout_ms, sig);
	kill(pid, SIGKILL);
	test_proc_wait(pid, -1);
	return -1;
}

int test_proc_code(int status)
{
	if (status == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
