#!/usr/bin/env bash
# Rate-limit load run: the release router on 127.0.0.1 serving the committed
# supergraph (subgraphs unreachable: `{ __typename }` needs none), hammered by
# wrk for DURATION; prints accepted vs rejected per second and the router's
# CPU time per request, the router pinned to CPU 0 and wrk to CPU 1.
# Usage (from the repository root):
#   cargo build --release -p storefront-router --bin router
#   router/benches/rate_limit_load.sh target/release/router limit     # RATE=100 BURST=100
#   router/benches/rate_limit_load.sh target/release/router nolimit
set -euo pipefail
bin=$1; mode=${2:-limit}; duration=${DURATION:-10s}
scratch=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORT=$port SUPERGRAPH_FILE=${SUPERGRAPH:-schema/supergraph.graphql} RUST_LOG=error \
  USERS_URL=http://127.0.0.1:9/graphql ORDERS_URL=http://127.0.0.1:9/graphql \
  PAYMENTS_URL=http://127.0.0.1:9/graphql INVENTORY_URL=http://127.0.0.1:9/graphql \
  DATA_DIR="$scratch/data"
if [[ $mode == limit ]]; then
  export RATE_LIMIT_ENABLED=true RATE_LIMIT_PER_CLIENT_RATE=${RATE:-100} RATE_LIMIT_PER_CLIENT_BURST=${BURST:-100}
fi
taskset -c "${ROUTER_CPUS:-0}" "$bin" >"$scratch/router.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$scratch"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.1; done
cat >"$scratch/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"query":"{ __typename }"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/graphql-response+json"
LUA
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
before=$(cpu)
taskset -c "${CLIENT_CPUS:-1}" wrk -t"${THREADS:-1}" -c"${CONNECTIONS:-32}" -d"$duration" \
    -s "$scratch/post.lua" "http://127.0.0.1:$port/graphql"
after=$(cpu)
metrics=$(curl -s "http://127.0.0.1:$port/metrics")
ok=$({ grep -E '^router_http_requests_total\{status="200"' <<<"$metrics" || true; } | awk '{s+=$2} END {print s+0}')
limited=$({ grep -E '^router_rate_limited_requests_total' <<<"$metrics" || true; } | awk '{s+=$2} END {print s+0}')
secs=${duration%s}
echo "mode=$mode accepted=$ok rejected=$limited accepted/s=$((ok/secs)) rejected/s=$((limited/secs))"
python3 - "$before" "$after" "$ticks" "$ok" "$limited" <<'PY'
import sys
b,a,t,ok,lim=map(float,sys.argv[1:])
cpu=(a-b)/t
n=ok+lim
print(f"router CPU {cpu:.2f} s for {int(n)} requests: {cpu/n*1e6:.1f} µs/request")
PY
