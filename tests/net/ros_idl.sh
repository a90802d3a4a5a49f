# net_ros_idl: B runs no zloan at all but a plain Cyclone DDS program whose
# types idlc generated from IDL written as ROS 2's rosidl writes it
# (std_msgs/String, sensor_msgs/Image): it reads strings and 4 MiB images a
# zloan publisher in A publishes, and writes strings a zloan subscription in
# A reads, through A's bridge alone.
BIN=$1; BRIDGE=$2; . "$(dirname "$0")/lib.sh"
net_setup
bridge A
spawn ros_read B "$BIN/net_ros_node" read-string /chatter 50 20000; R=$LAST_PID
spawn ros_image B "$BIN/net_ros_node" read-image /camera 5 30000; RI=$LAST_PID
spawn pub_A A "$BIN/net_node" pub /chatter string 1 50 --wait-subs 1 --interval-us 20000; P=$LAST_PID
spawn pub_img A "$BIN/net_node" pub /camera image 1 5 --wait-subs 1 --interval-us 200000 --linger-ms 3000; PI=$LAST_PID
spawn sub_A A "$BIN/net_node" sub /from_ros string 50 --exact --timeout-ms 30000; SA=$LAST_PID
spawn ros_write B "$BIN/net_ros_node" write-string /from_ros 50; W=$LAST_PID
expect_ok $P pub_A
expect_ok $PI pub_img
expect_ok $R ros_read
expect_ok $RI ros_image
expect_ok $W ros_write
expect_ok $SA sub_A
