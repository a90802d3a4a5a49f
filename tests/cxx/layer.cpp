/* cxx_layer: the C++ layer (include/zloan/zloan.hpp): loans that return
 * themselves, owners that outlive their endpoints, errors as exceptions with
 * the detail text, wait sets and executors with C++ callables. Runs under
 * the sanitizer builds too (a double return or a use after free shows). */
#include <zloan/zloan.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <utility>

struct point {
    int x;
    double y;
};
struct other {
    int x;
    double y;
};
ZLOAN_PLAIN_MESSAGE(point)
ZLOAN_PLAIN_MESSAGE(other)

static int failures = 0;

#define EXPECT(cond)                                                        \
    do {                                                                    \
        if (!(cond)) {                                                      \
            std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, test, #cond); \
            failures++;                                                     \
        }                                                                   \
    } while (0)

/* Runs f, which must throw zloan::error with code; returns its what(). */
template <class F>
static std::string expect_error(const char *test, int line, int code, F f)
{
    try {
        f();
    } catch (const zloan::error &e) {
        if (e.code() != code) {
            std::fprintf(stderr, "%s:%d: %s: code %d (%s), expected %d\n", __FILE__, line, test,
                         e.code(), e.what(), code);
            failures++;
        }
        return e.what();
    }
    std::fprintf(stderr, "%s:%d: %s: no exception, expected code %d\n", __FILE__, line, test, code);
    failures++;
    return "";
}
#define EXPECT_ERROR(code, ...) expect_error(test, __LINE__, code, [&] { __VA_ARGS__; })

static zl_publisher_options publisher_options(uint32_t max_loans)
{
    zl_publisher_options o;
    zl_publisher_options_init(&o);
    o.max_loans = max_loans;
    return o;
}

static zl_subscription_options subscription_options(uint32_t max_loans)
{
    zl_subscription_options o;
    zl_subscription_options_init(&o);
    o.max_loans = max_loans;
    return o;
}

static void loan_publish_take()
{
    const char *test = "loan_publish_take";
    zloan::context ctx;
    zloan::publisher<point> pub(ctx, "/cxx_layer/loan");
    zloan::subscription<point> sub(ctx, "/cxx_layer/loan");
    EXPECT(pub.can_loan() && sub.can_loan());
    zloan::loaned_message<point> loan = pub.loan();
    loan->x = 41;
    loan->y = 0.5;
    pub.publish(std::move(loan));
    EXPECT(!loan); /* published: the owner is empty */
    /* Publishing it again says why it fails: empty, not another publisher's. */
    std::string why = EXPECT_ERROR(ZL_ENOTLOAN, pub.publish(std::move(loan)));
    EXPECT(why.find("empty") != std::string::npos);
    EXPECT(why.find("another publisher") == std::string::npos);
    why = EXPECT_ERROR(ZL_ENOTLOAN, loan.publish());
    EXPECT(why.find("empty") != std::string::npos);
    zloan::received_loan<point> got = sub.take_loan();
    EXPECT(got && got->x == 41 && got->y == 0.5);
    EXPECT(got.info().publication_sequence == 1 && got.info().publisher_id == pub.id());
    EXPECT(got.is_consistent());
    EXPECT(!sub.take_loan()); /* nothing left: empty, not an exception */

    point copy{7, 1.5};
    pub.publish(copy);
    point out{};
    zl_message_info info{};
    EXPECT(sub.take(out, &info) && out.x == 7 && info.publication_sequence == 2);
    EXPECT(!sub.take(out));
    EXPECT(pub.stats().published == 2);
}

static void batch_publishes_in_order()
{
    const char *test = "batch_publishes_in_order";
    zloan::context ctx;
    zl_publisher_options options = publisher_options(4);
    zloan::publisher<point> pub(ctx, "/cxx_layer/batch", &options);
    zloan::subscription<point> sub(ctx, "/cxx_layer/batch");
    zloan::loaned_message<point> loans[4];
    for (int i = 0; i < 4; i++) {
        loans[i] = pub.loan();
        loans[i]->x = i;
    }
    /* One empty: nothing published, every other loan still held. */
    zloan::loaned_message<point> kept = std::move(loans[2]);
    EXPECT_ERROR(ZL_ENOTLOAN, pub.publish(loans, 4));
    EXPECT(loans[0] && loans[1] && loans[3] && !sub.take_loan());
    loans[2] = std::move(kept);
    pub.publish(loans, 4);
    for (int i = 0; i < 4; i++) {
        EXPECT(!loans[i]);
        zloan::received_loan<point> got = sub.take_loan();
        EXPECT(got && got->x == i);
    }
    EXPECT(pub.stats().published == 4);
}

static void unpublished_loan_is_returned()
{
    const char *test = "unpublished_loan_is_returned";
    zloan::context ctx;
    zl_publisher_options options = publisher_options(1);
    zloan::publisher<point> pub(ctx, "/cxx_layer/unpublished", &options);
    zloan::subscription<point> sub(ctx, "/cxx_layer/unpublished");
    {
        zloan::loaned_message<point> loan = pub.loan();
        loan->x = 1;
        EXPECT(pub.stats().loans_held == 1);
        EXPECT_ERROR(ZL_ETOOMANYLOANS, pub.loan()); /* max_loans is 1 */
        zloan::loaned_message<point> moved = std::move(loan);
        EXPECT(!loan && moved && moved->x == 1);
        EXPECT(pub.stats().loans_held == 1); /* a move is not a return */
    } /* returned here, unpublished */
    EXPECT(pub.stats().loans_held == 0);
    EXPECT(!sub.take_loan()); /* and not published */
    zloan::loaned_message<point> again = pub.loan();
    again.reset();
    EXPECT(!again && pub.stats().loans_held == 0);
}

static void received_loan_returns_on_destruction()
{
    const char *test = "received_loan_returns_on_destruction";
    zloan::context ctx;
    zl_subscription_options options = subscription_options(1);
    zloan::publisher<point> pub(ctx, "/cxx_layer/received");
    zloan::subscription<point> sub(ctx, "/cxx_layer/received", &options);
    for (int i = 0; i < 3; i++)
        pub.publish(point{i, 0});
    {
        zloan::received_loan<point> first = sub.take_loan();
        EXPECT(first && first->x == 0);
        EXPECT(sub.stats().loans_held == 1);
        std::string what = EXPECT_ERROR(ZL_ETOOMANYLOANS, sub.take_loan());
        EXPECT(what.find("zl_subscription_take_loan") != std::string::npos);
        zloan::received_loan<point> moved(std::move(first));
        EXPECT(!first && moved->x == 0 && sub.stats().loans_held == 1);
    }
    EXPECT(sub.stats().loans_held == 0);
    zloan::received_loan<point> second = sub.take_loan();
    EXPECT(second && second->x == 1);
    second.reset();
    second = sub.take_loan();
    EXPECT(second && second->x == 2);
    second = zloan::received_loan<point>(); /* assigning returns what it held */
    EXPECT(!second && sub.stats().loans_held == 0 && sub.stats().received == 3);

    for (int i = 0; i < 5; i++)
        pub.publish(point{10 + i, 0});
    zl_subscription_options four = subscription_options(4);
    zloan::subscription<point> wide(ctx, "/cxx_layer/received", &four);
    zloan::publisher<point> pub2(ctx, "/cxx_layer/received");
    for (int i = 0; i < 5; i++)
        pub2.publish(point{20 + i, 0});
    zloan::received_loan<point> many[8];
    std::size_t n = wide.take_loans(many, 8);
    EXPECT(n == 4); /* stops at max_loans without an exception */
    EXPECT(many[0]->x == 20 && many[3]->x == 23);
    EXPECT(wide.stats().loans_held == 4);
}

static void owners_outlive_their_handles()
{
    const char *test = "owners_outlive_their_handles";
    std::optional<zloan::received_loan<point>> kept;
    std::optional<zloan::loaned_message<point>> unpublished;
    {
        zloan::context ctx;
        zloan::publisher<point> pub(ctx, "/cxx_layer/outlive");
        zloan::subscription<point> sub(ctx, "/cxx_layer/outlive");
        pub.publish(point{99, 2.5});
        kept.emplace(sub.take_loan());
        unpublished.emplace(pub.loan());
    } /* context, publisher and subscription objects go; the loans keep them */
    EXPECT(kept->get() != nullptr && (*kept)->x == 99 && (*kept)->y == 2.5);
    (*unpublished)->x = 3;
    kept.reset();
    unpublished.reset(); /* returned, then the endpoints and the context are destroyed */
    EXPECT(!kept && !unpublished);
}

static void errors_carry_the_detail()
{
    const char *test = "errors_carry_the_detail";
    zloan::context ctx;
    zloan::publisher<point> pub(ctx, "/cxx_layer/errors");
    std::string what =
        EXPECT_ERROR(ZL_ETYPE, zloan::subscription<other> s(ctx, "/cxx_layer/errors"));
    /* Both type names, from zl_last_error_detail(). */
    EXPECT(what.find("point") != std::string::npos && what.find("other") != std::string::npos);
    EXPECT(what.find("zl_subscription_create") != std::string::npos);
    what = EXPECT_ERROR(ZL_ENAME, zloan::publisher<point> p(ctx, "/cxx_layer//bad"));
    EXPECT(what.find(zl_strerror(ZL_ENAME)) != std::string::npos);
    static const zl_type wrong = ZL_TYPE_PLAIN(other);
    zl_type small = wrong;
    small.size = 1;
    EXPECT_ERROR(ZL_EINVAL, zloan::publisher<point> p(ctx, "/cxx_layer/errors2", small));
    zl_context_options options;
    zl_context_options_init(&options);
    options.domain_id = ZL_DOMAIN_ID_MAX + 1;
    EXPECT_ERROR(ZL_EINVAL, zloan::context c(options));
}

static void waitset_wakes()
{
    const char *test = "waitset_wakes";
    zloan::context ctx;
    zloan::publisher<point> pub(ctx, "/cxx_layer/waitset");
    zloan::guard_condition guard(ctx);
    zloan::timer tick(ctx, std::chrono::milliseconds(5));
    zloan::waitset ws(ctx, 4);
    std::size_t s_index;
    {
        zloan::subscription<point> sub(ctx, "/cxx_layer/waitset");
        s_index = ws.attach(sub); /* the wait set keeps it */
    }
    std::size_t g_index = ws.attach(guard);
    EXPECT(ws.wait(std::chrono::nanoseconds(0)) == 0); /* nothing ready: a timeout */
    guard.trigger();
    EXPECT(ws.wait(std::chrono::seconds(5)) >= 1 && ws.ready(g_index) && !ws.ready(s_index));
    pub.publish(point{5, 0});
    EXPECT(ws.wait(std::chrono::seconds(5)) >= 1 && ws.ready(s_index));
    ws.detach(s_index);
    std::size_t t_index = ws.attach(tick);
    EXPECT(ws.wait(std::chrono::seconds(5)) >= 1 && ws.ready(t_index));
    EXPECT(tick.take() >= 1);
    EXPECT_ERROR(ZL_EBUSY, zloan::waitset other_ws(ctx, 1); other_ws.attach(guard));
}

/* A publisher in a wait set: writable while its lossless subscription has
 * room, not once the queue is full, again after a take. */
static void waitset_publisher_writable()
{
    const char *test = "waitset_publisher_writable";
    zloan::context ctx;
    zl_subscription_options sub_options;
    zl_subscription_options_init(&sub_options);
    sub_options.depth = 1;
    sub_options.reliability = ZL_LOSSLESS;
    zloan::subscription<point> sub(ctx, "/cxx_layer/writable", &sub_options);
    zloan::waitset ws(ctx, 2);
    std::size_t p_index;
    {
        zl_publisher_options pub_options;
        zl_publisher_options_init(&pub_options);
        pub_options.max_blocking_time_ns = 0;
        zloan::publisher<point> pub(ctx, "/cxx_layer/writable", &pub_options);
        p_index = ws.attach(pub); /* the wait set keeps it */
        EXPECT(ws.wait(std::chrono::seconds(5)) == 1 && ws.ready(p_index));
        pub.publish(point{1, 0});
        EXPECT(ws.wait(std::chrono::nanoseconds(0)) == 0); /* full: not writable */
        EXPECT_ERROR(ZL_ETIMEOUT, pub.publish(point{2, 0}));
    }
    point got{};
    EXPECT(sub.take(got) && got.x == 1);
    EXPECT(ws.wait(std::chrono::seconds(5)) == 1 && ws.ready(p_index));
    ws.detach(p_index);
}

static void executor_runs_callables()
{
    const char *test = "executor_runs_callables";
    zloan::context ctx;
    zloan::publisher<point> pub(ctx, "/cxx_layer/executor");
    zloan::subscription<point> sub(ctx, "/cxx_layer/executor");
    zloan::guard_condition guard(ctx);
    zloan::executor exec(ctx, 4);
    int sum = 0;
    int guards = 0;
    zloan::received_loan<point> kept;
    exec.add_subscription(
        sub,
        [&](const point &m, const zl_message_info &info) {
            sum += m.x;
            if (m.x == 2)
                kept = exec.keep_loan(sub, m, info);
        },
        ZL_DELIVERY_LOAN);
    exec.add_guard_condition(guard, [&] {
        guards++;
        throw std::runtime_error("from a callback");
    });
    for (int i = 1; i <= 3; i++)
        pub.publish(point{i, 0});
    exec.spin_some();
    EXPECT(sum == 6);
    EXPECT(kept && kept->x == 2 && sub.stats().loans_held == 1); /* kept past its callback */
    kept.reset();
    EXPECT(sub.stats().loans_held == 0);

    /* An exception ends spin() (which runs until stopped) and comes out of it. */
    guard.trigger();
    bool caught = false;
    try {
        exec.spin();
    } catch (const std::runtime_error &e) {
        caught = std::strcmp(e.what(), "from a callback") == 0;
    }
    EXPECT(caught && guards == 1);
    (void)exec.spin_once(std::chrono::milliseconds(1)); /* it may wake up (the stop) */
    EXPECT(guards == 1);                                 /* but calls nothing again */

    zloan::timer tick(ctx, std::chrono::milliseconds(1));
    uint64_t expirations = 0;
    exec.add_timer(tick, [&](uint64_t n) {
        expirations += n;
        exec.stop();
    });
    exec.spin();
    EXPECT(expirations >= 1);
    zloan::guard_condition g2(ctx);
    zloan::guard_condition g3(ctx);
    exec.add_guard_condition(g2, [] {}); /* the fourth of 4 */
    EXPECT_ERROR(ZL_ELIMIT, exec.add_guard_condition(g3, [] {}));
}

int main()
{
    loan_publish_take();
    batch_publishes_in_order();
    unpublished_loan_is_returned();
    received_loan_returns_on_destruction();
    owners_outlive_their_handles();
    errors_carry_the_detail();
    waitset_wakes();
    waitset_publisher_writable();
    executor_runs_callables();
    if (failures != 0) {
        std::fprintf(stderr, "cxx_layer: %d failure(s)\n", failures);
        return EXIT_FAILURE;
    }
    std::printf("cxx_layer: ok\n");
    return EXIT_SUCCESS;
}
