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
 *
 * Built by the benchmark with `cc -O2 -static`; not part of airgap.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

int main(int argc, char **argv) {
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
