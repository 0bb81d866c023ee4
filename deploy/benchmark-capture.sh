#!/usr/bin/env bash
# Measures what activation capture costs (see CaptureBenchmark): plain DJL predict vs predict + capture + publish
# to a real Kafka broker, at batch 1 and 64, and RSS after 100,000 predictions. Starts its own Kafka and
# PostgreSQL (the local launcher) on spare ports in a temporary folder, and stops them afterwards.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
./mvnw -B -q install -DskipTests -pl services/inference,deploy/launcher -am
CP=$(./mvnw -B -q -pl services/inference dependency:build-classpath -Dmdep.includeScope=test \
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
# the heap of a production inference service: native tensors are freed at GC, so it stays small
TF_CPP_MIN_LOG_LEVEL=2 java -Xmx256m -cp "services/inference/target/test-classes:services/inference/target/classes:$CP" \
  ai.neuraldivergence.inference.bench.CaptureBenchmark services/model-builder/target/mnist-cnn/saved_model \
  127.0.0.1:19092
