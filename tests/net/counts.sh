# net_counts: a publisher in A, subscriptions in A and B, bridges on both
# hosts: with reliable QoS every subscription receives every message exactly
# once, and the subscription in A reads them in place from shared memory.
BIN=$1; BRIDGE=$2; . "$(dirname "$0")/lib.sh"
net_setup
N=300
bridge A; bridge B
spawn sub_A A "$BIN/net_node" sub /chatter string $N --exact --check-mapping; SA=$LAST_PID
spawn sub_B B "$BIN/net_node" sub /chatter string $N --exact; SB=$LAST_PID
# Two subscriptions in A before publishing: the local one and the bridge's,
# which exists only once B's reader has matched.
spawn pub_A A "$BIN/net_node" pub /chatter string 1 $N --wait-subs 2 --interval-us 2000; P=$LAST_PID
expect_ok $P pub_A
expect_ok $SA sub_A
expect_ok $SB sub_B
