/* aij-bench-measure: runs a program and records what it cost, for the
 * benchmark (bench/run).
 *
 * Usage: aij-bench-measure OUTFILE PROGRAM [ARGS...]
 *
 * Starts PROGRAM, forwards SIGTERM and SIGINT to it (aij-local stops its
 * programs that way), waits for it with wait4() and appends one line to
 * OUTFILE:
 *   name start end wall_s user_s sys_s maxrss_kb exit
 * (start/end: Unix time in seconds). Exits with the program's status.
 *
 * In C rather than a script: python3 takes ~0.4 s to start on our build
 * machines, and bench/run wraps every program of the pipeline, several of
 * them one after the other on the way of the measured job. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t measure_child;

static void measure_forward(int sig)
{
	if (measure_child > 0)
		kill((pid_t)measure_child, sig);
}

static double measure_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double measure_seconds(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: aij-bench-measure OUTFILE PROGRAM [ARGS...]\n");
		return 2;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = measure_forward;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	double start = measure_now();
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "measure: cannot fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "measure: cannot run '%s': %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	measure_child = pid;
	int status = 0;
	struct rusage ru;
	while (wait4(pid, &status, 0, &ru) < 0)
		if (errno != EINTR) {
			fprintf(stderr, "measure: wait4: %s\n", strerror(errno));
			return 1;
		}
	double end = measure_now();
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
	const char *name = strrchr(argv[2], '/');
	name = name ? name + 1 : argv[2];
	FILE *out = fopen(argv[1], "a");
	if (!out || fprintf(out, "%s %.3f %.3f %.3f %.3f %.3f %ld %d\n", name, start, end,
			    end - start, measure_seconds(ru.ru_utime),
			    measure_seconds(ru.ru_stime), ru.ru_maxrss, code) < 0 ||
	    fclose(out) != 0) {
		fprintf(stderr, "measure: cannot write '%s': %s\n", argv[1], strerror(errno));
		return 1;
	}
	return code >= 0 ? code : 128 - code;
}
