# net_both_sides: bridges on both hosts, a publisher and a subscription on
# each: each subscription receives every message of both publishers exactly
# once (no echo between the bridges, no loop). The publishers let the
# bridges' local subscriptions queue their whole depth (64, not the 21 of
# the default chunks_per_subscription), so that a bridge starved of CPU for
# 60 ms on a busy machine does not lose messages to keep-last.
BIN=$1; BRIDGE=$2; . "$(dirname "$0")/lib.sh"
net_setup
N=200
bridge A; bridge B
spawn sub_A A "$BIN/net_node" sub /both vector3 $((2 * N)) --exact --settle-ms 1500; SA=$LAST_PID
spawn sub_B B "$BIN/net_node" sub /both vector3 $((2 * N)) --exact --settle-ms 1500; SB=$LAST_PID
spawn pub_A A "$BIN/net_node" pub /both vector3 1 $N --wait-subs 2 --interval-us 3000 --chunks-per-sub 80; PA=$LAST_PID
spawn pub_B B "$BIN/net_node" pub /both vector3 2 $N --wait-subs 2 --interval-us 3000 --chunks-per-sub 80; PB=$LAST_PID
expect_ok $PA pub_A
expect_ok $PB pub_B
expect_ok $SA sub_A
expect_ok $SB sub_B
