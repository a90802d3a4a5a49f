/* A type mismatch is refused with an error naming both types. */
#include "harness.h"
#include "peer.h"

typedef struct other_msg {
    uint64_t a[32];
} other_msg;

typedef struct small_msg {
    uint64_t a;
} small_msg;

int main(void)
{
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    const char *topic = test_topic("mismatch");
    zl_publisher *pub;
    zl_subscription *sub;
    CHECK_OK(zl_publisher_create(context, topic, &test_msg_type, NULL, &pub));
    zl_type other = ZL_TYPE_PLAIN(other_msg);
    CHECK_RC(zl_subscription_create(context, topic, &other, NULL, &sub), ZL_ETYPE);
    CHECK(strstr(zl_last_error_detail(), "test_msg") != NULL);
    CHECK(strstr(zl_last_error_detail(), "other_msg") != NULL);
    /* Two plain types of different sizes: the sizes say it all, no remark
     * about sized types (issue 22). */
    zl_type small = ZL_TYPE_PLAIN(small_msg);
    CHECK_RC(zl_subscription_create(context, topic, &small, NULL, &sub), ZL_ETYPE);
    CHECK(strstr(zl_last_error_detail(), "size 8") != NULL);
    CHECK(strstr(zl_last_error_detail(), "max_count") == NULL);
    CHECK(strstr(zl_last_error_detail(), "largest message") == NULL);
    /* Same name and size, another layout: refused too. */
    zl_type relayout = test_msg_type;
    relayout.layout = "u64 tag;u64 seq;u32 w[60]";
    CHECK_RC(zl_subscription_create(context, topic, &relayout, NULL, &sub), ZL_ETYPE);
    zl_publisher *pub2;
    CHECK_RC(zl_publisher_create(context, topic, &other, NULL, &pub2), ZL_ETYPE);
    /* Same name, size and layout hash, another largest message (what the
     * zloan tool's echo makes of a sized type): the detail says which, not
     * two identical-looking types. */
    zl_type sized = test_msg_type;
    sized.element_size = 4;
    sized.max_count = 100;
    sized.layout_hash = zl_type_layout_hash(&test_msg_type);
    CHECK_RC(zl_subscription_create(context, topic, &sized, NULL, &sub), ZL_ETYPE);
    CHECK(strstr(zl_last_error_detail(), "largest message") != NULL);
    /* The right type joins. */
    CHECK_OK(zl_subscription_create(context, topic, &test_msg_type, NULL, &sub));
    CHECK_OK(zl_subscription_destroy(sub));
    CHECK_OK(zl_publisher_destroy(pub));
    /* Once nobody is left, the topic may carry another type. */
    CHECK_OK(zl_publisher_create(context, topic, &other, NULL, &pub2));
    CHECK_OK(zl_publisher_destroy(pub2));
    CHECK_OK(zl_context_destroy(context));
    CHECK_EQ(test_count_shm(test_shm_fragment(topic)), 0);
    return 0;
}
