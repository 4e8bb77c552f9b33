/* promptcause.c -- the promptcause command: dispatch to a subcommand.
 *
 * One binary with subcommands (SPEC §6); each subcommand lives in its own
 * file with its own --help, and this file only knows their names. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
