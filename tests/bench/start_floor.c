/*
 * start_floor.c — the floors emulator_bench.py measures the emulator's start
 * against, in the same run, on the same machine: a loaded machine makes any
 * start slow, and only a ratio to these says what the emulator itself costs.
 *
 *   start_floor            exits at once: a trivial static C program (the
 *                          cost of fork, exec and exit alone)
 *   start_floor serve PORT listens on 127.0.0.1:PORT and answers every
 *                          request with an empty 200, one connection at a
 *                          time, until killed: the least any HTTP server
 *                          started this way can take to its first 200
 *   start_floor costs FILE prints what a start is made of on this machine,
 *                          in microseconds: a page fault on FILE mapped
 *                          read-only (as an executable's code is; FILE in
 *                          the page cache), a fault on fresh anonymous memory
 *                          (heap, stacks), a thread made and joined, and a
 *                          `cpuid` (which a virtual machine may trap)
 *
 * Built by the benchmark with `cc -O2 -static`; not part of airgap.
 */
#include <arpa/inet.h>
#include <cpuid.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void *nothing(void *arg) { return arg; }

static volatile unsigned cpuid_sink; /* keeps the cpuid loop */

/* Each cost is the median of several rounds' averages, so that one
 * preempted round does not count. */
#define ROUNDS 9
static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int costs(const char *file) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < (1 << 20))
    return 1;
  /* One touch per 64 KiB: the kernel maps up to 64 KiB around a faulting
   * address of a file (fault-around), so each touch is one fault. */
  size_t span = 64 * 1024, touches = (size_t)st.st_size / span;
  double file_us[ROUNDS], anon_us[ROUNDS], thread_us[ROUNDS], cpuid_us[ROUNDS];
  for (int r = 0; r < ROUNDS; r++) {
    volatile char *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    volatile char *anon =
        mmap(NULL, touches * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || anon == MAP_FAILED)
      return 1;
    double t0 = now_us();
    for (size_t i = 0; i < touches; i++)
      (void)map[i * span];
    double t1 = now_us();
    for (size_t i = 0; i < touches; i++)
      anon[i * 4096] = 1;
    double t2 = now_us();
    file_us[r] = (t1 - t0) / (double)touches;
    anon_us[r] = (t2 - t1) / (double)touches;
    munmap((void *)map, (size_t)st.st_size);
    munmap((void *)anon, touches * 4096);
    t0 = now_us();
    for (int i = 0; i < 8; i++) {
      pthread_t t;
      if (pthread_create(&t, NULL, nothing, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 1;
    }
    thread_us[r] = (now_us() - t0) / 8;
    unsigned a, b, c, d;
    t0 = now_us();
    for (int i = 0; i < 64; i++) {
      __cpuid_count(0x8000001d, (unsigned)i & 3, a, b, c, d);
      cpuid_sink ^= a ^ b ^ c ^ d;
    }
    cpuid_us[r] = (now_us() - t0) / 64;
  }
  double *all[] = {file_us, anon_us, thread_us, cpuid_us};
  for (int k = 0; k < 4; k++)
    qsort(all[k], ROUNDS, sizeof(double), by_value);
  printf("%.2f %.2f %.2f %.2f\n", file_us[ROUNDS / 2], anon_us[ROUNDS / 2], thread_us[ROUNDS / 2],
         cpuid_us[ROUNDS / 2]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "costs") == 0)
    return costs(argv[2]);
  if (argc < 3 || strcmp(argv[1], "serve") != 0)
    return 0;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 64) < 0)
    return 1;
  for (;;) {
    int c = accept(fd, NULL, NULL);
    if (c < 0)
      continue;
    char head[4096];
    size_t have = 0;
    /* Reads up to the end of the request head; the harness sends no body. */
    while (have < sizeof(head) - 1) {
      ssize_t n = read(c, head + have, sizeof(head) - 1 - have);
      if (n <= 0)
        break;
      have += (size_t)n;
      head[have] = '\0';
      if (strstr(head, "\r\n\r\n"))
        break;
    }
    ssize_t w = write(c, reply, sizeof(reply) - 1);
    (void)w;
    close(c);
  }
}
