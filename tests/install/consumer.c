/* Built against an installed zloan (find_package or pkg-config). */
#include <stdio.h>
#include <string.h>

#include <zloan/zloan.h>

typedef struct sample {
    int value;
} sample;

int main(void)
{
    static const zl_type type = ZL_TYPE_PLAIN(sample);
    zl_context *context;
    zl_publisher *publisher;
    zl_subscription *subscription;
    char topic[64];
    snprintf(topic, sizeof topic, "/install_check_%d", (int)sizeof(sample));
    if (zl_context_create(NULL, &context) != 0 ||
        zl_subscription_create(context, topic, &type, NULL, &subscription) != 0 ||
        zl_publisher_create(context, topic, &type, NULL, &publisher) != 0)
        return 1;
    sample s = {42};
    sample got = {0};
    int rc = zl_publisher_publish(publisher, &s);
    if (rc == 0)
        rc = zl_subscription_take(subscription, &got, NULL);
    zl_publisher_destroy(publisher);
    zl_subscription_destroy(subscription);
    zl_context_destroy(context);
    printf("consumer: %s, got %d\n", zl_strerror(rc), got.value);
    return rc == 0 && got.value == 42 ? 0 : 1;
}
