/* Publishes a message that lives on the stack (the copy path, seed P1): the
 * talker keeps its message and changes it after every publish. A listener
 * in the same process takes each one into its own memory.
 *
 *   stack_talker [count]      (default 10)
 */
#include <stdio.h>
#include <stdlib.h>

#include <zloan/zloan.h>

typedef struct pose {
    uint64_t stamp;
    double x, y, theta;
} pose;

static const zl_type pose_type = ZL_TYPE_PLAIN_LAYOUT(pose, "u64 stamp;f64 x;f64 y;f64 theta");

#define TRY(call)                                                                          \
    do {                                                                                   \
        int try_rc_ = (call);                                                              \
        if (try_rc_ != 0) {                                                                \
            fprintf(stderr, "%s: %s (%s)\n", #call, zl_strerror(try_rc_),                  \
                    zl_last_error_detail());                                               \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 10;
    zl_context *context;
    zl_publisher *publisher;
    zl_subscription *subscription;
    TRY(zl_context_create(NULL, &context));
    TRY(zl_subscription_create(context, "/robot/pose", &pose_type, NULL, &subscription));
    TRY(zl_publisher_create(context, "/robot/pose", &pose_type, NULL, &publisher));
    pose p = {0, 0.0, 0.0, 0.0}; /* ours, on the stack */
    for (int i = 0; i < count; i++) {
        TRY(zl_publisher_publish(publisher, &p)); /* copied; p stays ours */
        p.stamp++;
        p.x += 0.5; /* reuse it at once */
        p.theta += 0.1;
        pose received;
        zl_message_info info;
        TRY(zl_subscription_take(subscription, &received, &info));
        printf("stack_talker: #%llu x=%.1f theta=%.1f\n", (unsigned long long)info.publication_sequence,
               received.x, received.theta);
    }
    TRY(zl_publisher_destroy(publisher));
    TRY(zl_subscription_destroy(subscription));
    TRY(zl_context_destroy(context));
    return 0;
}
