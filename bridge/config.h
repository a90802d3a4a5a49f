/* zloan-bridge: command line and environment, and the Cyclone DDS
 * configuration generated from them. */
#ifndef ZLOAN_BRIDGE_CONFIG_H
#define ZLOAN_BRIDGE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

typedef struct bridge_config {
    uint32_t domain_id;      /* zloan domain and DDS domain (ROS_DOMAIN_ID) */
    const char *interface;   /* network interface for DDS, or NULL */
    const char *peers;       /* comma-separated unicast peers, or NULL */
    int scan_ms;             /* period of the local topic scan */
    bool verbose;
} bridge_config;

/* Fills config from argv and the environment. Returns -1 to run, or an exit
 * code (0 after --help, 2 after a usage error, with a message). */
int bridge_config_parse(int argc, char **argv, bridge_config *config);

/* Puts the generated Cyclone configuration in front of CYCLONEDDS_URI (the
 * user's XML, if any, comes after it and so wins). 0, or -1 with a
 * message. */
int bridge_config_apply(const bridge_config *config);

/* The generated configuration (for --print-config and tests): writes at
 * most size bytes; false when it does not fit or an argument is unsafe. */
bool bridge_config_xml(const bridge_config *config, char *out, size_t size);

#endif
