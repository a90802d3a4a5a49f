/** @file
 * zloan — a header-only C++ layer (C++17 and later) over the public C API.
 *
 * What it adds to the C calls, and nothing else:
 *   - handles that destroy themselves (context, publisher<T>, subscription<T>,
 *     waitset, executor, guard_condition, timer), shared so that nothing is
 *     destroyed while something built on it still lives: an endpoint keeps
 *     its context alive, a loan its endpoint, a wait set or executor the
 *     handles attached to it;
 *   - loans as owners: a publisher's loaned_message<T> is returned when it
 *     goes out of scope unpublished (as rclcpp's LoanedMessage); a
 *     subscription's received_loan<T> is move-only and returns the loan when
 *     destroyed;
 *   - errors as exceptions: zloan::error carries the code, zl_strerror() and
 *     the zl_last_error_detail() text of the failed call. "Nothing to take"
 *     is not an error: take calls report it in their result;
 *   - typed endpoints for plain structs (trivially copyable, no pointers).
 *     ZLOAN_PLAIN_MESSAGE(T), at global scope, gives T the descriptor C code
 *     gets from ZL_TYPE_PLAIN(T), so C and C++ endpoints meet on one topic.
 *
 * Costs: creating a handle allocates (its shared owner); loaning, publishing,
 * taking and returning add one atomic reference count increment or decrement
 * per loan to the C calls, and allocate nothing.
 *
 * Threads: the rules of the C objects (see their headers); a
 * received_loan<T> may be destroyed on any thread.
 */
#ifndef ZLOAN_ZLOAN_HPP
#define ZLOAN_ZLOAN_HPP

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "zloan/zloan.h"

/** The C++ layer. */
namespace zloan {

/** A failed zloan call: code() is the ZL_E* code; what() names the call, the
 * code and the detail zloan gave for it. */
class error : public std::runtime_error {
public:
    /** An error of code from the call named call; what() adds zl_strerror(code)
     * and the calling thread's zl_last_error_detail(). */
    error(int code, const char *call)
        : std::runtime_error(describe(code, call, zl_last_error_detail())), code_(code)
    {
    }
    /** The same with the layer's own detail, for a misuse this layer finds
     * before any zloan call (the thread's detail would be stale). */
    error(int code, const char *call, const char *detail)
        : std::runtime_error(describe(code, call, detail)), code_(code)
    {
    }
    /** The ZL_E* code. */
    int code() const noexcept { return code_; }

private:
    static std::string describe(int code, const char *call, const char *detail)
    {
        std::string text = std::string(call) + ": " + zl_strerror(code);
        if (detail != nullptr && detail[0] != '\0')
            text += std::string(" (") + detail + ")";
        return text;
    }
    int code_;
};

namespace detail {

/* What a publish of an empty loaned_message says. */
inline constexpr const char *empty_loan =
    "the loan is empty: already published, returned (reset) or moved from";

inline void check(int rc, const char *call)
{
    if (rc < 0)
        throw error(rc, call);
}

inline int64_t to_ns(std::chrono::nanoseconds duration) { return int64_t(duration.count()); }

/** Typed endpoints carry plain structs only: their bytes are the message. */
template <class T>
inline constexpr bool is_plain =
    std::is_trivially_copyable<T>::value && std::is_trivially_destructible<T>::value;

/** Throws ZL_EINVAL unless type describes T (plain, its size and alignment). */
template <class T>
void check_describes(const zl_type &type, const char *endpoint)
{
    if (!type.plain || type.size != sizeof(T) || type.alignment != alignof(T))
        throw error(ZL_EINVAL,
                    (std::string(endpoint) + " (the type descriptor does not describe T)").c_str());
}

/** A shared owner of a C handle whose deleter calls destroy, then lets go of
 * what the handle was built on (keep). */
template <class H, class Keep>
std::shared_ptr<H> own(H *handle, int (*destroy)(H *), Keep keep)
{
    try {
        return std::shared_ptr<H>(handle, [destroy, keep](H *h) {
            (void)keep; /* released after destroy, with the deleter */
            (void)destroy(h);
        });
    } catch (...) {
        (void)destroy(handle);
        throw;
    }
}

/* Creates a typed endpoint of T (create is zl_publisher_create or
 * zl_subscription_create), owned with the context it keeps alive. */
template <class T, class H, class O>
std::shared_ptr<H> endpoint(int (*create)(zl_context *, const char *, const zl_type *, const O *,
                                          H **),
                            int (*destroy)(H *), const char *call,
                            const std::shared_ptr<zl_context> &ctx, const std::string &topic,
                            const zl_type &type, const O *options)
{
    check_describes<T>(type, call);
    H *handle = nullptr;
    check(create(ctx.get(), topic.c_str(), &type, options, &handle), call);
    return own(handle, destroy, ctx);
}

} // namespace detail

/** The descriptor of a message type T; ZLOAN_PLAIN_MESSAGE(T) defines it. */
template <class T>
struct message_type; /* static const zl_type &get(); */

/** At global scope: T is a plain message, with the descriptor of
 * ZL_TYPE_PLAIN(T) (the type name is T as written here). */
#define ZLOAN_PLAIN_MESSAGE(T)                                  \
    namespace zloan {                                           \
    template <>                                                 \
    struct message_type<T> {                                    \
        static const zl_type &get()                             \
        {                                                       \
            static const zl_type descriptor = ZL_TYPE_PLAIN(T); \
            return descriptor;                                  \
        }                                                       \
    };                                                          \
    }

/** A context (zl_context): shared by the endpoints made from it, destroyed
 * with the last of them. */
class context {
public:
    /** A context with the default options (zl_context_create). */
    context() : context(nullptr) {}
    /** A context with options. */
    explicit context(const zl_context_options &options) : context(&options) {}

    /** The C handle, for the calls this layer does not wrap. */
    zl_context *get() const noexcept { return handle_.get(); }
    /** zl_context_domain_id(). */
    uint32_t domain_id() const { return zl_context_domain_id(handle_.get()); }
    /** The shared owner, which endpoints keep. */
    const std::shared_ptr<zl_context> &shared() const noexcept { return handle_; }

private:
    explicit context(const zl_context_options *options)
    {
        zl_context *c = nullptr;
        detail::check(zl_context_create(options, &c), "zl_context_create");
        handle_ = detail::own(c, zl_context_destroy, 0);
    }
    std::shared_ptr<zl_context> handle_;
};

template <class T>
class publisher;

/** A loan from a publisher: T-sized memory in the publisher's pool (or from
 * the allocator on the refusal path), default-initialised. Publish it with
 * publisher<T>::publish(std::move(loan)) or publish(); if it is still held
 * when it goes out of scope, it is returned unpublished. Move-only. Used on
 * the publisher's thread. */
template <class T>
class loaned_message {
public:
    /** An empty owner. */
    loaned_message() noexcept = default;
    /** Takes over other's loan; other is empty afterwards. */
    loaned_message(loaned_message &&other) noexcept
        : publisher_(std::move(other.publisher_)), message_(std::exchange(other.message_, nullptr))
    {
    }
    /** Returns what this held, then takes over other's loan. */
    loaned_message &operator=(loaned_message &&other) noexcept
    {
        if (this != &other) {
            reset();
            publisher_ = std::move(other.publisher_);
            message_ = std::exchange(other.message_, nullptr);
        }
        return *this;
    }
    loaned_message(const loaned_message &) = delete;
    loaned_message &operator=(const loaned_message &) = delete;
    ~loaned_message() { reset(); }

    /** Whether a loan is held. */
    explicit operator bool() const noexcept { return message_ != nullptr; }
    /** The message, which the holder may write. */
    T &operator*() const noexcept { return *message_; }
    /** The message, which the holder may write. */
    T *operator->() const noexcept { return message_; }
    /** The message, or nullptr when empty. */
    T *get() const noexcept { return message_; }

    /** Publishes the loan and gives it up. On error it is still held. */
    void publish()
    {
        if (message_ == nullptr)
            throw error(ZL_ENOTLOAN, "zl_publisher_publish_loan", detail::empty_loan);
        detail::check(zl_publisher_publish_loan(publisher_.get(), message_),
                      "zl_publisher_publish_loan");
        message_ = nullptr;
        publisher_.reset();
    }

    /** Returns the loan unpublished (nothing when none is held). */
    void reset() noexcept
    {
        if (message_ != nullptr)
            (void)zl_publisher_return_loan(publisher_.get(), message_);
        message_ = nullptr;
        publisher_.reset();
    }

private:
    friend class publisher<T>;
    loaned_message(std::shared_ptr<zl_publisher> owner, T *message) noexcept
        : publisher_(std::move(owner)), message_(message)
    {
    }
    std::shared_ptr<zl_publisher> publisher_;
    T *message_ = nullptr;
};

template <class T>
/** A publisher of plain messages of type T (zl_publisher). */
class publisher {
    static_assert(detail::is_plain<T>, "zloan::publisher<T> needs a plain T (trivially copyable)");

public:
    /** A publisher of T on topic, with message_type<T>'s descriptor or the one
     * given (which must describe T: plain, sizeof(T), alignof(T)). */
    publisher(const context &ctx, const std::string &topic,
              const zl_publisher_options *options = nullptr)
        : publisher(ctx, topic, message_type<T>::get(), options)
    {
    }
    /** Same, with the descriptor given. */
    publisher(const context &ctx, const std::string &topic, const zl_type &type,
              const zl_publisher_options *options = nullptr)
        : handle_(detail::endpoint<T>(zl_publisher_create, zl_publisher_destroy,
                                      "zl_publisher_create", ctx.shared(), topic, type, options))
    {
    }

    /** A loan, default-initialised; throws (ZL_ETOOMANYLOANS, ZL_EEXHAUSTED,
     * ...) when zloan cannot lend. */
    loaned_message<T> loan()
    {
        void *memory = nullptr;
        detail::check(zl_publisher_loan(handle_.get(), &memory), "zl_publisher_loan");
        return loaned_message<T>(handle_, ::new (memory) T);
    }

    /** Publishes a loan of this publisher and empties it; on error the loan
     * still holds it. */
    void publish(loaned_message<T> &&message)
    {
        if (!message)
            throw error(ZL_ENOTLOAN, "zl_publisher_publish_loan", detail::empty_loan);
        if (message.publisher_ != handle_)
            throw error(ZL_ENOTLOAN, "zl_publisher_publish_loan", "a loan of another publisher");
        message.publish();
    }

    /** Publishes count loans of this publisher in order, 64 at a time
     * through zl_publisher_publish_loans(), and empties each one published.
     * Throws ZL_ENOTLOAN before publishing any when one is empty or
     * another publisher's; on an error after some were published (a
     * lossless subscription's ZL_ETIMEOUT) the loans not published still
     * hold theirs. */
    void publish(loaned_message<T> *messages, std::size_t count)
    {
        for (std::size_t i = 0; i < count; i++) {
            if (!messages[i])
                throw error(ZL_ENOTLOAN, "zl_publisher_publish_loans", detail::empty_loan);
            if (messages[i].publisher_ != handle_)
                throw error(ZL_ENOTLOAN, "zl_publisher_publish_loans",
                            "a loan of another publisher");
        }
        for (std::size_t done = 0; done < count;) {
            void *batch[64];
            std::size_t n = count - done < 64 ? count - done : 64;
            for (std::size_t k = 0; k < n; k++)
                batch[k] = messages[done + k].message_;
            std::size_t published = 0;
            int rc = zl_publisher_publish_loans(handle_.get(), batch, n, &published);
            for (std::size_t k = 0; k < published; k++) {
                messages[done + k].message_ = nullptr;
                messages[done + k].publisher_.reset();
            }
            done += published;
            detail::check(rc, "zl_publisher_publish_loans");
        }
    }

    /** Publishes a copy of message; the caller keeps it. */
    void publish(const T &message)
    {
        detail::check(zl_publisher_publish(handle_.get(), &message), "zl_publisher_publish");
    }

    /** zl_publisher_can_loan(): whether loans are shared memory (zero copy). */
    bool can_loan() const { return zl_publisher_can_loan(handle_.get()); }
    /** zl_publisher_update_connections(): serves late joiners from an idle publisher. */
    void update_connections()
    {
        detail::check(zl_publisher_update_connections(handle_.get()),
                      "zl_publisher_update_connections");
    }
    /** zl_publisher_get_stats(). */
    zl_publisher_stats stats()
    {
        zl_publisher_stats s{};
        detail::check(zl_publisher_get_stats(handle_.get(), &s), "zl_publisher_get_stats");
        return s;
    }
    /** zl_publisher_id(), as in zl_message_info::publisher_id. */
    uint64_t id() const { return zl_publisher_id(handle_.get()); }
    /** The C handle, for the calls this layer does not wrap. */
    zl_publisher *get() const noexcept { return handle_.get(); }
    /** Shared ownership of the C handle (a wait set keeps what it attached). */
    const std::shared_ptr<zl_publisher> &shared() const noexcept { return handle_; }

private:
    std::shared_ptr<zl_publisher> handle_;
};

template <class T>
class subscription;
class executor;

/** A loan taken from a subscription: read-only, unchanged until returned,
 * returned when destroyed or reset (from any thread). Move-only; empty when
 * the take found nothing. */
template <class T>
class received_loan {
public:
    /** An empty owner. */
    received_loan() noexcept = default;
    /** Takes over other's loan; other is empty afterwards. */
    received_loan(received_loan &&other) noexcept
        : subscription_(std::move(other.subscription_)),
          message_(std::exchange(other.message_, nullptr)), info_(other.info_)
    {
    }
    /** Returns what this held, then takes over other's loan. */
    received_loan &operator=(received_loan &&other) noexcept
    {
        if (this != &other) {
            reset();
            subscription_ = std::move(other.subscription_);
            message_ = std::exchange(other.message_, nullptr);
            info_ = other.info_;
        }
        return *this;
    }
    received_loan(const received_loan &) = delete;
    received_loan &operator=(const received_loan &) = delete;
    ~received_loan() { reset(); }

    /** Whether a loan is held. */
    explicit operator bool() const noexcept { return message_ != nullptr; }
    /** The message, read-only. */
    const T &operator*() const noexcept { return *message_; }
    /** The message, read-only. */
    const T *operator->() const noexcept { return message_; }
    /** The message, or nullptr when empty. */
    const T *get() const noexcept { return message_; }
    /** What zloan knows about the message (zl_message_info). */
    const zl_message_info &info() const noexcept { return info_; }

    /** zl_subscription_is_consistent(): always true with zloan's own
     * transport, which never overwrites a held loan. */
    bool is_consistent() const
    {
        bool consistent = false;
        detail::check(zl_subscription_is_consistent(subscription_.get(), message_, &consistent),
                      "zl_subscription_is_consistent");
        return consistent;
    }

    /** Returns the loan now (nothing when empty). */
    void reset() noexcept
    {
        if (message_ != nullptr)
            (void)zl_subscription_return_loan(subscription_.get(), message_);
        message_ = nullptr;
        subscription_.reset();
    }

private:
    friend class subscription<T>;
    friend class executor;
    received_loan(std::shared_ptr<zl_subscription> owner, const void *message,
                  const zl_message_info &info) noexcept
        : subscription_(std::move(owner)), message_(static_cast<const T *>(message)), info_(info)
    {
    }
    std::shared_ptr<zl_subscription> subscription_;
    const T *message_ = nullptr;
    zl_message_info info_{};
};

template <class T>
/** A subscription to plain messages of type T (zl_subscription). */
class subscription {
    static_assert(detail::is_plain<T>,
                  "zloan::subscription<T> needs a plain T (trivially copyable)");

public:
    /** A subscription to T on topic (zl_subscription_create), with
     * message_type<T>'s descriptor or the one given (which must describe T:
     * plain, sizeof(T), alignof(T)). */
    subscription(const context &ctx, const std::string &topic,
                 const zl_subscription_options *options = nullptr)
        : subscription(ctx, topic, message_type<T>::get(), options)
    {
    }
    /** Same, with the descriptor given. */
    subscription(const context &ctx, const std::string &topic, const zl_type &type,
                 const zl_subscription_options *options = nullptr)
        : handle_(detail::endpoint<T>(zl_subscription_create, zl_subscription_destroy,
                                      "zl_subscription_create", ctx.shared(), topic, type,
                                      options))
    {
    }

    /** Copies the oldest message into message; false when there is none. */
    bool take(T &message, zl_message_info *info = nullptr)
    {
        int rc = zl_subscription_take(handle_.get(), &message, info);
        if (rc == ZL_ENODATA)
            return false;
        detail::check(rc, "zl_subscription_take");
        return true;
    }

    /** Borrows the oldest message; empty when there is none. Throws
     * ZL_ETOOMANYLOANS when max_loans loans are held. */
    received_loan<T> take_loan()
    {
        const void *message = nullptr;
        zl_message_info info{};
        int rc = zl_subscription_take_loan(handle_.get(), &message, &info);
        if (rc == ZL_ENODATA)
            return received_loan<T>();
        detail::check(rc, "zl_subscription_take_loan");
        return received_loan<T>(handle_, message, info);
    }

    /** Borrows up to capacity messages into out[0..n), oldest first, and
     * returns n; stops early when nothing is left or no loan is left. */
    std::size_t take_loans(received_loan<T> *out, std::size_t capacity)
    {
        std::size_t n = 0;
        while (n < capacity) {
            const void *message = nullptr;
            zl_message_info info{};
            int rc = zl_subscription_take_loan(handle_.get(), &message, &info);
            if (rc == ZL_ENODATA || (rc == ZL_ETOOMANYLOANS && n > 0))
                break;
            detail::check(rc, "zl_subscription_take_loan");
            out[n++] = received_loan<T>(handle_, message, info);
        }
        return n;
    }

    /** zl_subscription_can_loan(): whether loans are the publisher's memory. */
    bool can_loan() const { return zl_subscription_can_loan(handle_.get()); }
    /** zl_subscription_get_stats(). */
    zl_subscription_stats stats()
    {
        zl_subscription_stats s{};
        detail::check(zl_subscription_get_stats(handle_.get(), &s), "zl_subscription_get_stats");
        return s;
    }
    /** The C handle, for the calls this layer does not wrap. */
    zl_subscription *get() const noexcept { return handle_.get(); }
    /** The shared owner, which loans, wait sets and executors keep. */
    const std::shared_ptr<zl_subscription> &shared() const noexcept { return handle_; }

private:
    std::shared_ptr<zl_subscription> handle_;
};

/** A guard condition (zl_guard_condition). */
class guard_condition {
public:
    /** A new guard condition, not raised. */
    explicit guard_condition(const context &ctx)
    {
        zl_guard_condition *g = nullptr;
        detail::check(zl_guard_condition_create(ctx.get(), &g), "zl_guard_condition_create");
        handle_ = detail::own(g, zl_guard_condition_destroy, ctx.shared());
    }
    /** Raises the flag and wakes wait sets (zl_guard_condition_trigger). Any
     * thread; in a signal handler call zl_guard_condition_trigger(get()),
     * which is async-signal-safe (this one may throw). */
    void trigger()
    {
        detail::check(zl_guard_condition_trigger(handle_.get()), "zl_guard_condition_trigger");
    }
    /** Lowers the flag; whether it was raised. Any thread. */
    bool take() { return zl_guard_condition_take(handle_.get()); }
    /** The C handle, for the calls this layer does not wrap. */
    zl_guard_condition *get() const noexcept { return handle_.get(); }
    /** The shared owner, which wait sets and executors keep. */
    const std::shared_ptr<zl_guard_condition> &shared() const noexcept { return handle_; }

private:
    std::shared_ptr<zl_guard_condition> handle_;
};

/** A periodic timer (zl_timer). */
class timer {
public:
    /** Due every period (> 0), first one period from now. */
    timer(const context &ctx, std::chrono::nanoseconds period)
    {
        zl_timer *t = nullptr;
        detail::check(zl_timer_create(ctx.get(), detail::to_ns(period), &t), "zl_timer_create");
        handle_ = detail::own(t, zl_timer_destroy, ctx.shared());
    }
    /** Deadlines passed since the last take (0: not due yet). */
    uint64_t take()
    {
        uint64_t expirations = 0;
        int rc = zl_timer_take(handle_.get(), &expirations);
        if (rc == ZL_ENODATA)
            return 0;
        detail::check(rc, "zl_timer_take");
        return expirations;
    }
    /** Time until the next deadline (<= 0: due). */
    std::chrono::nanoseconds remaining() const
    {
        return std::chrono::nanoseconds(zl_timer_remaining(handle_.get()));
    }
    /** Restarts: the next deadline is one period from now. */
    void reset() { detail::check(zl_timer_reset(handle_.get()), "zl_timer_reset"); }
    /** The C handle, for the calls this layer does not wrap. */
    zl_timer *get() const noexcept { return handle_.get(); }
    /** The shared owner, which wait sets and executors keep. */
    const std::shared_ptr<zl_timer> &shared() const noexcept { return handle_; }

private:
    std::shared_ptr<zl_timer> handle_;
};

/** A wait set; it keeps what is attached to it alive until it is detached or
 * the wait set is destroyed. */
class waitset {
public:
    /** A wait set for up to capacity entries (1..ZL_WAITSET_CAPACITY_MAX). */
    waitset(const context &ctx, std::size_t capacity) : attached_(capacity)
    {
        zl_waitset *w = nullptr;
        detail::check(zl_waitset_create(ctx.get(), capacity, &w), "zl_waitset_create");
        handle_ = detail::own(w, zl_waitset_destroy, ctx.shared());
    }
    /** Takes over other. */
    waitset(waitset &&) noexcept = default;
    /** Destroys this wait set (detaching what is attached), then takes over other. */
    waitset &operator=(waitset &&other) noexcept
    {
        handle_ = std::move(other.handle_); /* detaches, before what was attached goes */
        attached_ = std::move(other.attached_);
        return *this;
    }
    ~waitset() { handle_.reset(); }

    template <class T>
    /** Attaches a subscription (also attached elsewhere, possibly); returns its index. */
    std::size_t attach(const subscription<T> &s)
    {
        std::size_t i = 0;
        detail::check(zl_waitset_attach_subscription(handle_.get(), s.get(), &i),
                      "zl_waitset_attach_subscription");
        attached_[i] = s.shared();
        return i;
    }
    template <class T>
    /** Attaches a publisher, ready when a publish would not wait for a
     * lossless subscription (zl_waitset_attach_publisher); returns its index. */
    std::size_t attach(const publisher<T> &p)
    {
        std::size_t i = 0;
        detail::check(zl_waitset_attach_publisher(handle_.get(), p.get(), &i),
                      "zl_waitset_attach_publisher");
        attached_[i] = p.shared();
        return i;
    }
    /** Attaches a guard condition (attached nowhere else); returns its index. */
    std::size_t attach(const guard_condition &g)
    {
        std::size_t i = 0;
        detail::check(zl_waitset_attach_guard_condition(handle_.get(), g.get(), &i),
                      "zl_waitset_attach_guard_condition");
        attached_[i] = g.shared();
        return i;
    }
    /** Attaches a timer (attached nowhere else); returns its index. */
    std::size_t attach(const timer &t)
    {
        std::size_t i = 0;
        detail::check(zl_waitset_attach_timer(handle_.get(), t.get(), &i),
                      "zl_waitset_attach_timer");
        attached_[i] = t.shared();
        return i;
    }
    /** Detaches the entry at index and lets go of it. */
    void detach(std::size_t index)
    {
        detail::check(zl_waitset_detach(handle_.get(), index), "zl_waitset_detach");
        attached_[index].reset();
    }

    /** Waits up to timeout (negative: forever); the number of ready entries,
     * 0 when the time ran out. */
    std::size_t wait(std::chrono::nanoseconds timeout = std::chrono::nanoseconds(-1))
    {
        std::size_t ready = 0;
        int rc = zl_waitset_wait(handle_.get(), detail::to_ns(timeout), &ready);
        if (rc == ZL_ETIMEOUT)
            return 0;
        detail::check(rc, "zl_waitset_wait");
        return ready;
    }
    /** Whether the entry at index was ready at the last wait. */
    bool ready(std::size_t index) const { return zl_waitset_ready(handle_.get(), index); }
    /** The C handle, for the calls this layer does not wrap. */
    zl_waitset *get() const noexcept { return handle_.get(); }

private:
    std::vector<std::shared_ptr<void>> attached_;
    std::shared_ptr<zl_waitset> handle_;
};

/** An executor; callbacks are any callables. An exception a callback throws
 * stops the spin and is rethrown by the spin call. It keeps the handles
 * added to it alive. Not movable (callbacks refer to it). */
class executor {
public:
    /** An executor for up to capacity handles. */
    executor(const context &ctx, std::size_t capacity)
    {
        entries_.reserve(capacity);
        zl_executor *e = nullptr;
        detail::check(zl_executor_create(ctx.get(), capacity, &e), "zl_executor_create");
        handle_ = detail::own(e, zl_executor_destroy, ctx.shared());
    }
    executor(const executor &) = delete;
    executor &operator=(const executor &) = delete;
    ~executor() { handle_.reset(); }

    /** callback(const T &message, const zl_message_info &info). With
     * ZL_DELIVERY_LOAN the message is a loan, returned after the callback
     * unless the callback keeps it (keep_loan). */
    template <class T, class F>
    void add_subscription(const subscription<T> &s, F callback,
                          zl_delivery mode = ZL_DELIVERY_DEFAULT)
    {
        auto call = [f = std::move(callback)](const void *m, const zl_message_info *info,
                                              uint64_t) { f(*static_cast<const T *>(m), *info); };
        entry &e = add_entry(s.shared(), std::move(call));
        commit(zl_executor_add_subscription(handle_.get(), s.get(), mode, on_message, &e),
               "zl_executor_add_subscription");
    }
    /** callback(uint64_t expirations). */
    template <class F>
    void add_timer(const timer &t, F callback)
    {
        auto call = [f = std::move(callback)](const void *, const zl_message_info *,
                                              uint64_t n) { f(n); };
        entry &e = add_entry(t.shared(), std::move(call));
        commit(zl_executor_add_timer(handle_.get(), t.get(), on_timer, &e),
               "zl_executor_add_timer");
    }
    /** callback(). */
    template <class F>
    void add_guard_condition(const guard_condition &g, F callback)
    {
        auto call = [f = std::move(callback)](const void *, const zl_message_info *,
                                              uint64_t) { f(); };
        entry &e = add_entry(g.shared(), std::move(call));
        commit(zl_executor_add_guard_condition(handle_.get(), g.get(), on_guard, &e),
               "zl_executor_add_guard_condition");
    }

    /** Inside a ZL_DELIVERY_LOAN callback of s: keeps the message being
     * delivered; the owner returned gives it back when destroyed. */
    template <class T>
    received_loan<T> keep_loan(const subscription<T> &s, const T &message,
                               const zl_message_info &info)
    {
        detail::check(zl_executor_keep_loan(handle_.get(), &message), "zl_executor_keep_loan");
        return received_loan<T>(s.shared(), &message, info);
    }

    /** zl_executor_set_trigger() (ZL_TRIGGER_CUSTOM is left to the C call). */
    void set_trigger(zl_trigger trigger, std::size_t handle = 0)
    {
        detail::check(zl_executor_set_trigger(handle_.get(), trigger, handle, nullptr, nullptr),
                      "zl_executor_set_trigger");
    }

    /** false when nothing became ready within timeout. */
    bool spin_once(std::chrono::nanoseconds timeout = std::chrono::nanoseconds(-1))
    {
        int rc = zl_executor_spin_once(handle_.get(), detail::to_ns(timeout));
        rethrow_pending();
        if (rc == ZL_ETIMEOUT)
            return false;
        detail::check(rc, "zl_executor_spin_once");
        return true;
    }
    /** Runs what is ready now, without waiting (zl_executor_spin_some). */
    void spin_some()
    {
        int rc = zl_executor_spin_some(handle_.get());
        rethrow_pending();
        detail::check(rc, "zl_executor_spin_some");
    }
    /** Waits and runs callbacks until stop() (zl_executor_spin). */
    void spin()
    {
        forever_ = true;
        int rc = zl_executor_spin(handle_.get());
        forever_ = false;
        rethrow_pending();
        detail::check(rc, "zl_executor_spin");
    }
    /** Every period: waits what is left of it and runs what is ready, until
     * stop() (zl_executor_spin_period). */
    void spin_period(std::chrono::nanoseconds period)
    {
        forever_ = true;
        int rc = zl_executor_spin_period(handle_.get(), detail::to_ns(period));
        forever_ = false;
        rethrow_pending();
        detail::check(rc, "zl_executor_spin_period");
    }
    /** Any thread; async-signal-safe. */
    void stop() noexcept { (void)zl_executor_stop(handle_.get()); }
    /** The C handle, for the calls this layer does not wrap. */
    zl_executor *get() const noexcept { return handle_.get(); }

private:
    struct entry {
        executor *owner;
        std::shared_ptr<void> keep;
        std::function<void(const void *, const zl_message_info *, uint64_t)> call;
    };

    template <class C>
    entry &add_entry(std::shared_ptr<void> keep, C call)
    {
        if (entries_.size() == entries_.capacity())
            throw error(ZL_ELIMIT, "zloan::executor (the executor is full)");
        entries_.push_back(entry{this, std::move(keep), std::move(call)});
        return entries_.back(); /* capacity reserved: never moves */
    }
    void commit(int rc, const char *call)
    {
        if (rc < 0) {
            entries_.pop_back();
            detail::check(rc, call);
        }
    }
    static void run(entry *e, const void *message, const zl_message_info *info, uint64_t n) noexcept
    {
        try {
            e->call(message, info, n);
        } catch (...) {
            if (!e->owner->pending_)
                e->owner->pending_ = std::current_exception();
            /* spin and spin_period run until stopped; spin_once and
             * spin_some end by themselves (a stop would outlive them). */
            if (e->owner->forever_)
                (void)zl_executor_stop(e->owner->handle_.get());
        }
    }
    static void on_message(const void *message, const zl_message_info *info, void *arg)
    {
        run(static_cast<entry *>(arg), message, info, 0);
    }
    static void on_timer(zl_timer *, uint64_t expirations, void *arg)
    {
        run(static_cast<entry *>(arg), nullptr, nullptr, expirations);
    }
    static void on_guard(zl_guard_condition *, void *arg)
    {
        run(static_cast<entry *>(arg), nullptr, nullptr, 0);
    }
    void rethrow_pending()
    {
        if (pending_)
            std::rethrow_exception(std::exchange(pending_, nullptr));
    }

    std::vector<entry> entries_;
    std::exception_ptr pending_;
    bool forever_ = false;
    std::shared_ptr<zl_executor> handle_;
};

} // namespace zloan

#endif
