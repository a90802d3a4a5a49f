# net_image: images (sensor_msgs/Image, a sized type: 320x240 rgb8,
# 1920x1080 rgb8 and 1024x1024 rgba8 in turn, each in a loan of its own
# size) arrive intact in both directions: published in A, they reach B up to
# the last one while the subscription in A still reads each one in place
# from shared memory (mapped from /dev/shm: zero copy is untouched by B);
# published in B, they reach A the same way, in loans of B's bridge's
# publisher sized for each. Keep-last all along: on a loaded machine a
# remote subscription may miss some (exact counts are net_counts' job),
# never receive one damaged or twice.
BIN=$1; BRIDGE=$2; . "$(dirname "$0")/lib.sh"
net_setup
N=21
bridge A; bridge B
spawn sub_A A "$BIN/net_node" sub /camera image $N --exact --check-mapping; SA=$LAST_PID
spawn sub_B B "$BIN/net_node" sub /camera image 5 --until $N --timeout-ms 40000; SB=$LAST_PID
spawn sub_A2 A "$BIN/net_node" sub /camera_b image 5 --until $N --timeout-ms 40000 --check-mapping; SA2=$LAST_PID
spawn pub_A A "$BIN/net_node" pub /camera image 1 $N --wait-subs 2 --interval-us 100000 --linger-ms 3000; P=$LAST_PID
spawn pub_B B "$BIN/net_node" pub /camera_b image 3 $N --wait-subs 1 --interval-us 100000 --linger-ms 3000; PB=$LAST_PID
expect_ok $P pub_A
expect_ok $PB pub_B
expect_ok $SA sub_A
expect_ok $SB sub_B
expect_ok $SA2 sub_A2
