/* An option the tool does not know is a bad command line: exit 2 and a
 * message naming it, before anything is looked up (issue 22 item 7).
 *   tool_bad_options TOOL */
#include "tools/tool.h"

static char out[65536];

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    const char *tool = argv[1];
    static const char *const commands[] = {
        "topic list --bogus", "topic info --bogus /t", "topic list -t -c --bogus",
        "topic echo /t --bogus --once", "pool --bogus", "doctor --bogus",
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        int rc = tool_run(tool, out, sizeof out, "%s", commands[i]);
        if (rc != 2 || strstr(out, "unknown option --bogus") == NULL) {
            fprintf(stderr, "zloan %s exited with %d and printed:\n%s", commands[i], rc, out);
            return 1;
        }
    }
    /* doctor prints text only: --json, before or after it, is refused. */
    static const char *const doctor_json[] = {"doctor --json", "--json doctor"};
    for (size_t i = 0; i < 2; i++) {
        int rc = tool_run(tool, out, sizeof out, "%s", doctor_json[i]);
        if (rc != 2 || strstr(out, "doctor has no --json") == NULL) {
            fprintf(stderr, "zloan %s exited with %d and printed:\n%s", doctor_json[i], rc, out);
            return 1;
        }
    }
    /* A number option that is no number, or out of its range, is a bad
     * command line too, named; they ran forever or did nothing (exit 0). */
    static const char *const numbers[][2] = {
        {"topic echo /t --count abc", "--count"},    {"topic echo /t --count 0", "--count"},
        {"topic echo /t --timeout abc --once", "--timeout"},
        {"topic echo /t --timeout -1 --once", "--timeout"},
        {"topic pub /t x=1 --count -5", "--count"},  {"topic pub /t x=1 --count abc", "--count"},
        {"topic pub /t x=1 --count 1.5", "--count"}, {"topic pub /t x=1 --rate 0", "--rate"},
        {"topic hz /t --duration -1", "--duration"}, {"topic hz /t --duration abc", "--duration"},
        {"topic hz /t --window 0", "--window"},      {"topic bw /t --duration 0", "--duration"},
    };
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        int rc = tool_run(tool, out, sizeof out, "%s", numbers[i][0]);
        if (rc != 2 || strstr(out, numbers[i][1]) == NULL) {
            fprintf(stderr, "zloan %s exited with %d and printed:\n%s", numbers[i][0], rc, out);
            return 1;
        }
    }
    return 0;
}
