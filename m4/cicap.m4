# cicap.m4 -- find c-icap through its own config scripts.
# c-icap ships no pkg-config file (see shared CICAP-NOTES), so the service
# flags, the modules dir and the config dir come from c-icap-config, and the
# library link line from c-icap-libicapapi-config.
#
# PC_CHECK_CICAP: sets CICAP_CFLAGS, CICAP_LIBS, cicapmoduledir, cicapconfdir
# and CICAP_SRV_ECHO (path of c-icap's srv_echo.so, used by tests and bench).
# Fails configure with a clear message when c-icap is missing.
AC_DEFUN([PC_CHECK_CICAP], [
  AC_ARG_WITH([cicap-config],
    [AS_HELP_STRING([--with-cicap-config=PATH], [path of c-icap-config])],
    [CICAP_CONFIG="$withval"], [AC_PATH_PROG([CICAP_CONFIG], [c-icap-config], [no])])
  AC_PATH_PROG([CICAP_LIBCONFIG], [c-icap-libicapapi-config], [no])
  AS_IF([test "x$CICAP_CONFIG" = xno || test "x$CICAP_LIBCONFIG" = xno],
    [AC_MSG_ERROR([c-icap-config / c-icap-libicapapi-config not found: install libicapapi-dev])])
  AC_MSG_CHECKING([c-icap version])
  CICAP_VERSION=`$CICAP_CONFIG --version`
  AC_MSG_RESULT([$CICAP_VERSION])
  dnl c-icap-config --cflags carries -g -O2 and hardening flags of the Debian
  dnl build; keep only the preprocessor flags and visibility so our own
  dnl CFLAGS (sanitizers, -O0) stay in charge.
  CICAP_CFLAGS=""
  for f in `$CICAP_CONFIG --cflags`; do
    case "$f" in
      -I*|-D*|-fvisibility=*) CICAP_CFLAGS="$CICAP_CFLAGS $f" ;;
    esac
  done
  CICAP_LIBS=`$CICAP_LIBCONFIG --libs`
  CICAP_SYS_MODULESDIR=`$CICAP_CONFIG --modulesdir`
  CICAP_SYS_CONFDIR=`$CICAP_CONFIG --configdir`
  AC_ARG_WITH([cicap-modulesdir],
    [AS_HELP_STRING([--with-cicap-modulesdir=DIR], [where srv_promptcause.so is installed (default: c-icap-config --modulesdir)])],
    [cicapmoduledir="$withval"], [cicapmoduledir="$CICAP_SYS_MODULESDIR"])
  AC_ARG_WITH([cicap-confdir],
    [AS_HELP_STRING([--with-cicap-confdir=DIR], [where promptcause.conf is installed (default: c-icap-config --configdir)])],
    [cicapconfdir="$withval"], [cicapconfdir="$CICAP_SYS_CONFDIR"])
  CICAP_SRV_ECHO="${CICAP_SYS_MODULESDIR%/}/srv_echo.so"
  AC_PATH_PROG([CICAP_SERVER], [c-icap], [no], [$PATH:/usr/sbin:/usr/bin])
  AC_SUBST([CICAP_CFLAGS])
  AC_SUBST([CICAP_LIBS])
  AC_SUBST([CICAP_SYS_MODULESDIR])
  AC_SUBST([cicapmoduledir])
  AC_SUBST([cicapconfdir])
  AC_SUBST([CICAP_SRV_ECHO])
])
