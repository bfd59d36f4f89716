// SPDX-License-Identifier: Apache-2.0
// The process of the pre-dump chain (tests/data/real/predump-*.tar.zst):
//   pager INFO_FILE
// fills 64 pages at 0x600000000000 with "PAGE-nn-GEN-0", writes INFO_FILE
// and waits; on SIGUSR1 it rewrites pages 3, 10, 11, 12 and 40 with
// "PAGE-nn-GEN-1" (between `criu pre-dump` and `criu dump`).
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define REGION 0x600000000000UL
#define PAGE 4096UL
#define NPAGES 64

static volatile sig_atomic_t go;

static void on_usr1(int sig)
{
	(void)sig;
	go = 1;
}

static void fill(char *page, int n, int gen)
{
	char tag[32];
	int len = snprintf(tag, sizeof(tag), "PAGE-%02d-GEN-%d;", n, gen);
	for (size_t off = 0; off + len <= PAGE; off += len)
		memcpy(page + off, tag, len);
}

static void note(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		_exit(1);
	close(fd);
}

int main(int argc, char **argv)
{
	static const int changed[] = { 3, 10, 11, 12, 40 };
	char buf[256];
	if (argc != 2)
		return 2;
	signal(SIGUSR1, on_usr1);
	char *r = mmap((void *)REGION, NPAGES * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r != (void *)REGION)
		return 1;
	for (int i = 0; i < NPAGES; i++)
		fill(r + i * PAGE, i, 0);
	snprintf(buf, sizeof(buf), "pid %d\nregion_start %#lx\nregion_end %#lx\nready0 1\n",
		 getpid(), REGION, REGION + NPAGES * PAGE);
	note(argv[1], buf);
	while (!go)
		pause();
	for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		fill(r + changed[i] * PAGE, changed[i], 1);
		snprintf(buf, sizeof(buf), "changed_page %#lx\n", REGION + changed[i] * PAGE);
		note(argv[1], buf);
	}
	note(argv[1], "ready1 1\n");
	for (;;)
		pause();
}
