#!/usr/bin/env bash
# The router at <git-rev> against the working tree's router, in one run:
#
#   router/benches/compare.sh <git-rev>          e.g. main, HEAD~1, b8e43d4
#
# 1. Builds the router at <git-rev> as the `dist` profile builds it (release,
#    fat LTO, one codegen unit: set through the environment, so revisions from
#    before that profile build the same way) in a temporary git worktree outside
#    the repository, $BENCH_BASELINE_DIR/src (default directory
#    /var/tmp/storefront-bench-baseline), with its own CARGO_TARGET_DIR
#    ($BENCH_BASELINE_DIR/target), so the working tree's build is untouched.
#    The binary is kept as $BENCH_BASELINE_DIR/router-<commit>-dist and reused by
#    later runs against the same commit; the worktree is removed.
# 2. Runs `BASELINE_ROUTER_BIN=<that binary> cargo bench -p storefront-router
#    --bench gateway` in the working tree, which builds the working tree's
#    router and measures both (and a peer router, with
#    PEER_ROUTER_CMD), taking turns, in each dedupe mode, then prints the
#    medians side by side with ratios.
#
# Every other setting of the bench passes through (BENCH_SUBGRAPHS,
# BENCH_SUPERGRAPH, BENCH_MODES, BENCH_ROUNDS, BENCH_DURATION, PEER_ROUTER_CMD,
# ...; see router/benches/gateway/settings.rs); CARGO_TARGET_DIR, if set, is
# used for the working tree's build.
set -euo pipefail

rev=${1:?usage: router/benches/compare.sh <git-rev>}
repo=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
if ! commit=$(git -C "$repo" rev-parse --verify --quiet "$rev^{commit}"); then
    echo "compare.sh: \`$rev\` is not a commit" >&2
    exit 1
fi
short=${commit:0:12}
dir=${BENCH_BASELINE_DIR:-/var/tmp/storefront-bench-baseline}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
case "$dir/" in
"$(cd "$repo" && pwd -P)"/*)
    echo "compare.sh: BENCH_BASELINE_DIR ($dir) must be outside the repository" >&2
    exit 1
    ;;
esac

baseline="$dir/router-$short-dist"
if [[ -x "$baseline" ]]; then
    echo "compare.sh: reusing the router built at $short ($baseline)" >&2
else
    src="$dir/src"
    remove_worktree() {
        git -C "$repo" worktree remove --force "$src" >/dev/null 2>&1 || rm -rf "$src"
        git -C "$repo" worktree prune
    }
    remove_worktree
    trap remove_worktree EXIT
    git -C "$repo" worktree add --detach --quiet "$src" "$commit"
    echo "compare.sh: building the dist router at $short in $src" >&2
    (cd "$src" && CARGO_TARGET_DIR="$dir/target" CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 cargo build --release --locked -p storefront-router --bin router)
    cp "$dir/target/release/router" "$baseline.partial"
    mv "$baseline.partial" "$baseline"
    remove_worktree
    trap - EXIT
fi

echo "compare.sh: building the working tree's router and running the bench" >&2
cd "$repo"
BASELINE_ROUTER_BIN="$baseline" exec cargo bench -p storefront-router --bench gateway
