/* An executor with two subscriptions and a timer, on one thread:
 *   /robot/pose   delivered as loans (read in place, returned after the
 *                 callback; one in ten is kept and returned later),
 *   /chat         a type with a pointer, delivered by copy into storage the
 *                 executor allocated once,
 *   a 100 ms timer that prints what arrived.
 * A talker thread publishes on both; Ctrl-C (or the duration) stops spin().
 *
 *   executor_listener [seconds]       (default 2)
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zloan/zloan.h>

typedef struct pose {
    uint64_t stamp;
    double x, y, theta;
} pose;
static const zl_type pose_type = ZL_TYPE_PLAIN(pose);

typedef struct chat {
    uint32_t length;
    char *text;
} chat;

static int chat_serialize(const void *msg, void *buf, size_t cap, size_t *used)
{
    const chat *c = msg;
    if (4 + c->length > cap)
        return ZL_ESERIALIZE;
    memcpy(buf, &c->length, 4);
    memcpy((char *)buf + 4, c->text, c->length);
    *used = 4 + c->length;
    return 0;
}

static int chat_deserialize(const void *buf, size_t len, void *msg, const zl_allocator *a)
{
    chat *c = msg;
    if (len < 4)
        return ZL_ESERIALIZE;
    memcpy(&c->length, buf, 4);
    if (c->length != len - 4)
        return ZL_ESERIALIZE;
    c->text = a->allocate(c->length + 1, 1, a->state);
    if (c->text == NULL)
        return ZL_ENOMEM;
    memcpy(c->text, (const char *)buf + 4, c->length);
    c->text[c->length] = '\0';
    return 0;
}

static void chat_fini(void *msg, const zl_allocator *a)
{
    chat *c = msg;
    if (c->text != NULL)
        a->deallocate(c->text, c->length + 1, 1, a->state);
    c->text = NULL;
}

static const zl_type chat_type = {
    .name = "chat", .size = sizeof(chat), .alignment = _Alignof(chat), .plain = false,
    .serialized_size_max = 256, .serialize = chat_serialize, .deserialize = chat_deserialize,
    .fini = chat_fini,
};

static zl_executor *executor;
static zl_subscription *pose_subscription;
static long poses, chats, ticks;
static const void *kept[8];
static int kept_count;
static char last_chat[64];

static void on_pose(const void *message, const zl_message_info *info, void *arg)
{
    (void)arg;
    poses++;
    /* Keep every tenth pose past the callback: it stays valid and unchanged
     * until we return it (in on_tick). */
    if (info->publication_sequence % 10 == 0 && kept_count < 8 &&
        zl_executor_keep_loan(executor, message) == 0)
        kept[kept_count++] = message;
}

static void on_chat(const void *message, const zl_message_info *info, void *arg)
{
    (void)info;
    (void)arg;
    chats++;
    snprintf(last_chat, sizeof last_chat, "%s", ((const chat *)message)->text);
}

static void on_tick(zl_timer *timer, uint64_t expirations, void *arg)
{
    (void)timer;
    (void)arg;
    ticks += (long)expirations;
    for (int i = 0; i < kept_count; i++)
        zl_subscription_return_loan(pose_subscription, kept[i]);
    printf("executor_listener: tick %ld: %ld poses (kept and returned %d), %ld chats, last \"%s\"\n",
           ticks, poses, kept_count, chats, last_chat);
    kept_count = 0;
}

static void on_signal(int number)
{
    (void)number;
    zl_executor_stop(executor); /* async-signal-safe */
}

static atomic_int talking = 1; /* read by the talker thread */

static void *talker(void *arg)
{
    zl_context *context = arg;
    zl_publisher *pose_publisher, *chat_publisher;
    if (zl_publisher_create(context, "/robot/pose", &pose_type, NULL, &pose_publisher) != 0 ||
        zl_publisher_create(context, "/chat", &chat_type, NULL, &chat_publisher) != 0)
        return NULL;
    struct timespec period = {0, 5000000};
    for (uint64_t i = 1; talking; i++) {
        void *loan;
        if (zl_publisher_loan(pose_publisher, &loan) == 0) {
            pose *p = loan;
            p->stamp = i;
            p->x = (double)i * 0.01;
            p->y = 0;
            p->theta = 0;
            zl_publisher_publish_loan(pose_publisher, loan);
        }
        if (i % 20 == 0) {
            char text[32];
            snprintf(text, sizeof text, "hello #%llu", (unsigned long long)i / 20);
            chat c = {(uint32_t)strlen(text), text};
            zl_publisher_publish(chat_publisher, &c); /* serialized copy */
        }
        nanosleep(&period, NULL);
    }
    zl_publisher_destroy(pose_publisher);
    zl_publisher_destroy(chat_publisher);
    return NULL;
}

static void *stop_after(void *arg)
{
    double seconds = *(double *)arg;
    struct timespec t = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&t, NULL);
    zl_executor_stop(executor);
    return NULL;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    zl_context *context;
    zl_subscription *chat_subscription;
    zl_timer *timer;
    if (zl_context_create(NULL, &context) != 0 ||
        zl_subscription_create(context, "/robot/pose", &pose_type, NULL, &pose_subscription) != 0 ||
        zl_subscription_create(context, "/chat", &chat_type, NULL, &chat_subscription) != 0 ||
        zl_timer_create(context, 100000000, &timer) != 0 ||
        zl_executor_create(context, 3, &executor) != 0 ||
        zl_executor_add_subscription(executor, pose_subscription, ZL_DELIVERY_LOAN, on_pose, NULL) != 0 ||
        zl_executor_add_subscription(executor, chat_subscription, ZL_DELIVERY_COPY, on_chat, NULL) != 0 ||
        zl_executor_add_timer(executor, timer, on_tick, NULL) != 0) {
        fprintf(stderr, "executor_listener: %s\n", zl_last_error_detail());
        return 1;
    }
    signal(SIGINT, on_signal);
    pthread_t talker_thread, stopper;
    pthread_create(&talker_thread, NULL, talker, context);
    pthread_create(&stopper, NULL, stop_after, &seconds);
    zl_executor_spin(executor);
    talking = 0;
    pthread_join(talker_thread, NULL);
    pthread_join(stopper, NULL);
    for (int i = 0; i < kept_count; i++)
        zl_subscription_return_loan(pose_subscription, kept[i]);
    printf("executor_listener: %ld poses by loan, %ld chats by copy, %ld ticks\n", poses, chats,
           ticks);
    zl_executor_destroy(executor);
    zl_timer_destroy(timer);
    zl_subscription_destroy(pose_subscription);
    zl_subscription_destroy(chat_subscription);
    zl_context_destroy(context);
    return poses > 0 && chats > 0 && ticks > 0 ? 0 : 1;
}
