#!/usr/bin/env bash
# A real three-node RabbitMQ cluster on 127.0.0.1 from Debian's rabbitmq-server (make cluster):
# nodes suara-c1@localhost .. suara-c3@localhost, AMQP on 5701..5703, Erlang distribution on
# 25701..25703, data under var/cluster/<node>, one Erlang cookie (this user's), joined into
# one cluster. Suara's users and permissions (deploy/rabbitmq/definitions.json) are applied to
# the vhosts / and suara-cluster, where `make cluster-test` runs Suara on quorum queues.
#
#   deploy/rabbitmq-cluster.sh start|stop|status
#   deploy/rabbitmq-cluster.sh kill N        SIGKILL node N (a crash)
#   deploy/rabbitmq-cluster.sh restart N     start node N again; it rejoins the cluster
#   deploy/rabbitmq-cluster.sh ctl N ARGS    rabbitmqctl against node N
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="${SUARA_VAR:-$ROOT/var}"
DIR="$VAR/cluster"
NODES=(1 2 3)
VHOSTS=(/ suara-cluster)

say() { printf '[rabbitmq-cluster] %s\n' "$*" >&2; }
die() { printf '[rabbitmq-cluster] ERROR: %s\n' "$*" >&2; exit 1; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

node_env() {  # N
    local n=$1
    export RABBITMQ_NODENAME="suara-c$n@localhost"
    export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    export RABBITMQ_NODE_PORT=$((5700 + n))
    export RABBITMQ_DIST_PORT=$((25700 + n))
    export ERL_EPMD_ADDRESS=127.0.0.1
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export RABBITMQ_MNESIA_BASE="$DIR/c$n/mnesia"
    export RABBITMQ_LOG_BASE="$DIR/c$n/log"
    export RABBITMQ_PID_FILE="$DIR/c$n/rabbitmq.pid"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/c$n/enabled_plugins"
    export RABBITMQ_CONFIG_FILE="$DIR/c$n/rabbitmq"
    export PATH="/usr/lib/rabbitmq/bin:$PATH:/usr/sbin"
}

ctl() {  # N ARGS...
    local n=$1; shift
    (node_env "$n"; rabbitmqctl -n "suara-c$n@localhost" "$@")
}

launch_node() {  # N: its rabbitmq-server, in the background
    local n=$1
    (
        node_env "$n"
        if port_open "$RABBITMQ_NODE_PORT"; then
            say "node c$n already answers on 127.0.0.1:$RABBITMQ_NODE_PORT"
            exit 0
        fi
        mkdir -p "$DIR/c$n/log"
        echo "[]." >"$RABBITMQ_ENABLED_PLUGINS_FILE"
        cat >"$DIR/c$n/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$RABBITMQ_NODE_PORT
loopback_users.guest = true
disk_free_limit.absolute = 50MB
cluster_partition_handling = pause_minority
EOF
        say "starting node c$n on 127.0.0.1:$RABBITMQ_NODE_PORT"
        setsid rabbitmq-server >>"$DIR/c$n/log/console.log" 2>&1 </dev/null &
        echo $! >"$DIR/c$n/launcher.pid"
    )
}

await_node() {  # N: until it takes connections (a restarted member waits for its peers)
    local n=$1
    (
        node_env "$n"
        local deadline=$((SECONDS + 360))
        until port_open "$RABBITMQ_NODE_PORT"; do
            [ -f "$DIR/c$n/launcher.pid" ] && ! kill -0 "$(cat "$DIR/c$n/launcher.pid")" 2>/dev/null \
                && die "node c$n exited while starting; see $DIR/c$n/log"
            [ $SECONDS -lt $deadline ] || die "node c$n did not start within 360 s"
            sleep 0.5
        done
        rabbitmqctl -q -n "$RABBITMQ_NODENAME" await_startup --timeout 60 >/dev/null
    )
}

start_node() {  # N
    launch_node "$1"
    await_node "$1"
}

join() {  # N: into c1's cluster, unless it is in it already
    local n=$1
    if ctl 1 -q cluster_status --formatter json 2>/dev/null | grep -q "suara-c$n@localhost"; then
        return 0
    fi
    say "joining c$n to c1"
    ctl "$n" -q stop_app >/dev/null
    ctl "$n" -q join_cluster suara-c1@localhost >/dev/null
    ctl "$n" -q start_app >/dev/null
}

apply_definitions() {
    local defs="$DIR/definitions.json"
    python3 "$ROOT/deploy/rabbitmq/local_definitions.py" "${VHOSTS[@]}" >"$defs"
    ctl 1 -q import_definitions "$defs" >/dev/null
    ctl 1 -q clear_permissions -p / guest >/dev/null 2>&1 || true
}

running_nodes() {
    ctl 1 -q cluster_status --formatter json 2>/dev/null \
        | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["running_nodes"]))' 2>/dev/null \
        || echo 0
}

start() {
    command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] \
        || "$ROOT/deploy/local-servers.sh" install
    mkdir -p "$DIR"
    # all at once: members of an earlier cluster each wait at boot for the others
    for n in "${NODES[@]}"; do launch_node "$n"; done
    for n in "${NODES[@]}"; do await_node "$n"; done
    for n in 2 3; do join "$n"; done
    apply_definitions
    say "cluster up: $(running_nodes) running nodes (AMQP 127.0.0.1:5701-5703)"
}

kill_node() {  # N
    local n=$1 pid
    pid="$(cat "$DIR/c$n/rabbitmq.pid" 2>/dev/null || true)"
    [ -n "$pid" ] || die "node c$n has no pid file"
    say "SIGKILL node c$n (pid $pid)"
    kill -9 "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    rm -f "$DIR/c$n/launcher.pid"
}

stop_node() {  # N
    local n=$1
    [ -f "$DIR/c$n/launcher.pid" ] || [ -f "$DIR/c$n/rabbitmq.pid" ] || return 0
    local pid launcher
    pid="$(cat "$DIR/c$n/rabbitmq.pid" 2>/dev/null || true)"
    launcher="$(cat "$DIR/c$n/launcher.pid" 2>/dev/null || true)"
    # a node still booting (waiting for its peers) may not answer: bounded, then signals
    timeout 20 "$ROOT/deploy/rabbitmq-cluster.sh" ctl "$n" -q stop >/dev/null 2>&1 || true
    [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; }
    local deadline=$((SECONDS + 30))
    while [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    # whatever is left of its session (setsid made the launcher its leader): the node too
    [ -n "$launcher" ] && kill -9 -- "-$launcher" 2>/dev/null || true
    rm -f "$DIR/c$n/launcher.pid" "$DIR/c$n/rabbitmq.pid"
}

stop() {
    for n in 3 2 1; do stop_node "$n"; done
    say "cluster stopped"
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) say "$(running_nodes) running nodes" ;;
    kill) kill_node "${2:?node number}" ;;
    restart) start_node "${2:?node number}"; say "$(running_nodes) running nodes" ;;
    running) running_nodes ;;
    ctl) shift; n=$1; shift; ctl "$n" "$@" ;;
    reset) stop; rm -rf "$DIR" ;;
    *) die "usage: $0 start|stop|status|kill N|restart N|running|ctl N ARGS|reset" ;;
esac
