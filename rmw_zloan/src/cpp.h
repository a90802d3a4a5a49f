/* rmw_zloan — what C cannot do to a C++ message (src/cpp.cpp): read and
 * write its std::string and std::u16string members, and call the C++
 * introspection's resize functions (which return void and may throw)
 * without letting an exception cross C frames. */
#ifndef RMW_ZLOAN_CPP_H
#define RMW_ZLOAN_CPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** sizeof(std::string), sizeof(std::u16string). */
size_t zr_cpp_string_size(void);
size_t zr_cpp_wstring_size(void);
/** The characters of a std::string (*len of them). */
const char *zr_cpp_string_data(const void *s, size_t *len);
/** s = the n characters at p; false when out of memory. */
bool zr_cpp_string_assign(void *s, const char *p, size_t n);
/** The code units of a std::u16string (*len of them). */
const uint16_t *zr_cpp_wstring_data(const void *s, size_t *len);
/** Resizes a std::u16string to n units: its data, NULL when out of memory. */
uint16_t *zr_cpp_wstring_resize(void *s, size_t n);
/** Calls a C++ introspection resize function (void (*)(void *, size_t));
 * false when it threw (out of memory). */
bool zr_cpp_resize(void (*resize)(void), void *field, size_t n);

#ifdef __cplusplus
}
#endif

#endif
