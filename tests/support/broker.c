#include "broker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "proc.h"

#define TEST_BROKER_WAIT_MS 10000

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
	if (pipe2(fds, O_CLOEXEC) < 0) {
		fprintf(stderr, "test_broker: pipe: %s\n", strerror(errno));
		return -1;
	}
	/* Its stdout (the address) into the pipe; the broker must not outlive
	 * a test that crashed. */
	char bin[4096], parts[32];
	snprintf(parts, sizeof(parts), "%d", partitions);
	const char *argv[] = { test_proc_bin("aij-broker", bin, sizeof(bin)), "--partitions",
			       parts, "--log-level", "warn", NULL };
	struct test_proc_io io = { .out_fd = fds[1], .death_signal = SIGTERM };
	pid_t pid = test_proc_spawn(argv, &io);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
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
	int status = test_proc_stop(b->pid, SIGTERM, TEST_BROKER_WAIT_MS);
	b->pid = 0;
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
