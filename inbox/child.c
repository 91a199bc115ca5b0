#include "child.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "signals.h"

extern char **environ;

/* Variables a child would read that the inbox decides by its flags. */
static const char *const child_env_dropped[] = {
	"AIJ_ACCEPT=", "AIJ_REPLAY=", "AIJ_FILE=", "AIJ_DOSSIERS=", "AIJ_ATTEMPT=",
	"AIJ_RUN_ID=", "AIJ_HISTORY=", "AIJ_FAKE_NOW=",
};

int child_self_dir(char *dir, size_t size, char *errstr, size_t errstr_size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		snprintf(errstr, errstr_size, "cannot read '/proc/self/exe': %s",
			 strerror(errno));
		return -1;
	}
	exe[n] = '\0';
	if ((size_t)snprintf(dir, size, "%s", dirname(exe)) >= size) {
		snprintf(errstr, errstr_size, "path too long: '%s'", exe);
		return -1;
	}
	return 0;
}

/* The environment for a child: environ without child_env_dropped. Free the
 * array (not the strings) with free(). */
static char **child_env(void)
{
	size_t n = 0;
	while (environ[n])
		n++;
	char **env = calloc(n + 1, sizeof(*env));
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		int drop = 0;
		for (size_t j = 0; j < sizeof(child_env_dropped) / sizeof(child_env_dropped[0]); j++)
			if (strncmp(environ[i], child_env_dropped[j],
				    strlen(child_env_dropped[j])) == 0)
				drop = 1;
		if (!drop)
			env[k++] = environ[i];
	}
	env[k] = NULL;
	return env;
}

static int child_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

int child_run(const char *bin_dir, char *const argv[], int *stopped,
	      char *errstr, size_t errstr_size)
{
	char path[PATH_MAX];
	*stopped = 0;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", bin_dir, argv[0]) >= sizeof(path)) {
		snprintf(errstr, errstr_size, "path too long: '%s/%s'", bin_dir, argv[0]);
		return -1;
	}
	char line[1536];
	size_t len = 0;
	for (size_t i = 0; argv[i] && len < sizeof(line); i++)
		len += (size_t)snprintf(line + len, sizeof(line) - len, "%s%s",
					i ? " " : "", argv[i]);
	log_info("running %s", line);

	/* The child starts with the default dispositions (the inbox ignores
	 * SIGPIPE, and an ignored signal stays so across exec) and no signal
	 * blocked. */
	posix_spawnattr_t attr;
	sigset_t def, none;
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	sigemptyset(&none);
	char **env = child_env();
	if (!env) {
		snprintf(errstr, errstr_size, "out of memory");
		return -1;
	}
	pid_t pid;
	int err = posix_spawnattr_init(&attr);
	if (!err)
		err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
							POSIX_SPAWN_SETSIGMASK);
	if (!err)
		err = posix_spawnattr_setsigdefault(&attr, &def);
	if (!err)
		err = posix_spawnattr_setsigmask(&attr, &none);
	if (!err)
		err = posix_spawn(&pid, path, NULL, &attr, argv, env);
	posix_spawnattr_destroy(&attr);
	free(env);
	if (err) {
		snprintf(errstr, errstr_size, "cannot run '%s': %s", path, strerror(err));
		return -1;
	}

	long term_at = 0;
	int killed = 0;
	for (;;) {
		int status;
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			return child_status(status);
		if (w < 0 && errno != EINTR) {
			snprintf(errstr, errstr_size, "cannot wait for '%s': %s", argv[0],
				 strerror(errno));
			return -1;
		}
		if (signals_stop && !term_at) {
			log_info("stopping: passing SIGTERM on to %s (pid %d)", argv[0], (int)pid);
			kill(pid, SIGTERM);
			term_at = clock_now_ms();
			*stopped = 1;
		}
		if (term_at && !killed && clock_now_ms() - term_at > CHILD_STOP_GRACE_MS) {
			log_error("%s (pid %d) did not stop within %d s of SIGTERM: killing it",
				  argv[0], (int)pid, CHILD_STOP_GRACE_MS / 1000);
			kill(pid, SIGKILL);
			killed = 1;
		}
		clock_sleep_ms(50);
	}
}
