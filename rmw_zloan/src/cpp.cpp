// rmw_zloan — the C++ half of C++ messages (cpp.h says what; cdr.c does the
// rest).
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include "cpp.h"

extern "C" {

size_t zr_cpp_string_size(void)
{
    return sizeof(std::string);
}

size_t zr_cpp_wstring_size(void)
{
    return sizeof(std::u16string);
}

const char *zr_cpp_string_data(const void *s, size_t *len)
{
    const auto *str = static_cast<const std::string *>(s);
    *len = str->size();
    return str->data();
}

bool zr_cpp_string_assign(void *s, const char *p, size_t n)
{
    try {
        static_cast<std::string *>(s)->assign(p, n);
        return true;
    } catch (const std::exception &) { // std::bad_alloc, std::length_error
        return false;
    }
}

const uint16_t *zr_cpp_wstring_data(const void *s, size_t *len)
{
    static_assert(sizeof(char16_t) == sizeof(uint16_t), "a UTF-16 unit is 16 bits");
    const auto *str = static_cast<const std::u16string *>(s);
    *len = str->size();
    return reinterpret_cast<const uint16_t *>(str->data());
}

uint16_t *zr_cpp_wstring_resize(void *s, size_t n)
{
    try {
        auto *str = static_cast<std::u16string *>(s);
        str->resize(n);
        return reinterpret_cast<uint16_t *>(&(*str)[0]);
    } catch (const std::exception &) {
        return nullptr;
    }
}

bool zr_cpp_resize(void (*resize)(void), void *field, size_t n)
{
    try {
        reinterpret_cast<void (*)(void *, size_t)>(resize)(field, n);
        return true;
    } catch (const std::exception &) { // std::bad_alloc, std::length_error
        return false;
    }
}

}  // extern "C"
