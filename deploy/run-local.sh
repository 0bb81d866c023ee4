#!/usr/bin/env bash
# Runs the whole NeuralDivergence platform on this machine: a real Kafka broker and PostgreSQL (the launcher in
# deploy/launcher, no Docker), the aggregator, inference (with the trained MNIST model) and comparison services,
# the replay of the training set as the "training" reference (once per model), and live traffic that drifts.
# Builds first if needed (the model is trained once and reused while its inputs are unchanged).
#
#   deploy/run-local.sh          start everything, print the URLs, stop everything on Ctrl-C
#   deploy/run-local.sh stop     stop a platform started from another shell
#   deploy/run-local.sh status   say what runs
#
# Ports: INFERENCE_HTTP_PORT (8080), AGGREGATOR_HTTP_PORT (8081), COMPARISON_HTTP_PORT (8082, gRPC too); health and
# metrics on each service's management port: INFERENCE_MANAGEMENT_PORT (9080), AGGREGATOR_MANAGEMENT_PORT (9081),
# COMPARISON_MANAGEMENT_PORT (9082); KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), POSTGRES_PORT (55432).
# State and logs: ND_RUN_DIR (.run).
# ND_SKIP_BUILD=1 runs what is built without checking it is current (the end-to-end tests, after the build).
# Traffic: ND_TRAFFIC_RATE (inputs/s, 20), ND_TRAFFIC_SCHEDULE (scenario:seconds,..., see nd-traffic stream --help).
# API token: one random token for both services' APIs, in $ND_RUN_DIR/token (mode 600), printed once; ND_TOKEN
# gives one instead.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=${ND_RUN_DIR:-$ROOT/.run}
LOGS=$RUN/logs
SERVICES=(aggregator inference comparison)
PARTS=(infrastructure "${SERVICES[@]}" traffic)
MODEL_DIR=$ROOT/services/tooling/model-builder/target/mnist-cnn
TRAFFIC_DIR=$ROOT/services/tooling/traffic/target
declare -A PORT=(
  [inference]=${INFERENCE_HTTP_PORT:-8080}
  [aggregator]=${AGGREGATOR_HTTP_PORT:-8081}
  [comparison]=${COMPARISON_HTTP_PORT:-8082}
)
# Quarkus' management interface: /q/health and /q/metrics, apart from the APIs
declare -A MANAGEMENT_PORT=(
  [inference]=${INFERENCE_MANAGEMENT_PORT:-9080}
  [aggregator]=${AGGREGATOR_MANAGEMENT_PORT:-9081}
  [comparison]=${COMPARISON_MANAGEMENT_PORT:-9082}
)
LAUNCHER_DIR=$ROOT/deploy/launcher/target
# DJL's service gets a small fixed heap later; the others need little: distributions are flushed every second
SERVICE_HEAP=${ND_SERVICE_HEAP:-256m}

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Stops the process in pid file $1 with SIGTERM, then SIGKILL after $2 seconds.
stop_pid() {
  local file=$1 grace=$2 pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((grace * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "  $(basename "$file" .pid) did not stop in ${grace}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$file"
}

stop_all() {
  say "stopping NeuralDivergence..."
  stop_pid "$RUN/traffic.pid" 10
  stop_pid "$RUN/replay.pid" 10
  for s in comparison inference aggregator; do stop_pid "$RUN/$s.pid" 30; done
  stop_pid "$RUN/infrastructure.pid" 90
  # the launcher stops its broker and PostgreSQL itself; these only act if it was killed before it could
  stop_pid "$RUN/kafka.pid" 30
  if [ -f "$RUN/postgres/postmaster.pid" ]; then
    local pg
    pg=$(head -1 "$RUN/postgres/postmaster.pid")
    if kill -0 "$pg" 2>/dev/null; then
      kill -INT "$pg" 2>/dev/null || true  # PostgreSQL's fast shutdown
      for _ in $(seq 1 300); do kill -0 "$pg" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  say "stopped"
}

status() {
  local any=0
  for p in "${PARTS[@]}"; do
    if alive "$RUN/$p.pid"; then say "$p: running (pid $(cat "$RUN/$p.pid"))"; any=1; else say "$p: stopped"; fi
  done
  return $((1 - any))
}

# HTTP status of GET $2 on 127.0.0.1:$1, using bash alone (a fresh machine may have no curl).
http_status() {
  local port=$1 path=$2 line
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || { echo 000; return; }
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$path" >&3
  IFS=' ' read -r _ line _ <&3 || line=000
  exec 3<&- 3>&-
  echo "${line:-000}"
}

await_ready() {
  local s=$1 port=${MANAGEMENT_PORT[$1]}
  for _ in $(seq 1 1200); do
    alive "$RUN/$s.pid" || die "$s exited; see $LOGS/$s.log"
    [ "$(http_status "$port" /q/health/ready)" = 200 ] && return 0
    sleep 0.1
  done
  die "$s not ready after 120 s; see $LOGS/$s.log"
}

build_if_needed() {
  local stamp=$RUN/build.stamp jars=(
    "$ROOT/services/pipeline/inference/target/quarkus-app/quarkus-run.jar"
    "$ROOT/services/pipeline/aggregator/target/quarkus-app/quarkus-run.jar"
    "$ROOT/services/pipeline/comparison/target/quarkus-app/quarkus-run.jar"
    "$LAUNCHER_DIR/lib"
    "$MODEL_DIR/build-key.txt"
    "$TRAFFIC_DIR/lib"
  ) stale=0
  for j in "${jars[@]}"; do [ -e "$j" ] || stale=1; done
  if [ "${ND_SKIP_BUILD:-}" = 1 ]; then
    # the end-to-end tests run this script after the build that packaged these parts
    for j in "${jars[@]}"; do [ -e "$j" ] || die "$j is missing (ND_SKIP_BUILD=1 runs what is built)"; done
    return 0
  fi
  if [ $stale = 0 ] && [ -f "$stamp" ]; then
    [ -n "$(cd "$ROOT" && find pom.xml proto services deploy/launcher frontend -name target -prune \
      -o -name node_modules -prune -o -name dist -prune -o -type f -newer "$stamp" -print -quit)" ] && stale=1
  else
    stale=1
  fi
  if [ $stale = 1 ]; then
    say "building (./mvnw package, tests skipped; the first build downloads dependencies and trains the model)..."
    (cd "$ROOT" && ./mvnw -B -q package -DskipTests \
      -pl services/pipeline/inference,services/pipeline/aggregator,services/pipeline/comparison,services/tooling/traffic,deploy/launcher -am) \
      || die "build failed"
    mkdir -p "$RUN" && touch "$stamp"
  fi
}

# Drift monitors of the local run: every tap of the model against its "training" reference. One window over the
# threshold is enough here, so that a scenario shows within a minute or two; production keeps the default of two.
# The threshold sits between what this run's minutes measure: benign ones 0.04-0.05 on every tap, wholly attacked
# ones 0.10-0.16 (a minute half attacked, about 0.07).
COMPARISON_OPTS=(
  -Dnd.comparison.monitors.training-drift.model=mnist-cnn
  -Dnd.comparison.monitors.training-drift.tap=*
  -Dnd.comparison.monitors.training-drift.reference=training
  "-Dnd.comparison.monitors.training-drift.threshold=${ND_MONITOR_THRESHOLD:-0.08}"
  -Dnd.comparison.monitors.training-drift.windows-in-a-row=1
  # Beside it, a calibrated monitor with the defaults (minimum effect 0.05, one false alarm per 30 days): to promise
  # that rate against a reference of 8,000 digits its shortest window, a minute here, needs a mean KS of about 0.17
  # plus the sketches' bound, above the 0.10-0.16 of a wholly attacked minute, and its long window is the hour, which
  # a 90-second attack cannot move. The fixed one tells this run's story; this one shows what a guarantee costs.
  -Dnd.comparison.monitors.calibrated-drift.model=mnist-cnn
  -Dnd.comparison.monitors.calibrated-drift.mode=calibrated
)

# One token for both APIs, every scope: written where deploy/nd and the tests read it, readable by this user only.
# It reaches the services and the traffic generator through their environment, never their command lines (which
# any user of the machine can list).
issue_token() {
  if [ -n "${ND_TOKEN:-}" ]; then
    TOKEN=$ND_TOKEN
  else
    TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  fi
  (umask 077 && printf '%s\n' "$TOKEN" > "$RUN/token")
  chmod 600 "$RUN/token"
}

start_service() {
  local s=$1
  local opts=() db=()
  [ "$s" = comparison ] && opts=("${COMPARISON_OPTS[@]}")
  # the comparison service connects as its own login, a member of nd_comparison (it reads every table and writes
  # only references); the other services as the schema's owner, from infrastructure.env
  [ "$s" = comparison ] && db=(QUARKUS_DATASOURCE_USERNAME="$ND_COMPARISON_DB_USERNAME"
    QUARKUS_DATASOURCE_PASSWORD="$ND_COMPARISON_DB_PASSWORD")
  # the inference service: the trained model, and its inputs captured as images for the UI
  # the UI (served by comparison) uploads digits straight to inference: its URL, and the origin inference allows;
  # no shutdown delay: no balancer here waits to take a stopping service out
  ND_MODEL_PATH=$MODEL_DIR/saved_model ND_CAPTURE_INPUTS=true TF_CPP_MIN_LOG_LEVEL=2 \
  ND_UI_INFERENCE_URL=http://127.0.0.1:${PORT[inference]} \
  ND_UI_ORIGIN=http://127.0.0.1:${PORT[comparison]},http://localhost:${PORT[comparison]} \
  ND_COMPARISON_AUTH_TOKENS=local:$TOKEN ND_INFERENCE_AUTH_TOKENS=local:$TOKEN \
  QUARKUS_HTTP_PORT=${PORT[$s]} QUARKUS_MANAGEMENT_PORT=${MANAGEMENT_PORT[$s]} \
  QUARKUS_SHUTDOWN_DELAY=0s \
  nohup env "${db[@]}" java "-Xmx$SERVICE_HEAP" "${opts[@]}" -jar \
    "$ROOT/services/pipeline/$s/target/quarkus-app/quarkus-run.jar" > "$LOGS/$s.log" 2>&1 &
  echo $! > "$RUN/$s.pid"
}

start() {
  command -v java > /dev/null || die "java not found: install a JDK 17"
  java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])' || die "Java 17 or newer is needed"
  for p in "${PARTS[@]}"; do
    alive "$RUN/$p.pid" && die "NeuralDivergence already runs ($p, pid $(cat "$RUN/$p.pid")); stop it with: $0 stop"
  done
  build_if_needed
  mkdir -p "$LOGS"
  issue_token
  # whatever ends this script (Ctrl-C, a part that died, a failed start: die exits, which ERR would miss) stops
  # every part it started; a closed terminal or pipe must not cut the stop short
  trap 'trap "" PIPE; exit 0' INT TERM
  trap 'trap "" PIPE; stop_all' EXIT

  say "starting Kafka and PostgreSQL..."
  # a previous run's READY line and addresses must not be read before the new launcher has written its own
  rm -f "$LOGS/infrastructure.log" "$RUN/infrastructure.env" "$RUN/comparison-db.env"
  nohup java -Xmx256m -cp "$LAUNCHER_DIR/lib/*:$(ls "$LAUNCHER_DIR"/nd-launcher-*.jar | head -1)" \
    ai.neuraldivergence.launcher.LocalInfrastructure --run-dir "$RUN" \
    --kafka-port "${KAFKA_PORT:-9092}" --kafka-controller-port "${KAFKA_CONTROLLER_PORT:-9093}" \
    --postgres-port "${POSTGRES_PORT:-55432}" > "$LOGS/infrastructure.log" 2>&1 &
  echo $! > "$RUN/infrastructure.pid"
  for _ in $(seq 1 1800); do
    grep -q '^READY' "$LOGS/infrastructure.log" 2>/dev/null && break
    alive "$RUN/infrastructure.pid" || { cat "$LOGS/infrastructure.log" >&2; die "the infrastructure did not start"; }
    sleep 0.1
  done
  grep -q '^READY' "$LOGS/infrastructure.log" || die "the infrastructure did not start in 180 s"
  set -a
  # shellcheck disable=SC1091
  . "$RUN/infrastructure.env"
  set +a
  # the comparison service's login and this start's password (mode 600): read, not exported, so that it reaches
  # that service alone
  # shellcheck disable=SC1091
  . "$RUN/comparison-db.env"

  say "starting the services..."
  # the aggregator first: it applies the schema the comparison service reads
  start_service aggregator
  await_ready aggregator
  start_service inference
  start_service comparison
  await_ready inference
  await_ready comparison

  # the "training" reference: the training digits replayed and sealed once per model version, before live traffic
  # (left alone once sealed; one an interrupted run left building is deleted and built again)
  local traffic_cp="$TRAFFIC_DIR/lib/*:$(ls "$TRAFFIC_DIR"/nd-traffic-*.jar | head -1)"
  local version
  version=$(cut -c1-12 "$MODEL_DIR/build-key.txt")
  ND_TOKEN=$TOKEN java -Xmx512m -cp "$traffic_cp" ai.neuraldivergence.traffic.TrafficCommand replay-reference \
    --inference "http://127.0.0.1:${PORT[inference]}" --comparison "http://127.0.0.1:${PORT[comparison]}" \
    --name training &
  echo $! > "$RUN/replay.pid"
  wait "$(cat "$RUN/replay.pid")" || die "the reference replay failed"
  rm -f "$RUN/replay.pid"
  ND_TOKEN=$TOKEN nohup java -Xmx512m -cp "$traffic_cp" ai.neuraldivergence.traffic.TrafficCommand stream \
    --inference "http://127.0.0.1:${PORT[inference]}" --pairs "$MODEL_DIR/attacked-pairs.bin.gz" \
    --rate "${ND_TRAFFIC_RATE:-20}" ${ND_TRAFFIC_SCHEDULE:+--schedule "$ND_TRAFFIC_SCHEDULE"} \
    > "$LOGS/traffic.log" 2>&1 &
  echo $! > "$RUN/traffic.pid"
  # the platform is running once traffic flows: the URL is printed when the generator has started its schedule,
  # which begins with an attack (monitors flag a minute once it is complete)
  local waited=0
  until grep -q "scenario" "$LOGS/traffic.log" 2>/dev/null; do
    kill -0 "$(cat "$RUN/traffic.pid")" 2>/dev/null || die "the traffic generator stopped (see $LOGS/traffic.log)"
    [ "$waited" -lt 600 ] || die "the traffic generator did not start within 60 s (see $LOGS/traffic.log)"
    sleep 0.1
    waited=$((waited + 1))
  done

  cat <<MSG

NeuralDivergence is running.
  UI          http://127.0.0.1:${PORT[comparison]}/
  comparison  http://127.0.0.1:${PORT[comparison]}   gRPC API (reflection on), JSON /api/v1
  inference   http://127.0.0.1:${PORT[inference]}   model mnist-cnn $version: POST /v1/predict, /v1/labels, gRPC, OpenAPI /q/openapi
  management  http://127.0.0.1:${MANAGEMENT_PORT[comparison]} comparison, :${MANAGEMENT_PORT[inference]} inference, :${MANAGEMENT_PORT[aggregator]} aggregator   /q/health, /q/metrics
  Kafka       $KAFKA_BOOTSTRAP_SERVERS
  PostgreSQL  $QUARKUS_DATASOURCE_JDBC_URL   (comparison connects as $ND_COMPARISON_DB_USERNAME, a member of nd_comparison)
  traffic     ${ND_TRAFFIC_RATE:-20} inputs/s, drifting on a schedule (scenarios in $LOGS/traffic.log)
  API token   $TOKEN
              (both APIs; kept in $RUN/token, which deploy/nd and the curl examples read; the UI asks for it once)
Logs in $LOGS. Ctrl-C here (or '$0 stop' elsewhere) stops everything.
MSG
  # stay in the foreground until Ctrl-C, or until a part dies
  while true; do
    for p in "${PARTS[@]}"; do
      if ! alive "$RUN/$p.pid"; then
        say "$p stopped unexpectedly; see $LOGS/$p.log" >&2
        exit 1
      fi
    done
    sleep 1
  done
}

case "${1:-start}" in
  start) start ;;
  stop) stop_all ;;
  status) status ;;
  *) die "usage: $0 [start|stop|status]" ;;
esac
