/* A type with a pointer (a string of any length) goes through the refusal
 * path: zloan cannot lend it from shared memory, so the loan comes from the
 * allocator and publishing serializes it. The code is the same as for a
 * plain type; zl_publisher_can_loan() tells the difference.
 *
 *   string_chat ["message" ...]
 */
#include <stdio.h>
#include <string.h>

#include <zloan/zloan.h>

typedef struct chat {
    uint32_t length;
    char *text; /* allocated through the context's allocator */
} chat;

static int chat_serialize(const void *msg, void *buf, size_t cap, size_t *used)
{
    const chat *c = msg;
    if (sizeof c->length + c->length > cap)
        return ZL_ESERIALIZE;
    memcpy(buf, &c->length, sizeof c->length);
    memcpy((char *)buf + sizeof c->length, c->text, c->length);
    *used = sizeof c->length + c->length;
    return 0;
}

static int chat_deserialize(const void *buf, size_t len, void *msg, const zl_allocator *a)
{
    chat *c = msg;
    if (len < sizeof c->length)
        return ZL_ESERIALIZE;
    memcpy(&c->length, buf, sizeof c->length);
    if (c->length != len - sizeof c->length)
        return ZL_ESERIALIZE;
    c->text = a->allocate(c->length + 1, 1, a->state);
    if (c->text == NULL)
        return ZL_ENOMEM;
    memcpy(c->text, (const char *)buf + sizeof c->length, c->length);
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
    .serialized_size_max = 4096, .serialize = chat_serialize, .deserialize = chat_deserialize,
    .fini = chat_fini,
};

int main(int argc, char **argv)
{
    const char *defaults[] = {"hello", "strings have pointers", "so they are serialized"};
    int n = argc > 1 ? argc - 1 : 3;
    const char **lines = argc > 1 ? (const char **)argv + 1 : defaults;
    zl_context *context;
    zl_publisher *publisher;
    zl_subscription *subscription;
    if (zl_context_create(NULL, &context) != 0 ||
        zl_subscription_create(context, "/chat", &chat_type, NULL, &subscription) != 0 ||
        zl_publisher_create(context, "/chat", &chat_type, NULL, &publisher) != 0) {
        fprintf(stderr, "string_chat: %s\n", zl_last_error_detail());
        return 1;
    }
    zl_allocator allocator = *zl_allocator_default(); /* the context's, by default */
    printf("string_chat: can loan: publisher %s, subscription %s\n",
           zl_publisher_can_loan(publisher) ? "yes" : "no",
           zl_subscription_can_loan(subscription) ? "yes" : "no");
    for (int i = 0; i < n; i++) {
        void *loan;
        if (zl_publisher_loan(publisher, &loan) != 0)
            return 1;
        chat *c = loan; /* memory from the allocator, zeroed */
        c->length = (uint32_t)strlen(lines[i]);
        c->text = allocator.allocate(c->length + 1, 1, allocator.state);
        memcpy(c->text, lines[i], c->length + 1);
        if (zl_publisher_publish_loan(publisher, loan) != 0) /* serializes, frees the loan */
            return 1;
        const void *got;
        if (zl_subscription_take_loan(subscription, &got, NULL) != 0) /* deserializes */
            return 1;
        printf("string_chat: received \"%s\"\n", ((const chat *)got)->text);
        zl_subscription_return_loan(subscription, got); /* finalizes and frees */
    }
    zl_publisher_destroy(publisher);
    zl_subscription_destroy(subscription);
    zl_context_destroy(context);
    return 0;
}
