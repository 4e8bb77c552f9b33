#!/bin/sh
# install-deps.sh -- install everything promptcause needs to build, test and
# run its demo on a fresh Debian 12 machine (as root). One list, used by the
# README's two set-up commands and by CI, so a missing package shows up
# everywhere at once.
set -eu
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (apt-get needs it)" >&2
    exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Build: autotools, c-icap's headers, and the libraries core/ links.
# Run/test: c-icap (with srv_echo for the benchmark), Squid, python3 for the
# integration harness and test origin, curl for the demo's browser.
# Test oracle and corpus: libgumbo (reference HTML parser) and HTML-heavy
# Debian documentation packages. Alerting tests: Prometheus Alertmanager.
# Report tests and benchmarks: headless Chromium (renders the html report),
# goaccess (analyze's yardstick), GNU time (peak memory); wrk and nginx for
# the Squid throughput benchmark. Fuzzing: clang with libFuzzer; valgrind.
# Squid is Debian's squid-openssl: the same Squid 5.7 built with OpenSSL, so
# the SslBump tests run on it (it conflicts with the plain squid package,
# which apt removes). Integrated logon (SPEC §2a-§2b): an MIT KDC, Apache with
# mod_auth_gssapi and gss-ntlmssp, impacket's NTLM client, python3-gssapi for
# real Kerberos tokens, firefox-esr beside chromium. Packaging and operation
# (SPEC §8-§9): debhelper, lintian, mandoc, libmicrohttpd (watch's /metrics),
# Prometheus, rsyslog.
apt-get install -y -qq --no-install-recommends \
    build-essential autoconf automake libtool pkg-config \
    c-icap libicapapi-dev squid-openssl openssl \
    libcurl4-openssl-dev libpcre2-dev libjansson-dev libpsl-dev nettle-dev \
    libcmocka-dev zlib1g-dev libbrotli-dev \
    python3 curl ca-certificates procps iproute2 \
    libgumbo-dev python3.11-doc debian-reference-en \
    prometheus-alertmanager chromium goaccess time wrk nginx-light \
    clang libclang-rt-14-dev valgrind \
    krb5-kdc krb5-admin-server krb5-user apache2 libapache2-mod-auth-gssapi \
    gss-ntlmssp python3-impacket python3-gssapi firefox-esr xvfb \
    debhelper dpkg-dev fakeroot lintian mandoc libmicrohttpd-dev \
    prometheus rsyslog \
    >/dev/null
# The packaged daemons are not ours to run: tests start their own instances on
# free loopback ports. Stop any that the packages' scripts started.
for svc in squid c-icap prometheus-alertmanager prometheus nginx apache2 krb5-kdc krb5-admin-server rsyslog; do
    if command -v service >/dev/null 2>&1; then service "$svc" stop >/dev/null 2>&1 || true; fi
done
echo "install-deps: done"
