#!/usr/bin/env bash
# Measures what aggregation costs, through the packaged aggregator (-Xmx512m), each part against its own Kafka and
# PostgreSQL (the local launcher, on spare ports in a temporary folder, stopped afterwards):
#   throughput  AggregationBenchmark: the raw KLL update rate against the end-to-end rate of sketch updates from
#               Kafka to committed PostgreSQL (b/a).
#   wide        WideModelBenchmark: a 10,000-neuron model (5 taps x 2,000, post-ReLU, 10 classes, a 2-value source
#               tag on 70 %) at steady rates: WAL bytes against the bytes of the finished rows, bytes per
#               distribution, consumer lag, flush p95, observation-to-visible latency and CPU per process; then,
#               at 10/s, half the labels sent late on nd.labels. Ends with one table of every run.
#   all         both (the default).
# Settings of the wide runs (environment): ND_BENCH_WARMUP (2m), ND_BENCH_MEASURED (10m, whole minutes),
# ND_BENCH_RATES ("10 100"), ND_BENCH_LATE_LABELS (10: the rate of the late-label run; empty: none),
# ND_BENCH_LABEL_DELAY (30s), ND_BENCH_RESULTS (the file the runs are recorded in, emptied first). On a shared
# machine, ND_BENCH_MAX_LOAD (e.g. 1.5) makes each run wait, checking every 30 s and at most ND_BENCH_LOAD_WAIT
# (20m), for a 1-minute load average below it (then it runs anyway, and says so).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WHAT=${1:-all}
case "$WHAT" in throughput|wide|all) ;; *) echo "usage: $0 [throughput|wide|all]" >&2; exit 2 ;; esac
./mvnw -B -q install -DskipTests -pl services/pipeline/aggregator,deploy/launcher -am
CP=$(./mvnw -B -q -pl services/pipeline/aggregator dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=/dev/stdout)
CP="services/pipeline/aggregator/target/test-classes:services/pipeline/aggregator/target/classes:$CP"
JAR=services/pipeline/aggregator/target/quarkus-app/quarkus-run.jar
DB=(jdbc:postgresql://127.0.0.1:15432/neuraldivergence neuraldivergence neuraldivergence)
# the classpath brings Quarkus' log manager (jboss-logmanager): choose it before anything logs, as the tests do,
# or its LoggerFinder prints an ERROR that java.util.logging was set up first; and at INFO, for Quarkus' initial
# configurator (on the classpath too) lets every level through until a Quarkus application sets logging up: the
# PostgreSQL driver then traces every protocol message, which made the compression benchmark's flushes 3 times slower
JUL=(-Djava.util.logging.manager=org.jboss.logmanager.LogManager -Dlogging.initial-configurator.min-level=INFO)

seconds() { # 90s, 2m, 1h -> seconds
  local n=${1%[smh]}
  case "$1" in *s) echo "$n" ;; *m) echo $((n * 60)) ;; *h) echo $((n * 3600)) ;; *) echo "$1" ;; esac
}

# Waits (at most ND_BENCH_LOAD_WAIT) for the 1-minute load average to fall below ND_BENCH_MAX_LOAD; sets LOAD_NOTE.
wait_for_quiet() {
  LOAD_NOTE=""
  [ -n "${ND_BENCH_MAX_LOAD:-}" ] || return 0
  local waited=0 limit load
  limit=$(seconds "${ND_BENCH_LOAD_WAIT:-20m}")
  while load=$(cut -d' ' -f1 /proc/loadavg) && awk -v l="$load" -v m="$ND_BENCH_MAX_LOAD" 'BEGIN { exit !(l >= m) }'; do
    if [ "$waited" -ge "$limit" ]; then
      LOAD_NOTE="load still $load after waiting ${waited} s: ran anyway"
      echo "$LOAD_NOTE"
      return 0
    fi
    sleep 30
    waited=$((waited + 30))
  done
  LOAD_NOTE="waited ${waited} s for load < $ND_BENCH_MAX_LOAD"
  echo "1-minute load $load < $ND_BENCH_MAX_LOAD after waiting ${waited} s"
}

if [ "$WHAT" != wide ]; then
  wait_for_quiet
  (
    # shellcheck source=deploy/benchmark-infrastructure.sh
    . deploy/benchmark-infrastructure.sh
    java -Xmx2g "${JUL[@]}" -cp "$CP" ai.neuraldivergence.aggregator.bench.AggregationBenchmark "$JAR" 127.0.0.1:19092 \
      "${DB[@]}"
  )
fi

if [ "$WHAT" != throughput ]; then
  RESULTS=${ND_BENCH_RESULTS:-services/pipeline/aggregator/target/wide-model-benchmark.tsv}
  : > "$RESULTS"
  wide() { # rate, late labels (true/false)
    wait_for_quiet
    (
      # shellcheck source=deploy/benchmark-infrastructure.sh
      . deploy/benchmark-infrastructure.sh
      java -Xmx1g "${JUL[@]}" -cp "$CP" -Dnd.bench.rate="$1" -Dnd.bench.late-labels="$2" \
        -Dnd.bench.warmup="${ND_BENCH_WARMUP:-2m}" -Dnd.bench.measured="${ND_BENCH_MEASURED:-10m}" \
        -Dnd.bench.label-delay="${ND_BENCH_LABEL_DELAY:-30s}" -Dnd.bench.clock-ticks="$(getconf CLK_TCK)" \
        -Dnd.bench.note="$LOAD_NOTE" ai.neuraldivergence.aggregator.bench.WideModelBenchmark run "$JAR" \
        127.0.0.1:19092 "${DB[@]}" "$BENCH_RUN" "$RESULTS"
    ) || echo "the wide-model run at $1/s (late labels: $2) failed"
  }
  for rate in ${ND_BENCH_RATES:-10 100}; do
    wide "$rate" false
  done
  if [ -n "${ND_BENCH_LATE_LABELS-10}" ]; then
    wide "${ND_BENCH_LATE_LABELS-10}" true
  fi
  java "${JUL[@]}" -cp "$CP" ai.neuraldivergence.aggregator.bench.WideModelBenchmark table "$RESULTS"
fi
