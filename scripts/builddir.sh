# builddir.sh -- sourced by sanitizer-check.sh and valgrind-check.sh: picks
# and checks their out-of-tree build directory.
#
# Why: those builds live outside the source tree, in ${TMPDIR:-/tmp}, and a
# machine's /tmp can outlive a checkout (CI machines start from a snapshot;
# developers keep several clones). A build dir configured from another copy
# of the tree would build and test that copy's files, so:
#   - the default dir is ${TMPDIR:-/tmp}/promptcause-NAME-N, N a checksum of
#     the source tree's path, so two clones never share one;
#   - a default dir found configured for another tree is emptied and
#     configured again; a dir named by the caller is refused instead (it may
#     hold someone's work).
#
# Usage, with SRC set to the source tree:
#   pc_build_dir NAME [DIR]   sets BUILD (absolute, created) and cds into it.
# Exits 2 with a message when DIR is inside SRC or was configured elsewhere.

pc_default_build_dir() {
    printf '%s/promptcause-%s-%s\n' "${TMPDIR:-/tmp}" "$1" \
        "$(printf '%s' "$SRC" | cksum | cut -d' ' -f1)"
}

pc_build_dir() {
    pc_name=$1
    pc_me=$(basename "$0" .sh)
    pc_default=$(pc_default_build_dir "$pc_name")
    BUILD=${2:-$pc_default}
    case "$BUILD" in
    "$SRC"|"$SRC"/*)
        echo "$pc_me: build dir must be outside the source tree" >&2
        exit 2 ;;
    esac
    mkdir -p "$BUILD"
    BUILD=$(cd "$BUILD" && pwd)
    cd "$BUILD"
    [ -f Makefile ] || return 0
    pc_configured=$(sed -n 's/^abs_top_srcdir = //p' Makefile)
    [ "$pc_configured" = "$SRC" ] && return 0
    if [ "${2:-$pc_default}" = "$pc_default" ]; then
        echo "$pc_me: $BUILD was configured for $pc_configured; starting it again"
        find . -mindepth 1 -delete
    else
        echo "$pc_me: $BUILD was configured for $pc_configured, not $SRC;" \
            "remove it or name another build dir" >&2
        exit 2
    fi
}
