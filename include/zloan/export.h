/** @file
 * zloan — which symbols the shared library exports.
 *
 * The library is built with hidden visibility by default and a linker
 * version script (src/zloan.map), so that only the public zl_* functions
 * are part of libzloan.so's ABI; ZL_API marks them. */
#ifndef ZLOAN_EXPORT_H
#define ZLOAN_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
/** Marks a declaration the shared library exports. */
#define ZL_API __attribute__((visibility("default")))
#else
#define ZL_API
#endif

#endif
