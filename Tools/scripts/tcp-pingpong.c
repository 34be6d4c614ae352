// The floor under the latency workload: a bare TCP ping-pong over loopback with messages the
// size of an Ice ping request (14 bytes) and its reply (25 bytes), one write and one read per
// message, TCP_NODELAY, blocking sockets. Tools/bench.sh prints its time per round trip beside
// the table, so a run's latency figures can be read against what the machine allows that day.
//
//   tcp-pingpong PORT [ROUND_TRIPS [CLIENT_CPU SERVER_CPU]]
//
// It forks its server and prints "<µs> us/rt". With CPUs given, each end is pinned to its CPU.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

// Reads exactly n bytes; 0 on success.
static int readFully(int fd, char* buf, size_t n)
{
    while(n > 0)
    {
        ssize_t r = read(fd, buf, n);
        if(r <= 0)
        {
            return -1;
        }
        buf += r;
        n -= (size_t)r;
    }
    return 0;
}

static void fail(const char* what)
{
    perror(what);
    exit(1);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if(sched_setaffinity(0, sizeof set, &set))
    {
        fail("tcp-pingpong: sched_setaffinity");
    }
}

int main(int argc, char* argv[])
{
    if(argc < 2)
    {
        fprintf(stderr, "usage: tcp-pingpong PORT [ROUND_TRIPS [CLIENT_CPU SERVER_CPU]]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    int trips = argc > 2 ? atoi(argv[2]) : 20000;
    int clientCpu = argc > 4 ? atoi(argv[3]) : -1;
    int serverCpu = argc > 4 ? atoi(argv[4]) : -1;
    if(port <= 0 || port > 65535 || trips <= 0 || (argc > 3 && argc != 5))
    {
        fprintf(stderr, "tcp-pingpong: bad port or round-trip count\n");
        return 2;
    }
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    char buf[64] = {0};

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if(bind(listener, (struct sockaddr*)&address, sizeof address) || listen(listener, 1))
    {
        fail("tcp-pingpong: listen");
    }
    pid_t server = fork();
    if(server < 0)
    {
        fail("tcp-pingpong: fork");
    }
    if(server == 0)
    {
        if(serverCpu >= 0)
        {
            pin(serverCpu);
        }
        int peer = accept(listener, NULL, NULL);
        setsockopt(peer, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        while(readFully(peer, buf, 14) == 0 && write(peer, buf, 25) == 25)
        {
        }
        _exit(0);
    }
    close(listener);
    if(clientCpu >= 0)
    {
        pin(clientCpu);
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if(connect(s, (struct sockaddr*)&address, sizeof address))
    {
        fail("tcp-pingpong: connect");
    }
    double start = 0;
    for(int i = -1000; i < trips; ++i) // 1,000 round trips of warm-up
    {
        if(i == 0)
        {
            start = seconds();
        }
        if(write(s, buf, 14) != 14 || readFully(s, buf, 25))
        {
            fail("tcp-pingpong: round trip");
        }
    }
    double elapsed = seconds() - start;
    close(s);
    waitpid(server, NULL, 0);
    printf("%.1f us/rt\n", elapsed / trips * 1e6);
    return 0;
}
