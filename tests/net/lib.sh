# Two "hosts" for the net tests: network namespaces A and B joined by a veth
# pair, each with its own tmpfs as /dev/shm (a network namespace alone
# shares /dev/shm). Every process runs in a private mount namespace where
# its host's tmpfs is bound on /dev/shm, so the processes of one host share
# shared memory and the two hosts share nothing but the veth.
#
# Sourced by the test scripts, with BIN (the build's directory holding
# net_node, net_ros_node) and BRIDGE (zloan-bridge) set. Exit code 77: skipped (not root,
# or no network namespaces).

set -u
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! command -v unshare >/dev/null; then
    echo "SKIP: net tests need root, ip (iproute2) and unshare"
    exit 77
fi
ID=$(( $$ % 100000 ))
NS_A="zlA$ID"
NS_B="zlB$ID"
VETH_A="zva$ID"
VETH_B="zvb$ID"
SUBNET="10.$(( 100 + ID % 100 )).$(( ID / 100 % 250 ))"
ADDR_A="$SUBNET.1"
ADDR_B="$SUBNET.2"
WORK=$(mktemp -d /tmp/zloan-net.XXXXXX)
PIDS=""

net_cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    for p in $PIDS; do wait "$p" 2>/dev/null; done
    ip netns del "$NS_A" 2>/dev/null
    ip netns del "$NS_B" 2>/dev/null
    umount "$WORK/shm_A" 2>/dev/null
    umount "$WORK/shm_B" 2>/dev/null
    rm -rf "$WORK"
}
trap net_cleanup EXIT
trap 'exit 1' INT TERM

net_setup() {
    ip netns add "$NS_A" && ip netns add "$NS_B" || { echo "SKIP: ip netns add failed"; exit 77; }
    ip link add "$VETH_A" type veth peer name "$VETH_B" || exit 1
    ip link set "$VETH_A" netns "$NS_A" && ip link set "$VETH_B" netns "$NS_B" || exit 1
    ip -n "$NS_A" addr add "$ADDR_A/24" dev "$VETH_A" && ip -n "$NS_B" addr add "$ADDR_B/24" dev "$VETH_B" || exit 1
    for ns in "$NS_A" "$NS_B"; do
        ip -n "$ns" link set lo up || exit 1
    done
    ip -n "$NS_A" link set "$VETH_A" up multicast on && ip -n "$NS_B" link set "$VETH_B" up multicast on || exit 1
    mkdir -p "$WORK/shm_A" "$WORK/shm_B"
    mount -t tmpfs -o size=1g,mode=1777 tmpfs "$WORK/shm_A" && mount -t tmpfs -o size=1g,mode=1777 tmpfs "$WORK/shm_B" || exit 1
    # Cyclone in each host speaks on its veth alone.
    "$BRIDGE" --interface "$VETH_A" --print-config >"$WORK/cyclone_A.xml" || exit 1
    "$BRIDGE" --interface "$VETH_B" --print-config >"$WORK/cyclone_B.xml" || exit 1
}

# on HOST CMD...: runs CMD in host A or B (foreground). A simple command,
# so that in the background ($!) its pid is CMD's own: ip netns exec, env,
# unshare and sh all exec the next one.
on() {
    host=$1; shift
    eval ns=\$NS_$host; eval veth=\$VETH_$host
    ip netns exec "$ns" env ZLOAN_BRIDGE_INTERFACE="$veth" \
        CYCLONEDDS_URI="file://$WORK/cyclone_$host.xml" \
        unshare --mount --propagation private \
        sh -c 'mount --bind "$0" /dev/shm && exec "$@"' "$WORK/shm_$host" "$@"
}

# spawn NAME HOST CMD...: runs CMD in the background, output in $WORK/NAME;
# its pid in $LAST_PID.
spawn() {
    name=$1; host=$2; shift 2
    eval ns=\$NS_$host; eval veth=\$VETH_$host
    ip netns exec "$ns" env ZLOAN_BRIDGE_INTERFACE="$veth" \
        CYCLONEDDS_URI="file://$WORK/cyclone_$host.xml" \
        unshare --mount --propagation private \
        sh -c 'mount --bind "$0" /dev/shm && exec "$@"' "$WORK/shm_$host" "$@" \
        >"$WORK/$name" 2>&1 &
    LAST_PID=$!
    PIDS="$PIDS $LAST_PID"
}

# The bridge makes its Cyclone configuration from ZLOAN_BRIDGE_INTERFACE.
bridge() { spawn "bridge_$1" "$1" env -u CYCLONEDDS_URI "$BRIDGE" --verbose; }

# expect_ok PID NAME: the process exits 0, or the test fails showing its output.
expect_ok() {
    if wait "$1"; then
        echo "ok: $2: $(tail -n 1 "$WORK/$2")"
    else
        echo "FAIL: $2 (exit $?):"; sed 's/^/    /' "$WORK/$2"
        for f in "$WORK"/bridge_*; do [ -f "$f" ] && { echo "--- $(basename "$f")"; tail -n 30 "$f"; }; done
        exit 1
    fi
}
