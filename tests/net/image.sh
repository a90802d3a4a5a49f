# net_image: 4 MiB images (sensor_msgs/Image) published in A arrive intact
# in B, up to the last one, while the subscription in A still reads each one
# in place from shared memory (mapped from /dev/shm: zero copy is untouched
# by B). Keep-last all along: on a loaded machine B may miss some (exact
# counts are net_counts' job), never receive one damaged or twice.
BIN=$1; BRIDGE=$2; . "$(dirname "$0")/lib.sh"
net_setup
N=20
bridge A; bridge B
spawn sub_A A "$BIN/net_node" sub /camera image $N --exact --check-mapping; SA=$LAST_PID
spawn sub_B B "$BIN/net_node" sub /camera image 5 --until $N --timeout-ms 40000; SB=$LAST_PID
spawn pub_A A "$BIN/net_node" pub /camera image 1 $N --wait-subs 2 --interval-us 100000 --linger-ms 3000; P=$LAST_PID
expect_ok $P pub_A
expect_ok $SA sub_A
expect_ok $SB sub_B
