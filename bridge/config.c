/* zloan-bridge: command line and generated Cyclone configuration. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static const char usage[] =
    "usage: zloan-bridge [--domain N] [--interface IF] [--peers HOST[,HOST...]]\n"
    "                    [--scan-ms MS] [--print-config] [--verbose]\n"
    "Carries this host's zloan topics to DDS participants on other hosts (other\n"
    "bridges, ROS 2 nodes) and back, with ROS 2's conventions (topic rt/NAME).\n"
    "  --domain N        zloan and DDS domain (default ZLOAN_DOMAIN_ID, else 0)\n"
    "  --interface IF    network interface for DDS (env ZLOAN_BRIDGE_INTERFACE)\n"
    "  --peers LIST      unicast discovery peers (env ZLOAN_BRIDGE_PEERS)\n"
    "  --scan-ms MS      how often local topics are scanned (default 100)\n"
    "  --print-config    print the generated Cyclone XML and exit\n"
    "Anything else: Cyclone DDS's own XML through CYCLONEDDS_URI, applied after\n"
    "the generated configuration.\n";

/* Host names, addresses and interface names only: nothing that could
 * escape the XML attribute. */
static bool safe_text(const char *s)
{
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr(".-_:", *s) != NULL))
            return false;
    return true;
}

static bool number(const char *text, long min, long max, long *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int bridge_config_parse(int argc, char **argv, bridge_config *config)
{
    memset(config, 0, sizeof *config);
    config->scan_ms = 100;
    long v;
    const char *env = getenv("ZLOAN_DOMAIN_ID");
    if (env != NULL && number(env, 0, 232, &v))
        config->domain_id = (uint32_t)v;
    config->interface = getenv("ZLOAN_BRIDGE_INTERFACE");
    config->peers = getenv("ZLOAN_BRIDGE_PEERS");
    bool print = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
            config->verbose = true;
        } else if (strcmp(a, "--print-config") == 0) {
            print = true;
        } else if (next != NULL && strcmp(a, "--domain") == 0 && number(next, 0, 232, &v)) {
            config->domain_id = (uint32_t)v;
            i++;
        } else if (next != NULL && strcmp(a, "--scan-ms") == 0 && number(next, 1, 60000, &v)) {
            config->scan_ms = (int)v;
            i++;
        } else if (next != NULL && strcmp(a, "--interface") == 0) {
            config->interface = next;
            i++;
        } else if (next != NULL && strcmp(a, "--peers") == 0) {
            config->peers = next;
            i++;
        } else {
            fprintf(stderr, "zloan-bridge: bad argument '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (print) {
        char xml[4096];
        if (!bridge_config_xml(config, xml, sizeof xml)) {
            fprintf(stderr, "zloan-bridge: invalid interface or peer name\n");
            return 2;
        }
        puts(xml);
        return 0;
    }
    return -1;
}

static bool append(char *out, size_t size, size_t *at, const char *text, size_t n)
{
    if (*at + n + 1 > size)
        return false;
    memcpy(out + *at, text, n);
    *at += n;
    out[*at] = '\0';
    return true;
}

#define APPEND(s) append(out, size, &at, (s), strlen(s))

bool bridge_config_xml(const bridge_config *config, char *out, size_t size)
{
    size_t at = 0;
    out[0] = '\0';
    if (!APPEND("<CycloneDDS><Domain Id=\"any\"><General>"))
        return false;
    if (config->interface != NULL) {
        if (!safe_text(config->interface) || !APPEND("<Interfaces><NetworkInterface name=\"") ||
            !APPEND(config->interface) || !APPEND("\"/></Interfaces>"))
            return false;
    }
    if (!APPEND("</General>"))
        return false;
    if (config->peers != NULL && config->peers[0] != '\0') {
        if (!APPEND("<Discovery><ParticipantIndex>auto</ParticipantIndex>"
                    "<MaxAutoParticipantIndex>50</MaxAutoParticipantIndex><Peers>"))
            return false;
        for (const char *p = config->peers; *p != '\0';) {
            size_t n = strcspn(p, ",");
            char host[256];
            if (n == 0 || n >= sizeof host)
                return false;
            memcpy(host, p, n);
            host[n] = '\0';
            if (!safe_text(host) || !APPEND("<Peer Address=\"") || !APPEND(host) ||
                !APPEND("\"/>"))
                return false;
            p += n;
            if (*p == ',')
                p++;
        }
        if (!APPEND("</Peers></Discovery>"))
            return false;
    }
    return APPEND("</Domain></CycloneDDS>");
}

int bridge_config_apply(const bridge_config *config)
{
    char xml[4096];
    if (!bridge_config_xml(config, xml, sizeof xml)) {
        fprintf(stderr, "zloan-bridge: invalid interface or peer name\n");
        return -1;
    }
    const char *user = getenv("CYCLONEDDS_URI");
    size_t n = strlen(xml) + (user != NULL ? strlen(user) + 1 : 0) + 1;
    char *uri = malloc(n);
    if (uri == NULL)
        return -1;
    snprintf(uri, n, "%s%s%s", xml, user != NULL ? "," : "", user != NULL ? user : "");
    int rc = setenv("CYCLONEDDS_URI", uri, 1);
    free(uri);
    return rc == 0 ? 0 : -1;
}
