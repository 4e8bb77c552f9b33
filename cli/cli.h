/* cli.h -- the subcommands of the promptcause command and the conventions
 * they share: exit 0 on success, 2 with a one-line message on stderr for bad
 * usage or input that cannot be read (SPEC §6). */
#ifndef PROMPTCAUSE_CLI_H
#define PROMPTCAUSE_CLI_H

#define CLI_EXIT_USAGE 2

/* Subcommand entry points: argv[0] is the subcommand name. */
int links_main(int argc, char **argv);
int analyze_main(int argc, char **argv);
int probe_main(int argc, char **argv);
int watch_main(int argc, char **argv);

/* Print "promptcause CMD: MESSAGE" and a newline on stderr; returns
 * CLI_EXIT_USAGE so callers can `return cli_fail(...)`. */
int cli_fail(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
