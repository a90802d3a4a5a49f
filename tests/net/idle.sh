# net_idle: with bridges on both hosts but no reader of the topic in B, A's
# bridge does not subscribe to it: the publisher in A never has more than its
# local subscription (nothing is delivered to the bridge, nothing is
# serialized), while another topic crosses to B meanwhile.
BIN=$1; BRIDGE=$2; . "$(dirname "$0")/lib.sh"
net_setup
bridge A; bridge B
spawn sub_other B "$BIN/net_node" sub /other string 50; SO=$LAST_PID
spawn pub_other A "$BIN/net_node" pub /other string 1 100 --wait-subs 1 --interval-us 20000; PO=$LAST_PID
spawn sub_A A "$BIN/net_node" sub /local_only string 100 --exact; SA=$LAST_PID
spawn pub_A A "$BIN/net_node" pub /local_only string 1 100 --wait-subs 1 --interval-us 20000 --max-subs 1; P=$LAST_PID
expect_ok $P pub_A
expect_ok $SA sub_A
expect_ok $PO pub_other
expect_ok $SO sub_other
