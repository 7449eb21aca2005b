#!/usr/bin/env bash
# Times `bluelink store copy` (SQLite to PostgreSQL) on a generated store (issue 15).
#
#   tools/bench/store_copy_bench.sh [TRANSFERS] [WORK_DIR]
#
# TRANSFERS (default 1000000): transfers in the generated year, as `bluelink-bench --mode pages`
# generates them (messages, timeline events, deliveries, hash-chained audit rows, incident
# numbers). WORK_DIR (default: a new temporary directory) keeps pages.db between runs: an
# existing WORK_DIR/pages.db is reused. A PostgreSQL 15 server is started in WORK_DIR/pg (initdb,
# Unix socket only, fsync and synchronous_commit on, shared_buffers 128MB) and stopped at the
# end. BUILD (default build/dev) names the build directory. Prints the CLI's progress and summary
# and a Markdown line for docs/benchmarks.md.
set -euo pipefail

transfers=${1:-1000000}
work=${2:-$(mktemp -d -t bluelink-copy-bench.XXXXXX)}
build=${BUILD:-build/dev}
bench="$build/tools/bench/bluelink-bench"
cli="$build/tools/cli/bluelink"
for bin in "$bench" "$cli"; do
  [[ -x $bin ]] || { echo "store_copy_bench: build $bin first" >&2; exit 2; }
done
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[[ -n $pgbin ]] || { echo "store_copy_bench: install postgresql-15" >&2; exit 2; }
mkdir -p "$work"
work=$(cd "$work" && pwd)

if [[ ! -f $work/pages.db ]]; then
  echo "generating $transfers transfers into $work/pages.db" >&2
  gen_start=$(date +%s.%N)
  "$bench" --mode pages --transfers "$transfers" --runs 1 --db-dir "$work" >/dev/null
  echo "generated in $(echo "$(date +%s.%N) - $gen_start" | bc) s" >&2
fi

# The server runs as `postgres` when this runs as root (initdb refuses root), as the tests do.
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- sh -c "cd /tmp && $*"; else sh -c "$*"; fi; }
pg="$work/pg"
rm -rf "$pg"
mkdir -p "$pg"
[[ $(id -u) == 0 ]] && chown postgres:postgres "$pg"
as_pg "'$pgbin/initdb' -D '$pg/data' -U bluelink --auth=trust -E UTF8 --no-locale >'$pg/initdb.log' 2>&1"
cat >>"$pg/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$pg'
port = 5439
shared_buffers = 128MB
max_wal_size = 4GB
fsync = on
synchronous_commit = on
EOF
as_pg "'$pgbin/pg_ctl' start -w -t 60 -D '$pg/data' -l '$pg/server.log' >/dev/null"
trap 'as_pg "\"$pgbin/pg_ctl\" stop -w -m fast -D \"$pg/data\" >/dev/null" || true' EXIT
as_pg "'$pgbin/createdb' -h '$pg' -p 5439 -U bluelink bluelink"

start=$(date +%s.%N)
"$cli" store copy --from "sqlite:$work/pages.db" --to "postgres:host=$pg port=5439 dbname=bluelink user=bluelink" \
  | tee "$work/copy.out"
seconds=$(echo "$(date +%s.%N) - $start" | bc)
rows=$(sed -n 's/^store copy done: \([0-9]*\) rows.*/\1/p' "$work/copy.out")
size=$(du -m "$work/pages.db" | cut -f1)
printf '\n| %s transfers | %s rows | %s MiB SQLite | %.0f s | %.0f rows/s | %s, nproc %s |\n' \
  "$transfers" "$rows" "$size" "$seconds" "$(echo "$rows / $seconds" | bc -l)" \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)"
