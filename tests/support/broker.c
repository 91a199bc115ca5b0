#include "broker.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

#define TEST_BROKER_WAIT_MS 10000

/* Reaps pid within timeout_ms; returns its wait status, or -1 if it is still
 * running. */
static int test_broker_reap(pid_t pid, long timeout_ms)
{
	long deadline = clock_now_ms() + timeout_ms;
	for (;;) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return status;
		if (r < 0 && errno != EINTR)
			return -1;
		if (clock_now_ms() >= deadline)
			return -1;
		clock_sleep_ms(20);
	}
}

static void test_broker_exec(int out_fd, int partitions)
{
	/* The broker must not outlive a test that crashed. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (dup2(out_fd, STDOUT_FILENO) < 0)
		_exit(127);
	close(out_fd);

	const char *bin = getenv("AIJ_BIN");
	char path[4096], parts[32];
	snprintf(path, sizeof(path), "%s/aij-broker",
		 bin && *bin ? bin : "build/bin");
	snprintf(parts, sizeof(parts), "%d", partitions);
	char *argv[] = { path, "--partitions", parts, "--log-level", "warn", NULL };
	execv(path, argv);
	fprintf(stderr, "test_broker: cannot run '%s': %s\n", path, strerror(errno));
	_exit(127);
}

/* Reads one line from fd into buf within timeout_ms. Returns 0 or -1. */
static int test_broker_read_line(int fd, char *buf, size_t size, long timeout_ms)
{
	long deadline = clock_now_ms() + timeout_ms;
	size_t len = 0;
	while (len + 1 < size) {
		long left = deadline - clock_now_ms();
		if (left <= 0)
			return -1;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		ssize_t n = read(fd, buf + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1; /* the broker exited before printing */
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return 0;
		}
		len++;
	}
	return -1;
}

int test_broker_start(struct test_broker *b, int partitions)
{
	memset(b, 0, sizeof(*b));
	int fds[2];
	if (pipe(fds) < 0) {
		fprintf(stderr, "test_broker: pipe: %s\n", strerror(errno));
		return -1;
	}
	fflush(NULL); /* no buffered output duplicated into the child */
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "test_broker: fork: %s\n", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		test_broker_exec(fds[1], partitions);
	}
	close(fds[1]);
	int rc = test_broker_read_line(fds[0], b->bootstrap, sizeof(b->bootstrap),
				       TEST_BROKER_WAIT_MS);
	close(fds[0]);
	b->pid = pid;
	if (rc < 0 || !b->bootstrap[0]) {
		fprintf(stderr, "test_broker: aij-broker gave no bootstrap address "
			"within %d ms\n", TEST_BROKER_WAIT_MS);
		test_broker_stop(b);
		return -1;
	}
	return 0;
}

int test_broker_stop(struct test_broker *b)
{
	if (b->pid <= 0)
		return 0;
	kill(b->pid, SIGTERM);
	int status = test_broker_reap(b->pid, TEST_BROKER_WAIT_MS);
	if (status == -1) {
		fprintf(stderr, "test_broker: aij-broker %d ignored SIGTERM, killing it\n",
			(int)b->pid);
		kill(b->pid, SIGKILL);
		test_broker_reap(b->pid, TEST_BROKER_WAIT_MS);
	}
	b->pid = 0;
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
