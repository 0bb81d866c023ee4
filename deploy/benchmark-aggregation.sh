#!/usr/bin/env bash
# Measures what aggregation costs (see AggregationBenchmark): the raw KLL update rate against the end-to-end rate
# of sketch updates from Kafka to committed PostgreSQL through the packaged aggregator. Starts its own Kafka and
# PostgreSQL (the local launcher) on spare ports in a temporary folder, and stops them afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./mvnw -B -q install -DskipTests -pl services/aggregator,deploy/launcher -am
CP=$(./mvnw -B -q -pl services/aggregator dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile=/dev/stdout)
RUN=$(mktemp -d)
LAUNCHER=deploy/launcher/target
java -Xmx256m -cp "$LAUNCHER/lib/*:$(ls $LAUNCHER/nd-launcher-*.jar | head -1)" \
  ai.neuraldivergence.launcher.LocalInfrastructure --run-dir "$RUN" --kafka-port 19092 \
  --kafka-controller-port 19093 --postgres-port 15432 > "$RUN/launcher.log" 2>&1 &
LAUNCHER_PID=$!
trap 'kill $LAUNCHER_PID 2>/dev/null; wait $LAUNCHER_PID 2>/dev/null; rm -rf "$RUN"' EXIT
for _ in $(seq 1 1200); do grep -q '^READY' "$RUN/launcher.log" 2>/dev/null && break; sleep 0.1; done
grep -q '^READY' "$RUN/launcher.log" || { cat "$RUN/launcher.log"; exit 1; }
java -Xmx2g -cp "services/aggregator/target/test-classes:services/aggregator/target/classes:$CP" \
  ai.neuraldivergence.aggregator.bench.AggregationBenchmark \
  services/aggregator/target/quarkus-app/quarkus-run.jar 127.0.0.1:19092 \
  jdbc:postgresql://127.0.0.1:15432/neuraldivergence neuraldivergence neuraldivergence
