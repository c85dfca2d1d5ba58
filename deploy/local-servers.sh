#!/usr/bin/env bash
# Installs (when missing) and starts, on 127.0.0.1 only, the servers Suara needs when no
# Docker engine runs: RabbitMQ (Debian's rabbitmq-server), FerretDB v1.24.2 (the
# MongoDB-compatible stand-in, SQLite backend) and Mailpit v1.33.1 (the SMTP server with a
# web inbox that shows every mail Suara sends: SMTP 1025, inbox http://127.0.0.1:8025).
# Idempotent: a second `start` finds the running servers and returns at once.
#
#   deploy/local-servers.sh start|stop|status|install
#
# Data and logs live under $SUARA_VAR (default: <repo>/var, git-ignored).
set -euo pipefail
# the servers outlive this script: they must not inherit a descriptor its caller holds open
# (a `flock` lock, a test runner's pipe), or that lock is held for as long as they run
for fd in 3 4 5 6 7 8 9; do eval "exec $fd>&-" 2>/dev/null || true; done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="${SUARA_VAR:-$ROOT/var}"
FERRETDB_VERSION="v1.24.2"
# Suara's patches to FerretDB (deploy/ferretdb/*.patch, each says what upstream lacks); the
# binary's name carries their hash, so a changed patch always yields a new build
FERRETDB_PATCHES=("$ROOT"/deploy/ferretdb/*.patch)
FERRETDB_PATCH_HASH="$(cat "${FERRETDB_PATCHES[@]}" | sha256sum | cut -c1-10)"
# built once per checkout, whatever SUARA_VAR a second instance uses
BIN_DIR="$ROOT/var/bin"
FERRETDB_BIN="${SUARA_FERRETDB_BIN:-$BIN_DIR/ferretdb-$FERRETDB_VERSION-$FERRETDB_PATCH_HASH}"
MAILPIT_VERSION="v1.33.1"
MAILPIT_BIN="${SUARA_MAILPIT_BIN:-$BIN_DIR/mailpit-$MAILPIT_VERSION}"
SMTP_PORT="${SUARA_SMTP_PORT:-1025}"
MAILPIT_UI_PORT="${SUARA_MAILPIT_UI_PORT:-8025}"
MAILPIT_DIR="$VAR/mailpit"
MONGO_PORT="${SUARA_MONGO_PORT:-27017}"
AMQP_PORT="${SUARA_AMQP_PORT:-5672}"
RABBIT_DIR="$VAR/rabbitmq"
FERRET_DIR="$VAR/ferretdb"

say() { printf '[local-servers] %s\n' "$*" >&2; }
die() { printf '[local-servers] ERROR: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port pidfile seconds
    local name=$1 port=$2 pidfile=$3 deadline=$((SECONDS + $4))
    until port_open "$port"; do
        if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            die "$name exited while starting; see its log under $VAR/log/"
        fi
        [ $SECONDS -lt $deadline ] || die "$name did not answer on 127.0.0.1:$port within $4 s"
        sleep 0.3
    done
}

# ---------------------------------------------------------------- install
install_rabbitmq() {
    command -v rabbitmq-server >/dev/null 2>&1 && return 0
    [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] && return 0
    say "rabbitmq-server is missing: installing Debian's package"
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null 2>&1 \
            || die "rabbitmq-server is not installed and this user is not root. Fix: run 'sudo apt-get install -y rabbitmq-server' and try again."
        SUDO=sudo
    else
        SUDO=
    fi
    command -v apt-get >/dev/null 2>&1 \
        || die "rabbitmq-server is not installed and apt-get is missing. Fix: install RabbitMQ 3.x by hand, or use 'make up' (docker compose)."
    # The Debian package starts the server through its init scripts when it can;
    # policy-rc.d stops that so only this script starts it, bound to 127.0.0.1.
    local policy=/usr/sbin/policy-rc.d created_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
        $SUDO chmod +x "$policy"
        created_policy=1
    fi
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server >/dev/null \
        || { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null \
             && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server >/dev/null; } \
        || die "apt-get could not install rabbitmq-server. Fix: run 'apt-get update && apt-get install -y rabbitmq-server' and read its error."
    [ -n "$created_policy" ] && $SUDO rm -f "$policy"
    # the package may have started a default node anyway: stop it, ours runs from $VAR
    $SUDO pkill -f 'beam.*rabbit' 2>/dev/null || true
    $SUDO pkill -x epmd 2>/dev/null || true
}

install_ferretdb() {
    [ -x "$FERRETDB_BIN" ] && return 0
    command -v go >/dev/null 2>&1 \
        || die "FerretDB is missing and Go is not installed. Fix: install Go >= 1.22 (https://go.dev/doc/install) or put a ferretdb $FERRETDB_VERSION binary at $FERRETDB_BIN (SUARA_FERRETDB_BIN)."
    say "FerretDB $FERRETDB_VERSION is missing: building it with Go (about a minute)"
    command -v patch >/dev/null 2>&1 \
        || die "FerretDB must be patched before it is built and 'patch' is missing. Fix: apt-get install -y patch"
    mkdir -p "$BIN_DIR" "$VAR/build"
    go install "github.com/FerretDB/FerretDB/cmd/ferretdb@$FERRETDB_VERSION" \
        || die "'go install github.com/FerretDB/FerretDB/cmd/ferretdb@$FERRETDB_VERSION' failed (see above). Fix: check that the Go module proxy is reachable (GOPROXY)."
    # A binary built by `go install mod@version` panics at start: the module ships
    # without build/version/version.txt. Rebuild the same downloaded source with it.
    local src
    src="$(go env GOMODCACHE)/github.com/!ferret!d!b/!ferret!d!b@$FERRETDB_VERSION"
    [ -d "$src" ] || die "FerretDB source not found in the Go module cache at $src"
    rm -rf "$VAR/build/ferretdb"
    cp -r "$src" "$VAR/build/ferretdb"
    chmod -R u+w "$VAR/build/ferretdb"
    echo "$FERRETDB_VERSION" >"$VAR/build/ferretdb/build/version/version.txt"
    local patch
    for patch in "${FERRETDB_PATCHES[@]}"; do
        patch -d "$VAR/build/ferretdb" -p1 --forward --batch --quiet <"$patch" \
            || die "patch $(basename "$patch") does not apply to FerretDB $FERRETDB_VERSION"
    done
    (cd "$VAR/build/ferretdb" && go build -o "$FERRETDB_BIN" ./cmd/ferretdb) \
        || die "building FerretDB from $VAR/build/ferretdb failed (see above)"
    rm -rf "$VAR/build/ferretdb"
    "$FERRETDB_BIN" --version 2>&1 | sed -n 1p >&2  # sed reads it all: no SIGPIPE under pipefail
}

# ---------------------------------------------------------------- start
install_mailpit() {
    [ -x "$MAILPIT_BIN" ] && return 0
    command -v go >/dev/null \
        || die "Mailpit is missing and Go is not installed. Fix: install Go, or put a mailpit $MAILPIT_VERSION binary at $MAILPIT_BIN (SUARA_MAILPIT_BIN)."
    say "Mailpit $MAILPIT_VERSION is missing: building it with Go"
    mkdir -p "$BIN_DIR"
    GOBIN="$VAR/build/mailpit-bin" go install "github.com/axllent/mailpit@$MAILPIT_VERSION" \
        || die "'go install github.com/axllent/mailpit@$MAILPIT_VERSION' failed (see above)"
    mv "$VAR/build/mailpit-bin/mailpit" "$MAILPIT_BIN"
    rm -rf "$VAR/build/mailpit-bin"
}

rabbit_env() {
    # a second instance on another port (e.g. an isolated CI run) needs a node name of its own
    if [ "$AMQP_PORT" = 5672 ]; then
        export RABBITMQ_NODENAME="suara@localhost"
    else
        export RABBITMQ_NODENAME="suara-$AMQP_PORT@localhost"
    fi
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT="$AMQP_PORT"
    export RABBITMQ_DIST_PORT=$((AMQP_PORT + 20000))
    export ERL_EPMD_ADDRESS=127.0.0.1  # epmd on loopback only
    # Erlang distribution (the CLI tools' port, AMQP port + 20000) on loopback only as well
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_MNESIA_BASE="$RABBIT_DIR/mnesia"
    export RABBITMQ_LOG_BASE="$VAR/log/rabbitmq"
    export RABBITMQ_PID_FILE="$RABBIT_DIR/rabbitmq.pid"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$RABBIT_DIR/enabled_plugins"
    export RABBITMQ_CONFIG_FILE="$RABBIT_DIR/rabbitmq"
    export PATH="/usr/lib/rabbitmq/bin:$PATH:/usr/sbin"  # the real scripts, not the wrapper that su-s to user rabbitmq
}

start_rabbitmq() {
    rabbit_env
    if port_open "$AMQP_PORT"; then
        say "RabbitMQ already answers on 127.0.0.1:$AMQP_PORT"
        ensure_vhosts
        return 0
    fi
    mkdir -p "$RABBIT_DIR" "$VAR/log/rabbitmq"
    # the management UI and HTTP API (user admin), and the broker's own Prometheus metrics
    echo "[rabbitmq_management,rabbitmq_prometheus]." >"$RABBITMQ_ENABLED_PLUGINS_FILE"
    # loopback only, as are the management UI (AMQP port + 10000: 15672) and the metrics
    # (+ 10020: 15692); guest (the test harness's user) may only connect from loopback
    cat >"$RABBIT_DIR/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$AMQP_PORT
loopback_users.guest = true
disk_free_limit.absolute = 50MB
management.tcp.ip = 127.0.0.1
management.tcp.port = $((AMQP_PORT + 10000))
prometheus.tcp.ip = 127.0.0.1
prometheus.tcp.port = $((AMQP_PORT + 10020))
EOF
    say "starting RabbitMQ on 127.0.0.1:$AMQP_PORT (data: $RABBIT_DIR)"
    setsid rabbitmq-server >>"$VAR/log/rabbitmq/console.log" 2>&1 </dev/null &
    echo $! >"$RABBIT_DIR/launcher.pid"
    wait_port RabbitMQ "$AMQP_PORT" "$RABBIT_DIR/launcher.pid" 120
    rabbitmqctl -q await_startup --timeout 60 >/dev/null 2>&1 || true
    ensure_vhosts
    say "RabbitMQ is up"
}

ensure_vhosts() {
    # docker compose's users and permissions (deploy/rabbitmq/definitions.json) on "/" and on
    # the vhosts the tests, the bench, the fuzz campaign and the chaos runs keep to themselves
    # (so they never take a running platform's messages); guest, the test harness, has every
    # right on those and none on "/"
    rabbit_env
    local defs="$RABBIT_DIR/definitions.json"
    python3 "$ROOT/deploy/rabbitmq/local_definitions.py" \
        / suara-test suara-test-isolated suara-test-quorum suara-bench suara-fuzz suara-chaos \
        >"$defs" \
        || die "could not render the RabbitMQ definitions (deploy/rabbitmq/local_definitions.py)"
    rabbitmqctl -q import_definitions "$defs" >/dev/null \
        || die "rabbitmqctl import_definitions $defs failed (see $VAR/log/rabbitmq)"
    rabbitmqctl -q clear_permissions -p / guest >/dev/null 2>&1 || true
}

start_ferretdb() {
    if port_open "$MONGO_PORT"; then
        say "FerretDB (MongoDB wire protocol) already answers on 127.0.0.1:$MONGO_PORT"
        return 0
    fi
    mkdir -p "$FERRET_DIR/data" "$VAR/log"
    say "starting FerretDB on 127.0.0.1:$MONGO_PORT (data: $FERRET_DIR)"
    # telemetry off: nothing outside this machine can be reached, and none is wanted
    setsid "$FERRETDB_BIN" \
        --handler=sqlite --sqlite-url="file:$FERRET_DIR/data/?_pragma=synchronous(normal)" \
        --listen-addr="127.0.0.1:$MONGO_PORT" --state-dir="$FERRET_DIR" \
        --debug-addr=- --telemetry=disable --log-level=warn \
        >>"$VAR/log/ferretdb.log" 2>&1 </dev/null &
    echo $! >"$FERRET_DIR/ferretdb.pid"
    wait_port FerretDB "$MONGO_PORT" "$FERRET_DIR/ferretdb.pid" 60
    say "FerretDB is up"
}

start_mailpit() {
    if port_open "$SMTP_PORT"; then
        say "an SMTP server already answers on 127.0.0.1:$SMTP_PORT"
        return 0
    fi
    mkdir -p "$MAILPIT_DIR" "$VAR/log"
    say "starting Mailpit: SMTP on 127.0.0.1:$SMTP_PORT, inbox http://127.0.0.1:$MAILPIT_UI_PORT"
    setsid "$MAILPIT_BIN" \
        --smtp "127.0.0.1:$SMTP_PORT" --listen "127.0.0.1:$MAILPIT_UI_PORT" \
        --database "$MAILPIT_DIR/mailpit.db" --max 5000 \
        --smtp-auth-accept-any --smtp-auth-allow-insecure \
        --disable-version-check \
        >>"$VAR/log/mailpit.log" 2>&1 </dev/null &
    echo $! >"$MAILPIT_DIR/mailpit.pid"
    wait_port Mailpit "$SMTP_PORT" "$MAILPIT_DIR/mailpit.pid" 30
    wait_port "Mailpit's inbox" "$MAILPIT_UI_PORT" "$MAILPIT_DIR/mailpit.pid" 30
    say "Mailpit is up"
}

# ---------------------------------------------------------------- stop
stop_rabbitmq() {
    rabbit_env
    # only the node this checkout started (another checkout's node has the same name)
    [ -f "$RABBIT_DIR/launcher.pid" ] || { say "RabbitMQ was not started from $VAR: left alone"; return 0; }
    if port_open "$AMQP_PORT"; then
        say "stopping RabbitMQ"
        rabbitmqctl -q stop >/dev/null 2>&1 || true
    fi
    if [ -f "$RABBIT_DIR/launcher.pid" ]; then
        kill "$(cat "$RABBIT_DIR/launcher.pid")" 2>/dev/null || true
        rm -f "$RABBIT_DIR/launcher.pid"
    fi
    # until the node is gone: its AMQP, management, metrics and distribution ports all free
    # (a new node started while the old one still holds one of them exits at once)
    local deadline=$((SECONDS + 30)) node_pid=""
    [ -f "$RABBITMQ_PID_FILE" ] && node_pid="$(cat "$RABBITMQ_PID_FILE" 2>/dev/null || true)"
    while [ $SECONDS -lt $deadline ]; do
        if port_open "$AMQP_PORT" || port_open $((AMQP_PORT + 10000)) \
            || port_open $((AMQP_PORT + 10020)) || port_open "$RABBITMQ_DIST_PORT" \
            || { [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; }; then
            sleep 0.3
        else
            break
        fi
    done
}

stop_ferretdb() {
    local pidfile="$FERRET_DIR/ferretdb.pid"
    if [ -f "$pidfile" ]; then
        say "stopping FerretDB"
        kill "$(cat "$pidfile")" 2>/dev/null || true
        local deadline=$((SECONDS + 20))
        while kill -0 "$(cat "$pidfile")" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        rm -f "$pidfile"
    fi
}

stop_mailpit() {
    local pidfile="$MAILPIT_DIR/mailpit.pid"
    if [ -f "$pidfile" ]; then
        say "stopping Mailpit"
        kill "$(cat "$pidfile")" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while kill -0 "$(cat "$pidfile")" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
        rm -f "$pidfile"
    fi
}

status() {
    port_open "$AMQP_PORT" \
        && say "RabbitMQ: up on 127.0.0.1:$AMQP_PORT (management UI http://127.0.0.1:$((AMQP_PORT + 10000)), user admin)" \
        || say "RabbitMQ: down"
    port_open "$MONGO_PORT" && say "FerretDB: up on 127.0.0.1:$MONGO_PORT" || say "FerretDB: down"
    port_open "$SMTP_PORT" && say "Mailpit: up on 127.0.0.1:$SMTP_PORT (inbox :$MAILPIT_UI_PORT)" \
        || say "Mailpit: down"
}

case "${1:-start}" in
    install) install_rabbitmq; install_ferretdb; install_mailpit ;;
    start)
        install_rabbitmq; install_ferretdb; install_mailpit
        start_rabbitmq; start_ferretdb; start_mailpit ;;
    stop) stop_mailpit; stop_ferretdb; stop_rabbitmq ;;
    restart-rabbitmq) stop_rabbitmq; start_rabbitmq ;;
    restart-ferretdb) stop_ferretdb; start_ferretdb ;;
    status) status ;;
    # the local node's own rabbitmqctl (its node name and data dirs), e.g.
    #   deploy/local-servers.sh rabbitmqctl list_queues -p / name messages consumers
    rabbitmqctl) shift; rabbit_env; exec rabbitmqctl "$@" ;;
    *) die "usage: $0 start|stop|status|install|restart-rabbitmq|restart-ferretdb|rabbitmqctl ARGS..." ;;
esac
