/** @file
 * zloan — zero-copy loaned messages between threads and processes.
 * The umbrella header: include this one. */
#ifndef ZLOAN_ZLOAN_H
#define ZLOAN_ZLOAN_H

#include "zloan/allocator.h"
#include "zloan/context.h"
#include "zloan/error.h"
#include "zloan/executor.h"
#include "zloan/guard_condition.h"
#include "zloan/introspection.h"
#include "zloan/log.h"
#include "zloan/publisher.h"
#include "zloan/subscription.h"
#include "zloan/timer.h"
#include "zloan/topic.h"
#include "zloan/type.h"
#include "zloan/user_memory.h"
#include "zloan/waitset.h"

#define ZLOAN_VERSION_MAJOR 0 /**< the version of these headers: major */
#define ZLOAN_VERSION_MINOR 1 /**< minor */
#define ZLOAN_VERSION_PATCH 0 /**< patch */

#endif
