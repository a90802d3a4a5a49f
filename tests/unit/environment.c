/* Environment variables: an invalid ZLOAN_DOMAIN_ID, ZLOAN_DISABLE_LOANS,
 * ZLOAN_LIVENESS_PERIOD_MS or ZLOAN_LOG makes zl_context_create fail with ZL_EINVAL and a
 * detail naming the variable and what it accepts, instead of silently
 * joining domain 0 or running with a default; valid values take effect. */
#include "harness.h"
#include "peer.h"

/* With name set to value, context creation fails naming name and range. */
static void check_refused(const char *name, const char *value, const char *range)
{
    CHECK_EQ(setenv(name, value, 1), 0);
    zl_context *context = NULL;
    CHECK_RC(zl_context_create(NULL, &context), ZL_EINVAL);
    const char *detail = zl_last_error_detail();
    if (strstr(detail, name) == NULL || strstr(detail, range) == NULL) {
        fprintf(stderr, "%s=%s: detail '%s' does not name '%s' and '%s'\n", name, value, detail,
                name, range);
        exit(1);
    }
    /* Explicit options do not hide a bad environment. */
    zl_context_options options;
    zl_context_options_init(&options);
    options.domain_id = 3;
    CHECK_RC(zl_context_create(&options, &context), ZL_EINVAL);
    CHECK_EQ(unsetenv(name), 0);
}

/* With name set to value, a context is created. */
static zl_context *created_with(const char *name, const char *value)
{
    CHECK_EQ(setenv(name, value, 1), 0);
    zl_context *context;
    CHECK_OK(zl_context_create(NULL, &context));
    CHECK_EQ(unsetenv(name), 0);
    return context;
}

static bool subscription_can_loan(zl_context *context)
{
    zl_subscription *sub;
    CHECK_OK(zl_subscription_create(context, test_topic("environment"), &test_msg_type, NULL,
                                    &sub));
    bool can = zl_subscription_can_loan(sub);
    CHECK_OK(zl_subscription_destroy(sub));
    return can;
}

int main(void)
{
    unsetenv("ZLOAN_DOMAIN_ID");
    unsetenv("ZLOAN_DISABLE_LOANS");
    unsetenv("ZLOAN_LIVENESS_PERIOD_MS");
    unsetenv("ZLOAN_LOG");
    const char *bad_domains[] = {"300", "abc", "-1", " 7", "7 ", "+7", "0x10", "99999999999999"};
    for (size_t i = 0; i < sizeof bad_domains / sizeof bad_domains[0]; i++)
        check_refused("ZLOAN_DOMAIN_ID", bad_domains[i], "0..232");
    check_refused("ZLOAN_DISABLE_LOANS", "maybe", "1 or 0");
    check_refused("ZLOAN_DISABLE_LOANS", "2", "1 or 0");
    check_refused("ZLOAN_LIVENESS_PERIOD_MS", "abc", "0..10000");
    check_refused("ZLOAN_LIVENESS_PERIOD_MS", "10001", "0..10000");
    check_refused("ZLOAN_LIVENESS_PERIOD_MS", "-5", "0..10000");
    check_refused("ZLOAN_LOG", "loud", "error, warn, info or debug");
    check_refused("ZLOAN_LOG", "warning", "error, warn, info or debug");

    /* Valid values take effect; empty means unset. */
    zl_context *context = created_with("ZLOAN_DOMAIN_ID", "232");
    CHECK_EQ(zl_context_domain_id(context), 232);
    CHECK_OK(zl_context_destroy(context));
    context = created_with("ZLOAN_DOMAIN_ID", "");
    CHECK_EQ(zl_context_domain_id(context), 0);
    CHECK_OK(zl_context_destroy(context));

    context = created_with("ZLOAN_DISABLE_LOANS", "1");
    CHECK(!subscription_can_loan(context));
    CHECK_OK(zl_context_destroy(context));
    context = created_with("ZLOAN_DISABLE_LOANS", "0");
    CHECK(subscription_can_loan(context));
    CHECK_OK(zl_context_destroy(context));

    context = created_with("ZLOAN_LIVENESS_PERIOD_MS", "10000");
    CHECK_OK(zl_context_destroy(context));

    /* ZLOAN_LOG sets the default level of the options. */
    CHECK_EQ(setenv("ZLOAN_LOG", "debug", 1), 0);
    zl_context_options options;
    zl_context_options_init(&options);
    CHECK_EQ(options.log_level, ZL_LOG_DEBUG);
    CHECK_EQ(unsetenv("ZLOAN_LOG"), 0);
    zl_context_options_init(&options);
    CHECK_EQ(options.log_level, ZL_LOG_WARN);
    context = created_with("ZLOAN_LOG", "error");
    CHECK_OK(zl_context_destroy(context));
    return 0;
}
