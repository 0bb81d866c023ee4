# Sourced by the benchmark scripts: starts the local launcher's Kafka and PostgreSQL on spare ports (19092, 19093,
# 15432) in a temporary folder, and stops them when the script exits.
BENCH_RUN=$(mktemp -d)
BENCH_LAUNCHER=deploy/launcher/target
java -Xmx256m -cp "$BENCH_LAUNCHER/lib/*:$(ls $BENCH_LAUNCHER/nd-launcher-*.jar | head -1)" \
  ai.neuraldivergence.launcher.LocalInfrastructure --run-dir "$BENCH_RUN" --kafka-port 19092 \
  --kafka-controller-port 19093 --postgres-port 15432 > "$BENCH_RUN/launcher.log" 2>&1 &
BENCH_LAUNCHER_PID=$!
trap 'kill $BENCH_LAUNCHER_PID 2>/dev/null; wait $BENCH_LAUNCHER_PID 2>/dev/null || true; rm -rf "$BENCH_RUN"' EXIT
for _ in $(seq 1 1200); do grep -q '^READY' "$BENCH_RUN/launcher.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^READY' "$BENCH_RUN/launcher.log" || { cat "$BENCH_RUN/launcher.log"; exit 1; }
