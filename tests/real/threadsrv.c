// SPDX-License-Identifier: Apache-2.0
// A multi-threaded TCP server whose threads have names (rough-threads):
//   threadsrv PORT
// three "worker-N" threads accept on one listening socket on 127.0.0.1
// and answer each request with their name; a "stats" thread counts. Each
// thread names itself (pthread_setname_np on pthread_self(): naming
// another thread goes through /proc/self/task, the host's /proc here).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int lsock;
static atomic_int served;

static void *worker(void *arg)
{
	char name[16], buf[512];
	snprintf(name, sizeof(name), "worker-%d", (int)(long)arg);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		int c = accept(lsock, NULL, NULL);
		if (c < 0)
			continue;
		if (read(c, buf, sizeof(buf)) > 0) {
			int n = snprintf(buf, sizeof(buf), "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n%s\n", name);
			if (write(c, buf, n) == n)
				atomic_fetch_add(&served, 1);
		}
		close(c);
	}
	return NULL;
}

static void *stats(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "stats");
	for (;;)
		sleep(1);
	return NULL;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int one = 1;
	if (argc != 2)
		return 2;
	sa.sin_port = htons(atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lsock = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lsock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) || listen(lsock, 16))
		return 1;
	pthread_t t[4];
	for (long i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, worker, (void *)(i + 1));
	pthread_create(&t[3], NULL, stats, NULL);
	pthread_setname_np(pthread_self(), "threadsrv-main");
	pthread_join(t[3], NULL);
	return 0;
}
