/* settings.h -- the service's directives (SPEC §5), checked as c-icap reads them.
 *
 * c-icap calls one handler per `promptcause.Name value...` line. Each handler
 * validates and stores its value at once (IntranetHosts patterns are compiled
 * there, before the fork), so a bad value is reported with the file and line it
 * came from; c-icap itself says nothing about config errors without -D. What
 * needs every directive (the UserNames key, the event log) is finished in
 * settings_finish from mod_post_init_service. */
#ifndef PROMPTCAUSE_SETTINGS_H
#define PROMPTCAUSE_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <c_icap/c-icap.h>
#include <c_icap/cfg_param.h>

#include "classify.h"

struct settings {
    char *event_log;              /* EventLog path, NULL: none */
    unsigned event_log_delay_ms;  /* EventLogDelay: 0 writes each line at once */
    int syslog_facility;          /* LOG_LOCAL0 ...; -1: Syslog off */
    struct zone_rules *intranet;  /* IntranetHosts, never NULL after settings_reset */
    struct zone_rules *allowlist; /* AuthAllowlist (SPEC §2b), never NULL after settings_reset */
    struct classify_config classify;
    bool handlers_set;            /* a HandlerExtensions line replaced the defaults */
    unsigned correlation_window;  /* seconds */
    uint64_t store_bytes;
    uint64_t max_html_bytes;
    bool annotate;                /* AnnotateResponse */
    bool log_handshakes;          /* LogHandshakes */
    char *usernames_key_file;     /* UserNamesKeyFile */
};

/* The directive table given to c-icap (ends with the NULL entry). */
extern struct ci_conf_entry settings_conf_table[];

/* The current settings; valid after settings_finish succeeded. */
const struct settings *settings_get(void);

/* Back to the defaults, releasing what a previous configuration held, and
 * remember cfg_file (c-icap's main config file) for error locations. Called
 * from mod_init_service, i.e. at start and on every reconfigure. Returns 0, or
 * -1 when out of memory. */
int settings_reset(const char *cfg_file);

/* Check what needs all directives and read the UserNames key file. Returns 0,
 * or -1 with a one-line reason in err (errlen bytes). */
int settings_finish(char *err, size_t errlen);

/* True when a directive handler rejected a value since the last reset. */
bool settings_failed(void);

/* Say a configuration problem where an admin looks: stderr and syslog (daemon
 * facility), prefixed "promptcause: ", plus c-icap's server log. */
void settings_say(const char *msg);

/* Release everything (service shutdown). */
void settings_release(void);

#endif
