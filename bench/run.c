/* SPDX-License-Identifier: MIT */
/* bench-run PROGRAM ARGS...: runs one command with stdio on /dev/null and prints
 * "SECONDS MAXRSS_KIB EXIT" (wall clock from fork to reap; the child's own peak RSS). A small C
 * parent keeps the figures honest: a child forked by Python would inherit Python's peak RSS. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        struct timespec t0, t1;
        struct rusage ru;
        int status = 0;
        pid_t pid;

        if (argc < 2) {
                fprintf(stderr, "usage: bench-run PROGRAM [ARGS...]\n");
                return 2;
        }
        clock_gettime(CLOCK_MONOTONIC, &t0);
        pid = fork();
        if (pid < 0) {
                perror("fork");
                return 2;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);

                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
                        _exit(126);
                execv(argv[1], argv + 1);
                _exit(127);
        }
        if (wait4(pid, &status, 0, &ru) < 0) {
                perror("wait4");
                return 2;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("%.9f %ld %d\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
               ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
        return 0;
}
