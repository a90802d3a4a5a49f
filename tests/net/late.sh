# net_late: a subscription that joins in B while A's publisher (history 4)
# is half-way receives the last messages kept for late joiners and every one
# after them, without a gap or a duplicate, up to the last.
BIN=$1; BRIDGE=$2; . "$(dirname "$0")/lib.sh"
net_setup
N=60
bridge A; bridge B
spawn pub_A A "$BIN/net_node" pub /late string 1 $N --history 4 --interval-us 50000 --linger-ms 2000; P=$LAST_PID
sleep 1.5
spawn sub_B B "$BIN/net_node" sub /late string 10 --history --last $N --timeout-ms 15000; SB=$LAST_PID
expect_ok $P pub_A
expect_ok $SB sub_B
