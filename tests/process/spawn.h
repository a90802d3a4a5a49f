/* Spawning peer processes (tests/peer.c) and reading what they print. */
#ifndef ZL_TEST_SPAWN_H
#define ZL_TEST_SPAWN_H

#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>

#include "harness.h"

extern char **environ;

typedef struct peer_process {
    pid_t pid;
    int out; /* its stdout */
    char text[4096];
    size_t length;
} peer_process;

/* Starts `peer` with the NULL-terminated arguments after it. */
static inline void peer_start(peer_process *p, const char *peer, ...)
{
    const char *argv[32];
    int argc = 0;
    argv[argc++] = peer;
    va_list ap;
    va_start(ap, peer);
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL && argc < 31)
        argv[argc++] = arg;
    va_end(ap);
    argv[argc] = NULL;
    int pipe_fds[2];
    CHECK(pipe2(pipe_fds, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
    CHECK(posix_spawn(&p->pid, peer, &actions, NULL, (char *const *)argv, environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_fds[1]);
    p->out = pipe_fds[0];
    p->length = 0;
    p->text[0] = '\0';
}

/* Reads its stdout until it contains needle (or EOF). */
static inline bool peer_wait_for(peer_process *p, const char *needle)
{
    while (strstr(p->text, needle) == NULL) {
        ssize_t n = read(p->out, p->text + p->length, sizeof p->text - 1 - p->length);
        if (n <= 0)
            return false;
        p->length += (size_t)n;
        p->text[p->length] = '\0';
    }
    return true;
}

/* Waits for it to exit; returns its exit code (128 + signal if killed). */
static inline int peer_finish(peer_process *p)
{
    peer_wait_for(p, "\x01never");
    close(p->out);
    int status = 0;
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Parses "received R lost L bad B" from its output. */
static inline void peer_counts(const peer_process *p, long *received, long *lost, long *bad)
{
    const char *at = strstr(p->text, "received ");
    CHECK(at != NULL);
    CHECK(sscanf(at, "received %ld lost %ld bad %ld", received, lost, bad) == 3);
}

#endif
