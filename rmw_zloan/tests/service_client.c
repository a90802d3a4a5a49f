/* rmw_zloan test — a service (std_srvs/SetBool) in one process and a client
 * in another: the client sees the server available, sends five requests,
 * and each reply answers its own request (matched by the client's id and
 * the sequence number rcl_send_request gave). */
#define _GNU_SOURCE
#include "ros2_test.h"

#include <string.h>
#include <unistd.h>

#include <rcl/client.h>
#include <rcl/graph.h>
#include <rcl/service.h>
#include <rcl/wait.h>
#include <rosidl_runtime_c/string_functions.h>
#include <std_srvs/srv/set_bool.h>

#define REQUESTS 5

static const rosidl_service_type_support_t *ts(void)
{
    return ROSIDL_GET_SRV_TYPE_SUPPORT(std_srvs, srv, SetBool);
}

static int server(void *arg)
{
    int *fds = arg; /* [0]: read 'Q' (quit), [1]: write 'S' (serving) */
    ros2 r;
    ros2_open(&r, "set_bool_server");
    rcl_service_t srv = rcl_get_zero_initialized_service();
    rcl_service_options_t o = rcl_service_get_default_options();
    CHECK_RET(rcl_service_init(&srv, &r.node, ts(), "/set_flag", &o));
    say(fds[1], 'S');
    rcl_wait_set_t ws = rcl_get_zero_initialized_wait_set();
    CHECK_RET(rcl_wait_set_init(&ws, 0, 0, 0, 0, 1, 0, &r.context, rcl_get_default_allocator()));
    int served = 0;
    double end = now_s() + 30;
    while (served < REQUESTS && now_s() < end) {
        CHECK_RET(rcl_wait_set_clear(&ws));
        CHECK_RET(rcl_wait_set_add_service(&ws, &srv, NULL));
        rcl_ret_t ret = rcl_wait(&ws, RCL_MS_TO_NS(200));
        if (ret == RCL_RET_TIMEOUT)
            continue;
        CHECK_RET(ret);
        std_srvs__srv__SetBool_Request req;
        CHECK(std_srvs__srv__SetBool_Request__init(&req));
        rmw_request_id_t id;
        ret = rcl_take_request(&srv, &id, &req);
        if (ret == RCL_RET_SERVICE_TAKE_FAILED)
            continue;
        CHECK_RET(ret);
        std_srvs__srv__SetBool_Response res;
        CHECK(std_srvs__srv__SetBool_Response__init(&res));
        res.success = !req.data;
        char text[64];
        snprintf(text, sizeof text, "request %lld was %s", (long long)id.sequence_number,
                 req.data ? "true" : "false");
        CHECK(rosidl_runtime_c__String__assign(&res.message, text));
        CHECK_RET(rcl_send_response(&srv, &id, &res));
        std_srvs__srv__SetBool_Response__fini(&res);
        served++;
    }
    CHECK_EQ(served, REQUESTS);
    CHECK(hear(fds[0], 30) == 'Q');
    CHECK_RET(rcl_wait_set_fini(&ws));
    CHECK_RET(rcl_service_fini(&srv, &r.node));
    ros2_close(&r);
    printf("server: answered %d requests\n", served);
    return 0;
}

int main(void)
{
    int quit[2], serving[2];
    CHECK(pipe(quit) == 0 && pipe(serving) == 0);
    int fds[2] = {quit[0], serving[1]};
    ros2 r;
    pid_t child = spawn(server, fds);
    CHECK(hear(serving[0], 20) == 'S');
    ros2_open(&r, "set_bool_client");
    rcl_client_t cli = rcl_get_zero_initialized_client();
    rcl_client_options_t o = rcl_client_get_default_options();
    CHECK_RET(rcl_client_init(&cli, &r.node, ts(), "/set_flag", &o));
    bool available = false;
    double end = now_s() + 20;
    while (!available && now_s() < end) {
        CHECK_RET(rcl_service_server_is_available(&r.node, &cli, &available));
        usleep(10000);
    }
    CHECK(available);
    int64_t seqs[REQUESTS];
    for (int i = 0; i < REQUESTS; i++) {
        std_srvs__srv__SetBool_Request req;
        CHECK(std_srvs__srv__SetBool_Request__init(&req));
        req.data = i % 2 == 0;
        CHECK_RET(rcl_send_request(&cli, &req, &seqs[i]));
        CHECK_EQ(seqs[i], i + 1);
    }
    rcl_wait_set_t ws = rcl_get_zero_initialized_wait_set();
    CHECK_RET(rcl_wait_set_init(&ws, 0, 0, 0, 1, 0, 0, &r.context, rcl_get_default_allocator()));
    int answered = 0;
    end = now_s() + 30;
    while (answered < REQUESTS && now_s() < end) {
        CHECK_RET(rcl_wait_set_clear(&ws));
        CHECK_RET(rcl_wait_set_add_client(&ws, &cli, NULL));
        rcl_ret_t ret = rcl_wait(&ws, RCL_MS_TO_NS(200));
        if (ret == RCL_RET_TIMEOUT)
            continue;
        CHECK_RET(ret);
        std_srvs__srv__SetBool_Response res;
        CHECK(std_srvs__srv__SetBool_Response__init(&res));
        rmw_request_id_t id;
        ret = rcl_take_response(&cli, &id, &res);
        if (ret == RCL_RET_CLIENT_TAKE_FAILED)
            continue;
        CHECK_RET(ret);
        int64_t seq = id.sequence_number;
        CHECK(seq >= 1 && seq <= REQUESTS);
        bool sent = (seq - 1) % 2 == 0;
        CHECK_EQ(res.success, !sent);
        char want[64];
        snprintf(want, sizeof want, "request %lld was %s", (long long)seq, sent ? "true" : "false");
        CHECK(strcmp(res.message.data, want) == 0);
        std_srvs__srv__SetBool_Response__fini(&res);
        answered++;
    }
    CHECK_EQ(answered, REQUESTS);
    say(quit[1], 'Q');
    CHECK_EQ(reap(child), 0);
    CHECK_RET(rcl_wait_set_fini(&ws));
    CHECK_RET(rcl_client_fini(&cli, &r.node));
    ros2_close(&r);
    printf("service and client: %d requests answered: ok\n", answered);
    return 0;
}
