# net_bridge_kill: A's bridge is killed with -9 and restarted while A's
# publisher keeps publishing: the subscription in A receives every message
# (local traffic is undisturbed), and B receives again after the restart, up
# to the last message, without duplicates.
BIN=$1; BRIDGE=$2; . "$(dirname "$0")/lib.sh"
net_setup
N=700
bridge A; BA=$LAST_PID
bridge B
spawn sub_A A "$BIN/net_node" sub /k string $N --exact; SA=$LAST_PID
spawn sub_B B "$BIN/net_node" sub /k string 50 --until $N --timeout-ms 20000; SB=$LAST_PID
spawn pub_A A "$BIN/net_node" pub /k string 1 $N --wait-subs 2 --interval-us 10000; P=$LAST_PID
sleep 1.5
kill -9 $BA
wait $BA 2>/dev/null
echo "bridge A killed"
sleep 0.5
spawn bridge_A2 A env -u CYCLONEDDS_URI "$BRIDGE" --verbose
expect_ok $P pub_A
expect_ok $SA sub_A
expect_ok $SB sub_B
# One bridge per host: a second one beside the running one refuses to start
# (two would forward each other's messages in a loop).
on A env -u CYCLONEDDS_URI "$BRIDGE" >"$WORK/bridge_second" 2>&1
rc=$?
[ $rc = 3 ] || { echo "FAIL: a second bridge in A exited $rc, not 3:"; cat "$WORK/bridge_second"; exit 1; }
echo "ok: a second bridge refused: $(cat "$WORK/bridge_second")"
