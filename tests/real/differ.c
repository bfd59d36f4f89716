// SPDX-License-Identifier: Apache-2.0
// The process of the diff pairs (tests/data/real/diff-*.tar.zst):
//   differ INFO_FILE DIR_BEFORE DIR_AFTER PORT
// sets up its "before" state, writes it to INFO_FILE ("key value" lines;
// the file is opened and closed, so it is no descriptor of the dump) and
// waits. On SIGUSR1 it makes the planted changes, appends them to
// INFO_FILE and waits again. Stdio is expected on /dev/null.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define REGION 0x600000000000UL	/* 2 pages rw-: bytes changed in place */
#define PROT_REGION 0x600000100000UL	/* 1 page rw-, made r-- */
#define NEW_REGION 0x600000200000UL	/* 4 pages, mapped by the change */
#define PAGE 4096UL
#define MARK_OFF 0x100
#define BEFORE "BEFORE-CHANGE-0001"
#define AFTER "AFTER--CHANGE-0002"

static volatile sig_atomic_t go;
static const char *info;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static void note(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	int fd = open(info, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, n) != n)
		exit(1);
	close(fd);
}

static void *map_at(unsigned long addr, size_t len)
{
	void *p = mmap((void *)addr, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)addr)
		exit(1);
	return p;
}

static void *worker(void *arg)
{
	(void)arg;
	/* named from inside: pthread_setname_np on another thread goes through
	 * /proc/self/task/TID, and /proc here is the host's, not the namespace's */
	prctl(PR_SET_NAME, "differ-worker");
	for (;;)
		pause();
	return NULL;
}

static int tcp_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		exit(1);
	return s;
}

static void change(const char *after_dir, int port, int old_fd)
{
	memcpy((char *)REGION + MARK_OFF, AFTER, strlen(AFTER));
	note("changed_addr %#lx\nchanged_len %zu\nchanged_to %s\n", REGION + MARK_OFF, strlen(AFTER), AFTER);

	char *n = map_at(NEW_REGION, 4 * PAGE);
	for (int i = 0; i < 4; i++)
		snprintf(n + i * PAGE, PAGE, "NEW-MAPPING-PAGE-%d", i);
	note("new_start %#lx\nnew_end %#lx\n", NEW_REGION, NEW_REGION + 4 * PAGE);

	if (mprotect((void *)PROT_REGION, PAGE, PROT_READ))
		exit(1);
	note("mprotect_start %#lx\nmprotect_end %#lx\nmprotect_from rw-p\nmprotect_to r--p\n",
	     PROT_REGION, PROT_REGION + PAGE);

	int fd = open("/etc/hostname", O_RDONLY);
	note("fd_opened %d /etc/hostname\n", fd);

	if (chdir(after_dir))
		exit(1);
	note("cwd_after %s\n", after_dir);

	pid_t c = fork();
	if (c == 0) {
		prctl(PR_SET_NAME, "differ-child");
		for (;;)
			pause();
	}
	note("child_pid %d\nchild_comm differ-child\n", c);

	pthread_t t;
	if (pthread_create(&t, NULL, worker, NULL))
		exit(1);
	note("thread_name differ-worker\n");

	int s = tcp_to(port);
	struct sockaddr_in me;
	socklen_t len = sizeof(me);
	getsockname(s, (struct sockaddr *)&me, &len);
	note("tcp_fd %d\ntcp_local 127.0.0.1:%d\ntcp_remote 127.0.0.1:%d\n", s, ntohs(me.sin_port), port);

	close(old_fd);	/* last, so that no new descriptor takes its number */
	note("fd_closed %d /etc/debian_version\n", old_fd);
	note("after_ready 1\n");
}

int main(int argc, char **argv)
{
	if (argc != 5)
		return 2;
	info = argv[1];
	signal(SIGUSR1, on_usr1);
	char *r = map_at(REGION, 2 * PAGE);
	memset(r, 'r', 2 * PAGE);
	memcpy(r + MARK_OFF, BEFORE, strlen(BEFORE));
	char *p = map_at(PROT_REGION, PAGE);
	memset(p, 'p', PAGE);
	int old = open("/etc/debian_version", O_RDONLY);
	if (old < 0 || chdir(argv[2]))
		return 1;
	note("pid %d\nregion_start %#lx\nregion_end %#lx\nmarker_addr %#lx\nmarker_before %s\n"
	     "prot_region %#lx\nold_fd %d\ncwd_before %s\nbefore_ready 1\n",
	     getpid(), REGION, REGION + 2 * PAGE, REGION + MARK_OFF, BEFORE, PROT_REGION, old, argv[2]);
	while (!go)
		pause();
	change(argv[3], atoi(argv[4]), old);
	for (;;)
		pause();
}
