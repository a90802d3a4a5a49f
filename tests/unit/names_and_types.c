/* Topic names, type descriptors and error names. */
#include "harness.h"

typedef struct point {
    double x, y;
} point;

int main(void)
{
    char out[ZL_TOPIC_NAME_MAX + 1];
    const char *valid[] = {"chatter", "/chatter", "/a/b_c/D9", "_x", "/robot_1/camera/image"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        CHECK_OK(zl_topic_name_qualify(valid[i], out, sizeof out));
    CHECK_OK(zl_topic_name_qualify("chatter", out, sizeof out));
    CHECK(strcmp(out, "/chatter") == 0);

    const char *invalid[] = {"", "/", "//a", "/a//b", "/a/", "/1a", "/a/2b", "a b", "/a.b",
                             "/a/../b", "../x", "/a:b", "/a\\b", "/ä", "~/x", "/a-b", "/{ns}"};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        CHECK_RC(zl_topic_name_qualify(invalid[i], out, sizeof out), ZL_ENAME);
    char longest[ZL_TOPIC_NAME_MAX + 2];
    memset(longest, 'a', sizeof longest);
    longest[0] = '/';
    longest[ZL_TOPIC_NAME_MAX] = '\0';
    CHECK_OK(zl_topic_name_qualify(longest, out, sizeof out));
    longest[ZL_TOPIC_NAME_MAX] = 'a';
    longest[ZL_TOPIC_NAME_MAX + 1] = '\0';
    CHECK_RC(zl_topic_name_qualify(longest, out, sizeof out), ZL_ENAME);
    CHECK(strstr(zl_last_error_detail(), "longer") != NULL);
    CHECK_RC(zl_topic_name_qualify(NULL, out, sizeof out), ZL_EINVAL);
    CHECK_RC(zl_topic_name_qualify("a", out, 4), ZL_EINVAL);

    zl_type t = ZL_TYPE_PLAIN(point);
    CHECK_OK(zl_type_validate(&t));
    CHECK(strcmp(t.name, "point") == 0);
    CHECK_EQ(t.size, sizeof(point));
    uint64_t h = zl_type_layout_hash(&t);
    zl_type with_layout = ZL_TYPE_PLAIN_LAYOUT(point, "f64 x;f64 y");
    CHECK(zl_type_layout_hash(&with_layout) != h);
    zl_type bad = t;
    bad.alignment = 3;
    CHECK_RC(zl_type_validate(&bad), ZL_EINVAL);
    bad = t;
    bad.size = 0;
    CHECK_RC(zl_type_validate(&bad), ZL_EINVAL);
    bad = t;
    bad.name = "";
    CHECK_RC(zl_type_validate(&bad), ZL_EINVAL);
    bad = t;
    bad.plain = false; /* non-plain needs hooks */
    CHECK_RC(zl_type_validate(&bad), ZL_EINVAL);
    CHECK_RC(zl_type_validate(NULL), ZL_EINVAL);

    /* Every code has its own name. */
    for (int a = ZL_ENOTSUP; a <= 0; a++) {
        CHECK(strcmp(zl_strerror(a), "unknown error") != 0);
        for (int b = ZL_ENOTSUP; b < a; b++)
            CHECK(strcmp(zl_strerror(a), zl_strerror(b)) != 0);
    }
    CHECK(strcmp(zl_strerror(-1000), "unknown error") == 0);
    return 0;
}
