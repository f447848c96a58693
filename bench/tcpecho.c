/* The T1 scenario's TCP echo server and load client (one epoll loop each).
 *
 *   tcpecho server PORT
 *   tcpecho client PORT CONNS ECHOES_PER_CONN SECONDS SIZE
 *
 * The client keeps CONNS connections busy: each sends SIZE bytes, waits for
 * them back, ECHOES_PER_CONN times, then closes and a new one opens. It
 * prints one line: BENCH_JSON {"echoes":..,"connections":..,"errors":..,
 * "duration_us":..,"p50_us":..,"p99_us":..}. Built by bench/stream.py. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define BUCKETS 100000 /* latency histogram: 10 us buckets up to 1 s */

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int serve(int port) {
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 4096)) {
        perror("listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd}, evs[MAX_EVENTS];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    char buf[65536];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd) {
                int c;
                while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            ssize_t got = read(fd, buf, sizeof buf);
            if (got <= 0) {
                if (got < 0 && errno == EAGAIN) continue;
                close(fd);
                continue;
            }
            /* small echoes fit the socket buffer: a short write is an error here */
            if (write(fd, buf, got) != got) close(fd);
        }
    }
}

struct conn { int fd; int left; size_t got; double sent_at; };

static long long echoes, opened, errors;
static unsigned hist[BUCKETS];

static void open_conn(int ep, struct conn *c, int port, int per_conn) {
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&a, sizeof a)) {
        errors++;
        close(c->fd);
        c->fd = -1;
        return;
    }
    opened++;
    c->left = per_conn;
    c->got = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static void send_one(struct conn *c, const char *msg, size_t size) {
    c->sent_at = now_us();
    c->got = 0;
    if (write(c->fd, msg, size) != (ssize_t)size) errors++;
}

static double percentile(double p) {
    long long total = 0, seen = 0;
    for (int i = 0; i < BUCKETS; i++) total += hist[i];
    for (int i = 0; i < BUCKETS; i++) {
        seen += hist[i];
        if (total && seen * 100.0 >= p * total) return i * 10.0;
    }
    return 0;
}

static int load(int port, int conns, int per_conn, double seconds, size_t size) {
    int ep = epoll_create1(0);
    struct conn *cs = calloc(conns, sizeof *cs);
    char *msg = malloc(size), buf[65536];
    memset(msg, 'e', size);
    double start = now_us(), end = start + seconds * 1e6;
    for (int i = 0; i < conns; i++) {
        open_conn(ep, &cs[i], port, per_conn);
        if (cs[i].fd >= 0) send_one(&cs[i], msg, size);
    }
    struct epoll_event evs[MAX_EVENTS];
    while (now_us() < end) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, 100);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            ssize_t got = read(c->fd, buf, sizeof buf);
            if (got <= 0) { errors++; c->got = 0; c->left = 0; }
            else c->got += got;
            if (got > 0 && c->got < size) continue;
            if (got > 0) {
                double us = now_us() - c->sent_at;
                int b = (int)(us / 10);
                hist[b < BUCKETS ? b : BUCKETS - 1]++;
                echoes++;
                c->left--;
            }
            if (c->left > 0) { send_one(c, msg, size); continue; }
            close(c->fd);
            open_conn(ep, c, port, per_conn);
            if (c->fd >= 0) send_one(c, msg, size);
        }
    }
    printf("BENCH_JSON {\"echoes\":%lld,\"connections\":%lld,\"errors\":%lld,"
           "\"duration_us\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f}\n",
           echoes, opened, errors, now_us() - start, percentile(50), percentile(99));
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "server")) return serve(atoi(argv[2]));
    if (argc == 7 && !strcmp(argv[1], "client"))
        return load(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atof(argv[5]),
                    (size_t)atoi(argv[6]));
    fprintf(stderr, "usage: tcpecho server PORT | client PORT CONNS ECHOES SECONDS SIZE\n");
    return 2;
}
