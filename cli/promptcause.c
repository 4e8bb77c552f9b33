/* promptcause.c -- the promptcause command: dispatch to a subcommand.
 *
 * One command with subcommands (SPEC §6); each subcommand lives in its own
 * file with its own --help, and this file only knows their names.
 *
 * Built twice (mk/cli.am). cli/promptcause runs `links` in-process and execs
 * promptcause-tools for the others, so that a links run per document starts
 * like a libc-only program: loading libcurl and its TLS stack, jansson and
 * PCRE2 cost ~15x the rest of a small links run. promptcause-tools
 * (PC_ALL_COMMANDS) runs every subcommand in-process. Cost: one extra exec
 * for probe, watch and analyze, which run far longer than that. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef PC_ALL_COMMANDS
#ifndef PC_TOOLS_DIR
#error "PC_TOOLS_DIR must name the directory of promptcause-tools"
#endif
static int exec_tools(int argc, char **argv);
#define analyze_main exec_tools
#define probe_main exec_tools
#define watch_main exec_tools
#endif

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} commands[] = {
    {"links", links_main, "print the embedded objects of an HTML document"},
    {"analyze", analyze_main, "report prompts from event logs and Squid access logs"},
    {"probe", probe_main, "fetch a page and its objects and say which would prompt"},
    {"watch", watch_main, "follow the event log and alert on prompt storms"},
};

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "promptcause %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CLI_EXIT_USAGE;
}

#ifndef PC_ALL_COMMANDS
/* Where promptcause-tools is: beside this program when it is there (the
 * build tree, or both installed in one directory), else the configured
 * $(pkglibexecdir). Returns 0, or -1 when the path does not fit. */
static int tools_path(char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            int len = snprintf(out, cap, "%s/promptcause-tools", self);
            if (len > 0 && (size_t)len < cap && access(out, X_OK) == 0)
                return 0;
        }
    }
    int len = snprintf(out, cap, "%s/promptcause-tools", PC_TOOLS_DIR);
    return len > 0 && (size_t)len < cap ? 0 : -1;
}

/* Replace this process by promptcause-tools running argv[0] (the subcommand)
 * with its arguments. Returns only on failure, with CLI_EXIT_USAGE. */
static int exec_tools(int argc, char **argv)
{
    (void)argc;
    char path[PATH_MAX];
    if (tools_path(path, sizeof path) != 0)
        return cli_fail(argv[0], "cannot locate promptcause-tools");
    /* argv is main's argv shifted by one: argv[-1] is the program's own name,
     * replaced by the tools path so its argv[1] is the subcommand again. */
    char **args = argv - 1;
    args[0] = path;
    execv(path, args);
    return cli_fail(argv[0], "cannot run %s: %s", path, strerror(errno));
}
#endif

static void usage(FILE *f)
{
    fputs("usage: promptcause COMMAND [OPTIONS] [ARGS]\n\n"
          "Tells why users get a username/password box.\n\ncommands:\n", f);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n'promptcause COMMAND --help' describes a command.\n", f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("promptcause: missing command (try 'promptcause --help')\n", stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "promptcause: unknown command '%s' (try 'promptcause --help')\n", argv[1]);
    return CLI_EXIT_USAGE;
}
