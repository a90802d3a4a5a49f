/* The zloan tool: a topic's field description, parsed back from its text
 * (zl_type_describe's form) so that the tool can decode, fill and adopt a
 * type it was not compiled against. */
#ifndef ZLOAN_TOOL_DESCRIBE_H
#define ZLOAN_TOOL_DESCRIBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "zloan/zloan.h"

/* Parses text into a zl_field array (free it with describe_free). false
 * when the text does not parse (nothing is left allocated). */
bool describe_parse(const char *text, zl_field **fields, size_t *count);

/* Frees what describe_parse allocated. */
void describe_free(zl_field *fields, size_t count);

/* Prints a message of these fields, one "name: value" per line, indented
 * by depth; only the field at path (e.g. "pose", "corners[1].x") when path
 * is not NULL. tail: the message's count of a sized type's tail elements
 * (its last field, ZL_FIELD_TAIL; 0 for other types), printed as a list.
 * Returns false when path names no field. */
bool describe_print(FILE *out, const zl_field *fields, size_t count, const unsigned char *msg,
                    size_t tail, const char *path, bool json);

/* "u16", "f64", ... or "struct": the kind of field f as the text names it. */
const char *describe_kind_name(const zl_field *f);

/* A sized type's tail (its last field, of size 0), or NULL. */
const zl_field *describe_tail(const zl_field *fields, size_t count);

/* How many elements text gives field f ("[1,2,3]": 3; a string for a
 * field of characters: its length). */
size_t describe_count_values(const zl_field *f, const char *text);

/* Sets the field at path ("width", "pose[2]", "corners[0].x", "label") of
 * msg from text; tail as describe_print (the tail has room for tail
 * elements). false (with a message on stderr) when it cannot. */
bool describe_set(const zl_field *fields, size_t count, unsigned char *msg, size_t tail,
                  const char *path, const char *text);

#endif
