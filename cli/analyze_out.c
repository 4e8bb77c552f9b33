/* analyze_out.c -- write an analyze report as text, JSON (the SPEC §6 shape),
 * CSV or one self-contained HTML page.
 *
 * JSON goes through jansson, like the events, so URLs from hostile logs are
 * escaped by the library. The HTML page has no external references at all:
 * inline CSS, a 30-line inline script for sorting tables, and an SVG chart
 * drawn here. The chart has at most CHART_BARS bars; longer logs are put into
 * wider buckets (the chart says how wide) so the page stays small. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze.h"

#define CHART_BARS 720

void analyze_time(double ts, char *buf, size_t cap, int ms)
{
    double whole = (double)(long long)ts; /* log times are after 1970: truncation is floor */
    time_t t = (time_t)whole;
    struct tm tm;
    gmtime_r(&t, &tm);
    if (ms)
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)((ts - whole) * 1000) % 1000);
    else
        snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:00Z", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min);
}

static size_t limit(size_t n, size_t top)
{
    return top != 0 && top < n ? top : n;
}

static json_t *str_or_null(const char *s)
{
    return s[0] ? json_string(s) : json_null();
}

/* ---- JSON ------------------------------------------------------------------ */

static json_t *build_json(const struct report *r, const struct analyze_meta *m)
{
    const struct report_totals *t = report_get_totals(r);
    const struct report_resource *res;
    const struct report_client *cli;
    const struct report_storm *st;
    const struct report_minute *mi;
    size_t nres = report_resources(r, &res), ncli = report_clients(r, &cli);
    size_t nst = report_storms(r, &st), nmi = report_timeline(r, &mi);
    char tb[40], tb2[40];
    json_t *o = json_object(), *a, *x;
    if (o == NULL)
        return NULL;
    json_object_set_new(o, "lines", json_integer((json_int_t)t->lines));
    json_object_set_new(o, "unparsed", json_integer((json_int_t)t->unparsed));
    json_object_set_new(o, "events", json_integer((json_int_t)t->events));
    x = json_object();
    for (size_t i = 0; i < REPORT_CAUSES; i++)
        json_object_set_new(x, report_cause_names[i], json_integer((json_int_t)t->by_cause[i]));
    json_object_set_new(o, "by_cause", x);
    x = json_object();
    for (size_t i = 0; i < REPORT_PROMPTS; i++)
        json_object_set_new(x, report_prompt_names[i], json_integer((json_int_t)t->by_prompt[i]));
    json_object_set_new(o, "by_prompt", x);
    x = json_object();
    for (size_t i = 0; i < REPORT_REASONS; i++)
        json_object_set_new(x, report_reason_names[i], json_integer((json_int_t)t->by_reason[i]));
    json_object_set_new(o, "by_reason", x);
    json_object_set_new(o, "handshake_share", json_real(t->handshake_share));
    a = json_array();
    for (size_t i = 0; i < limit(nres, m->top); i++) {
        x = json_object();
        json_object_set_new(x, "url", json_string(res[i].url));
        json_object_set_new(x, "host", str_or_null(res[i].host));
        json_object_set_new(x, "cause", str_or_null(res[i].cause));
        json_object_set_new(x, "prompt", str_or_null(res[i].prompt));
        json_object_set_new(x, "parent", str_or_null(res[i].parent));
        json_object_set_new(x, "evidence", str_or_null(res[i].evidence));
        json_object_set_new(x, "clients", json_integer((json_int_t)res[i].clients));
        json_object_set_new(x, "clients_saturated", json_boolean(res[i].clients_saturated));
        json_object_set_new(x, "count", json_integer((json_int_t)res[i].count));
        json_array_append_new(a, x);
    }
    json_object_set_new(o, "resources", a);
    a = json_array();
    for (size_t i = 0; i < limit(ncli, m->top); i++) {
        x = json_object();
        json_object_set_new(x, "client", json_string(cli[i].client));
        json_object_set_new(x, "count", json_integer((json_int_t)cli[i].count));
        json_array_append_new(a, x);
    }
    json_object_set_new(o, "clients", a);
    a = json_array();
    for (size_t i = 0; i < nst; i++) {
        analyze_time(st[i].start, tb, sizeof tb, 1);
        analyze_time(st[i].end, tb2, sizeof tb2, 1);
        x = json_object();
        json_object_set_new(x, "kind", json_string(st[i].kind));
        json_object_set_new(x, "key", json_string(st[i].key));
        json_object_set_new(x, "start", json_string(tb));
        json_object_set_new(x, "end", json_string(tb2));
        json_object_set_new(x, "count", json_integer((json_int_t)st[i].count));
        json_object_set_new(x, "clients", json_integer((json_int_t)st[i].clients));
        json_object_set_new(x, "open", json_boolean(st[i].open));
        json_array_append_new(a, x);
    }
    json_object_set_new(o, "storms", a);
    a = json_array();
    for (size_t i = 0; i < nmi; i++) {
        analyze_time((double)mi[i].minute * 60, tb, sizeof tb, 0);
        x = json_object();
        json_object_set_new(x, "minute", json_string(tb));
        json_object_set_new(x, "count", json_integer((json_int_t)mi[i].count));
        json_array_append_new(a, x);
    }
    json_object_set_new(o, "timeline", a);
    /* beyond SPEC's shape: where the numbers come from and what was cut */
    a = json_array();
    for (size_t i = 0; i < m->ninputs && i < ANALYZE_INPUTS_MAX; i++) {
        const char *fn = squidlog_format_name(m->inputs[i].format);
        x = json_object();
        json_object_set_new(x, "path", json_string(m->inputs[i].path));
        json_object_set_new(x, "format", fn ? json_string(fn) : json_null());
        json_object_set_new(x, "gzip", json_boolean(m->inputs[i].gzip));
        json_object_set_new(x, "lines", json_integer((json_int_t)m->inputs[i].lines));
        json_object_set_new(x, "unparsed", json_integer((json_int_t)m->inputs[i].unparsed));
        json_array_append_new(a, x);
    }
    json_object_set_new(o, "inputs", a);
    x = json_object();
    json_object_set_new(x, "resources", json_integer((json_int_t)nres));
    json_object_set_new(x, "clients", json_integer((json_int_t)ncli));
    json_object_set_new(x, "evicted_resources", json_integer((json_int_t)t->evicted_resources));
    json_object_set_new(x, "evicted_clients", json_integer((json_int_t)t->evicted_clients));
    json_object_set_new(x, "dropped_minutes", json_integer((json_int_t)t->dropped_minutes));
    json_object_set_new(x, "dropped_storms", json_integer((json_int_t)t->dropped_storms));
    json_object_set_new(o, "distinct", x);
    return o;
}

/* ---- text ------------------------------------------------------------------ */

static void write_text(FILE *f, const struct report *r, const struct analyze_meta *m)
{
    const struct report_totals *t = report_get_totals(r);
    const struct report_resource *res;
    const struct report_client *cli;
    const struct report_storm *st;
    const struct report_minute *mi;
    size_t nres = report_resources(r, &res), ncli = report_clients(r, &cli);
    size_t nst = report_storms(r, &st), nmi = report_timeline(r, &mi);
    char tb[40], tb2[40];

    fprintf(f, "%lu lines, %lu unparsed, %lu 401/407 events\n", t->lines, t->unparsed, t->events);
    for (size_t i = 0; i < m->ninputs; i++) {
        const char *fn = squidlog_format_name(m->inputs[i].format);
        fprintf(f, "  %s: %s%s, %lu lines, %lu unparsed\n", m->inputs[i].path,
                fn ? fn : "no known format", m->inputs[i].gzip ? " (gzip)" : "", m->inputs[i].lines,
                m->inputs[i].unparsed);
    }
    fputs("\nby cause\n", f);
    for (size_t i = 0; i < REPORT_CAUSES; i++)
        if (t->by_cause[i])
            fprintf(f, "  %-22s %8lu\n", report_cause_names[i], t->by_cause[i]);
    fputs("\nby prompt\n", f);
    for (size_t i = 0; i < REPORT_PROMPTS; i++)
        if (t->by_prompt[i])
            fprintf(f, "  %-22s %8lu\n", report_prompt_names[i], t->by_prompt[i]);
    unsigned long reasons = 0;
    for (size_t i = 0; i < REPORT_REASONS; i++)
        reasons += t->by_reason[i];
    if (reasons) {
        fputs("\nby reason (why an integrated logon failed)\n", f);
        for (size_t i = 0; i < REPORT_REASONS; i++)
            if (t->by_reason[i])
                fprintf(f, "  %-22s %8lu\n", report_reason_names[i], t->by_reason[i]);
    }
    if (t->status401)
        fprintf(f, "\nhandshake share: %.1f%% of %lu 401s were NTLM/Negotiate handshake steps\n",
                100.0 * t->handshake_share, t->status401);
    else
        fputs("\nhandshake share: no 401s\n", f);
    fprintf(f, "\ndenied resources (%zu distinct)\n", nres);
    if (nres)
        fprintf(f, "  %7s %7s  %-20s %-12s %s\n", "count", "clients", "cause", "prompt", "url");
    for (size_t i = 0; i < limit(nres, m->top); i++) {
        fprintf(f, "  %7lu %6zu%s  %-20s %-12s %s\n", res[i].count, res[i].clients,
                res[i].clients_saturated ? "+" : " ", res[i].cause[0] ? res[i].cause : "unknown",
                res[i].prompt[0] ? res[i].prompt : "unknown", res[i].url);
        if (res[i].parent[0])
            fprintf(f, "  %7s %7s  parent %s (evidence %s)\n", "", "", res[i].parent,
                    res[i].evidence[0] ? res[i].evidence : "unknown");
    }
    fprintf(f, "\nclients (%zu distinct)\n", ncli);
    for (size_t i = 0; i < limit(ncli, m->top); i++)
        fprintf(f, "  %7lu  %s\n", cli[i].count, cli[i].client);
    fprintf(f, "\nstorms (%zu)\n", nst);
    for (size_t i = 0; i < nst; i++) {
        analyze_time(st[i].start, tb, sizeof tb, 1);
        analyze_time(st[i].end, tb2, sizeof tb2, 1);
        fprintf(f, "  %-8s %s .. %s%s  %lu prompts, %zu clients  %s\n", st[i].kind, tb, tb2,
                st[i].open ? " (open)" : "", st[i].count, st[i].clients, st[i].key);
    }
    unsigned long peak = 0;
    size_t peak_i = 0;
    for (size_t i = 0; i < nmi; i++)
        if (mi[i].count > peak) {
            peak = mi[i].count;
            peak_i = i;
        }
    fprintf(f, "\ntimeline: %zu minutes with events", nmi);
    if (nmi) {
        analyze_time((double)mi[0].minute * 60, tb, sizeof tb, 0);
        analyze_time((double)mi[nmi - 1].minute * 60, tb2, sizeof tb2, 0);
        fprintf(f, " from %s to %s; busiest ", tb, tb2);
        analyze_time((double)mi[peak_i].minute * 60, tb, sizeof tb, 0);
        fprintf(f, "%s with %lu", tb, peak);
    }
    fputs(" (--format json or html for every minute)\n", f);
    if (t->evicted_resources || t->evicted_clients || t->dropped_minutes || t->dropped_storms)
        fprintf(f, "\nnote: tables were full: %lu resources and %lu clients evicted, %lu minutes "
                   "and %lu storms dropped; the top lists are approximate\n",
                t->evicted_resources, t->evicted_clients, t->dropped_minutes, t->dropped_storms);
}

/* ---- CSV ------------------------------------------------------------------- */

static void csv_field(FILE *f, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n") != NULL) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

/* One table for all sections, so a spreadsheet filter on `section` splits it. */
static void csv_row(FILE *f, const char *section, const char *key, const char *host,
                    const char *cause, const char *prompt, const char *parent, const char *evidence,
                    const char *clients, unsigned long count, const char *start, const char *end)
{
    char num[32];
    snprintf(num, sizeof num, "%lu", count);
    csv_field(f, section, false);
    csv_field(f, key, false);
    csv_field(f, host, false);
    csv_field(f, cause, false);
    csv_field(f, prompt, false);
    csv_field(f, parent, false);
    csv_field(f, evidence, false);
    csv_field(f, clients, false);
    csv_field(f, num, false);
    csv_field(f, start, false);
    csv_field(f, end, true);
}

static void write_csv(FILE *f, const struct report *r, const struct analyze_meta *m)
{
    const struct report_totals *t = report_get_totals(r);
    const struct report_resource *res;
    const struct report_client *cli;
    const struct report_storm *st;
    const struct report_minute *mi;
    size_t nres = report_resources(r, &res), ncli = report_clients(r, &cli);
    size_t nst = report_storms(r, &st), nmi = report_timeline(r, &mi);
    char a[40], b[40], c[32];

    fputs("section,key,host,cause,prompt,parent,evidence,clients,count,start,end\n", f);
    csv_row(f, "total", "lines", "", "", "", "", "", "", t->lines, "", "");
    csv_row(f, "total", "unparsed", "", "", "", "", "", "", t->unparsed, "", "");
    csv_row(f, "total", "events", "", "", "", "", "", "", t->events, "", "");
    csv_row(f, "total", "status401", "", "", "", "", "", "", t->status401, "", "");
    csv_row(f, "total", "handshake401", "", "", "", "", "", "", t->handshake401, "", "");
    for (size_t i = 0; i < REPORT_CAUSES; i++)
        csv_row(f, "cause", report_cause_names[i], "", "", "", "", "", "", t->by_cause[i], "", "");
    for (size_t i = 0; i < REPORT_PROMPTS; i++)
        csv_row(f, "prompt", report_prompt_names[i], "", "", "", "", "", "", t->by_prompt[i], "", "");
    for (size_t i = 0; i < REPORT_REASONS; i++)
        csv_row(f, "reason", report_reason_names[i], "", "", "", "", "", "", t->by_reason[i], "", "");
    for (size_t i = 0; i < limit(nres, m->top); i++) {
        snprintf(c, sizeof c, "%zu%s", res[i].clients, res[i].clients_saturated ? "+" : "");
        csv_row(f, "resource", res[i].url, res[i].host, res[i].cause, res[i].prompt, res[i].parent,
                res[i].evidence, c, res[i].count, "", "");
    }
    for (size_t i = 0; i < limit(ncli, m->top); i++)
        csv_row(f, "client", cli[i].client, "", "", "", "", "", "", cli[i].count, "", "");
    for (size_t i = 0; i < nst; i++) {
        analyze_time(st[i].start, a, sizeof a, 1);
        analyze_time(st[i].end, b, sizeof b, 1);
        snprintf(c, sizeof c, "%zu", st[i].clients);
        csv_row(f, st[i].open ? "storm-open" : "storm", st[i].key, st[i].kind, "", "", "", "", c,
                st[i].count, a, b);
    }
    for (size_t i = 0; i < nmi; i++) {
        analyze_time((double)mi[i].minute * 60, a, sizeof a, 0);
        csv_row(f, "minute", a, "", "", "", "", "", "", mi[i].count, a, "");
    }
}

/* ---- HTML ------------------------------------------------------------------ */

static void h(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f);
        }
    }
}

static const char html_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>promptcause analyze</title>\n<style>\n"
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}\n"
    "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ccc}\n"
    ".cards{display:flex;gap:1em;flex-wrap:wrap}.card{border:1px solid #ccc;border-radius:6px;"
    "padding:.5em 1em;min-width:9em}.card b{display:block;font-size:1.6em}\n"
    "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ddd;padding:3px 8px;"
    "text-align:left;vertical-align:top}td.n{text-align:right}th{background:#f2f2f2;cursor:pointer;"
    "user-select:none}th:after{content:' \\2195';color:#999}td.u{word-break:break-all;max-width:40em}\n"
    "svg{border:1px solid #ccc;background:#fafafa}.bar{fill:#3a6ea5}.storm{fill:#d33;opacity:.3}\n"
    "small{color:#666}\n</style></head><body>\n";

static const char html_script[] =
    "<script>\n"
    "/* click a column header to sort its table; numbers numerically (data-v) */\n"
    "document.querySelectorAll('table.sortable').forEach(function(t){\n"
    " t.querySelectorAll('th').forEach(function(th,col){\n"
    "  th.addEventListener('click',function(){\n"
    "   var asc=th.getAttribute('data-dir')!=='asc';\n"
    "   t.querySelectorAll('th').forEach(function(o){o.removeAttribute('data-dir');});\n"
    "   th.setAttribute('data-dir',asc?'asc':'desc');\n"
    "   var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);\n"
    "   rows.sort(function(a,b){\n"
    "    var x=a.cells[col],y=b.cells[col];\n"
    "    var xv=x.getAttribute('data-v'),yv=y.getAttribute('data-v');\n"
    "    var c=(xv!==null&&yv!==null)?(parseFloat(xv)-parseFloat(yv))\n"
    "         :x.textContent.localeCompare(y.textContent);\n"
    "    return asc?c:-c;});\n"
    "   rows.forEach(function(r){body.appendChild(r);});\n"
    "  });});});\n"
    "</script>\n";

static void td_num(FILE *f, unsigned long v, const char *suffix)
{
    fprintf(f, "<td class=\"n\" data-v=\"%lu\">%lu%s</td>", v, v, suffix);
}

static void td_str(FILE *f, const char *s, const char *cls)
{
    fprintf(f, "<td%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    h(f, s[0] ? s : "\xe2\x80\x94");
    fputs("</td>", f);
}

/* The per-minute chart: bars of events per bucket, storms as red bands. */
static void write_svg(FILE *f, const struct report *r)
{
    const struct report_minute *mi;
    const struct report_storm *st;
    size_t nmi = report_timeline(r, &mi), nst = report_storms(r, &st);
    const double W = 960, H = 240, L = 50, R = 10, T = 10, B = 40;
    char a[40], b[40];

    if (nmi == 0) {
        fputs("<p>No 401/407 events: no timeline.</p>\n", f);
        return;
    }
    long first = mi[0].minute, last = mi[nmi - 1].minute;
    long span = last - first + 1;
    long width = (span + CHART_BARS - 1) / CHART_BARS; /* minutes per bar */
    size_t nb = (size_t)((span + width - 1) / width);
    unsigned long *bucket = calloc(nb, sizeof *bucket), peak = 1;
    if (bucket == NULL) {
        fputs("<p>(timeline chart left out: out of memory)</p>\n", f);
        return;
    }
    for (size_t i = 0; i < nmi; i++) {
        size_t k = (size_t)((mi[i].minute - first) / width);
        bucket[k] += mi[i].count;
        if (bucket[k] > peak)
            peak = bucket[k];
    }
    double pw = W - L - R, ph = H - T - B, bw = pw / (double)nb;
    fprintf(f, "<svg id=\"timeline\" width=\"%.0f\" "
               "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
               "aria-label=\"401/407 events per %ld minute(s)\">\n",
            W, H, W, H, width);
    for (size_t k = 0; k < nb; k++) {
        if (bucket[k] == 0)
            continue;
        double bh = ph * (double)bucket[k] / (double)peak;
        analyze_time((double)(first + (long)k * width) * 60, a, sizeof a, 0);
        fprintf(f, "<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\">"
                   "<title>%s: %lu</title></rect>\n",
                L + (double)k * bw, T + ph - bh, bw > 1.5 ? bw - 0.5 : bw, bh, a, bucket[k]);
    }
    /* storm bands over the bars (translucent), clamped to the plot */
    for (size_t i = 0; i < nst; i++) {
        double x0 = L + (st[i].start / 60 - (double)first) / (double)width * bw;
        double x1 = L + (st[i].end / 60 - (double)first) / (double)width * bw;
        if (x0 < L)
            x0 = L;
        if (x1 > W - R)
            x1 = W - R;
        fprintf(f, "<rect class=\"storm\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                   "<title>%s storm: ",
                x0, T, x1 - x0 < 2 ? 2 : x1 - x0, ph, st[i].kind);
        h(f, st[i].key);
        fprintf(f, " (%lu prompts)</title></rect>\n", st[i].count);
    }
    analyze_time((double)first * 60, a, sizeof a, 0);
    analyze_time((double)last * 60, b, sizeof b, 0);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>\n", L,
            T + ph, W - R, T + ph);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"#333\"/>\n", L, T, L,
            T + ph);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%lu</text>\n",
            L - 4, T + 10, peak);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">0</text>\n", L - 4,
            T + ph);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">%s</text>\n", L, H - B + 16, a);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n",
            W - R, H - B + 16, b);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"middle\">401/407 "
               "events per %ld minute%s (UTC); red bands: storms</text>\n",
            L + pw / 2, H - 6, width, width == 1 ? "" : "s");
    fputs("</svg>\n", f);
    free(bucket);
}

static void write_html(FILE *f, const struct report *r, const struct analyze_meta *m)
{
    const struct report_totals *t = report_get_totals(r);
    const struct report_resource *res;
    const struct report_client *cli;
    const struct report_storm *st;
    size_t nres = report_resources(r, &res), ncli = report_clients(r, &cli);
    size_t nst = report_storms(r, &st);
    char a[40], b[40];

    fputs(html_head, f);
    fputs("<h1>promptcause: why users got a password box</h1>\n<p><small>", f);
    for (size_t i = 0; i < m->ninputs; i++) {
        const char *fn = squidlog_format_name(m->inputs[i].format);
        h(f, m->inputs[i].path);
        fprintf(f, " (%s%s, %lu lines, %lu unparsed)%s", fn ? fn : "no known format",
                m->inputs[i].gzip ? ", gzip" : "", m->inputs[i].lines, m->inputs[i].unparsed,
                i + 1 < m->ninputs ? "; " : "");
    }
    fputs("</small></p>\n<div class=\"cards\">\n", f);
    fprintf(f, "<div class=\"card\">lines<b id=\"lines\">%lu</b></div>\n", t->lines);
    fprintf(f, "<div class=\"card\">unparsed<b id=\"unparsed\">%lu</b></div>\n", t->unparsed);
    fprintf(f, "<div class=\"card\">401/407 events<b id=\"events\">%lu</b></div>\n", t->events);
    fprintf(f, "<div class=\"card\">handshake share<b id=\"handshake\">%.1f%%</b>of %lu 401s</div>\n",
            100.0 * t->handshake_share, t->status401);
    fprintf(f, "<div class=\"card\">storms<b id=\"nstorms\">%zu</b></div>\n</div>\n", nst);

    fputs("<h2>Timeline</h2>\n", f);
    write_svg(f, r);

    fputs("<h2>By cause, prompt and reason</h2>\n<table class=\"sortable\" id=\"causes\"><thead><tr>"
          "<th>cause</th><th>events</th></tr></thead><tbody>\n", f);
    for (size_t i = 0; i < REPORT_CAUSES; i++)
        if (t->by_cause[i]) {
            fputs("<tr>", f);
            td_str(f, report_cause_names[i], NULL);
            td_num(f, t->by_cause[i], "");
            fputs("</tr>\n", f);
        }
    fputs("</tbody></table>\n<table class=\"sortable\" id=\"prompts\"><thead><tr><th>prompt</th>"
          "<th>events</th></tr></thead><tbody>\n", f);
    for (size_t i = 0; i < REPORT_PROMPTS; i++)
        if (t->by_prompt[i]) {
            fputs("<tr>", f);
            td_str(f, report_prompt_names[i], NULL);
            td_num(f, t->by_prompt[i], "");
            fputs("</tr>\n", f);
        }
    fputs("</tbody></table>\n<table class=\"sortable\" id=\"reasons\"><thead><tr><th>reason</th>"
          "<th>events</th></tr></thead><tbody>\n", f);
    for (size_t i = 0; i < REPORT_REASONS; i++)
        if (t->by_reason[i]) {
            fputs("<tr>", f);
            td_str(f, report_reason_names[i], NULL);
            td_num(f, t->by_reason[i], "");
            fputs("</tr>\n", f);
        }
    fputs("</tbody></table>\n", f);

    fprintf(f, "<h2>Denied resources</h2>\n<p><small>%zu distinct; top %zu by count. Click a "
               "column to sort.</small></p>\n",
            nres, limit(nres, m->top));
    fputs("<table class=\"sortable\" id=\"resources\"><thead><tr><th>count</th><th>clients</th>"
          "<th>cause</th><th>prompt</th><th>url</th><th>parent</th><th>evidence</th></tr></thead>"
          "<tbody>\n", f);
    for (size_t i = 0; i < limit(nres, m->top); i++) {
        fputs("<tr>", f);
        td_num(f, res[i].count, "");
        td_num(f, res[i].clients, res[i].clients_saturated ? "+" : "");
        td_str(f, res[i].cause[0] ? res[i].cause : "unknown", NULL);
        td_str(f, res[i].prompt[0] ? res[i].prompt : "unknown", NULL);
        td_str(f, res[i].url, "u");
        td_str(f, res[i].parent, "u");
        td_str(f, res[i].evidence, NULL);
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);

    fprintf(f, "<h2>Clients</h2>\n<p><small>%zu distinct; top %zu.</small></p>\n", ncli,
            limit(ncli, m->top));
    fputs("<table class=\"sortable\" id=\"clients\"><thead><tr><th>client</th><th>events</th>"
          "</tr></thead><tbody>\n", f);
    for (size_t i = 0; i < limit(ncli, m->top); i++) {
        fputs("<tr>", f);
        td_str(f, cli[i].client, NULL);
        td_num(f, cli[i].count, "");
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);

    fputs("<h2>Storms</h2>\n<table class=\"sortable\" id=\"storms\"><thead><tr><th>kind</th>"
          "<th>key</th><th>start</th><th>end</th><th>prompts</th><th>clients</th></tr></thead>"
          "<tbody>\n", f);
    for (size_t i = 0; i < nst; i++) {
        analyze_time(st[i].start, a, sizeof a, 1);
        analyze_time(st[i].end, b, sizeof b, 1);
        fputs("<tr>", f);
        td_str(f, st[i].kind, NULL);
        td_str(f, st[i].key, "u");
        td_str(f, a, NULL);
        td_str(f, st[i].open ? "(still going at the end of the log)" : b, NULL);
        td_num(f, st[i].count, "");
        td_num(f, st[i].clients, "");
        fputs("</tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    if (nst == 0)
        fputs("<p>No storms.</p>\n", f);
    fputs("<p><small>Raw Squid logs carry no challenge: their prompt is 'unknown' and the "
          "parent's evidence 'referer' or 'time' (a guess by time proximity).</small></p>\n", f);
    fputs(html_script, f);
    fputs("</body></html>\n", f);
}

int analyze_write(FILE *f, enum analyze_format fmt, const struct report *r,
                  const struct analyze_meta *m)
{
    switch (fmt) {
    case ANALYZE_JSON: {
        json_t *o = build_json(r, m);
        if (o == NULL)
            return -1;
        int rc = json_dumpf(o, f, JSON_COMPACT | JSON_REAL_PRECISION(6));
        json_decref(o);
        if (rc != 0)
            return -1;
        fputc('\n', f);
        break;
    }
    case ANALYZE_CSV: write_csv(f, r, m); break;
    case ANALYZE_HTML: write_html(f, r, m); break;
    default: write_text(f, r, m); break;
    }
    return ferror(f) ? -1 : 0;
}
