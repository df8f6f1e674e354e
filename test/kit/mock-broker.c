/*
 * mock-broker: a Kafka-protocol test cluster for Sluice's integration tests,
 * built on librdkafka's built-in mock cluster (librdkafka/rdkafka_mock.h).
 *
 * Usage:
 *   mock-broker [--brokers N] [--topic name:partitions]...
 *
 * Starts N brokers (ids 1..N) on loopback, each on a free port chosen by the
 * OS, pre-creates the given topics (the mock does not serve CreateTopics),
 * prints one line "BOOTSTRAP host:port,..." on stdout, then reads commands
 * from stdin, one per line, answering one line each:
 *   down <brokerId>   disconnect the broker and refuse new connections -> OK
 *   up <brokerId>     accept connections again                          -> OK
 *   ping                                                                 -> OK
 * Errors are answered "ERR <reason>". Exits 0 on stdin EOF, SIGTERM or SIGINT.
 *
 * Build with test/kit/build-mock-broker.sh.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#define MAX_TOPICS 64

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
        (void)sig;
        stop_requested = 1;
}

static void usage(const char *argv0) {
        fprintf(stderr,
                "usage: %s [--brokers N] [--topic name:partitions]...\n",
                argv0);
}

/* Handles one command line; writes the answer to stdout. */
static void handle_command(rd_kafka_mock_cluster_t *mcluster, char *line) {
        char verb[16];
        int id;
        rd_kafka_resp_err_t err;

        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
                return;
        if (strcmp(line, "ping") == 0) {
                printf("OK\n");
        } else if (sscanf(line, "%15s %d", verb, &id) == 2 &&
                   (strcmp(verb, "down") == 0 || strcmp(verb, "up") == 0)) {
                err = strcmp(verb, "down") == 0
                          ? rd_kafka_mock_broker_set_down(mcluster, id)
                          : rd_kafka_mock_broker_set_up(mcluster, id);
                if (err)
                        printf("ERR %s\n", rd_kafka_err2str(err));
                else
                        printf("OK\n");
        } else {
                printf("ERR unknown command: %s\n", line);
        }
        fflush(stdout);
}

int main(int argc, char **argv) {
        int brokers = 1;
        char *topic_names[MAX_TOPICS];
        int topic_parts[MAX_TOPICS];
        int topic_cnt = 0;
        char errstr[512];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        rd_kafka_mock_cluster_t *mcluster;
        struct sigaction sa;
        char line[256];
        size_t len = 0;
        int i;

        for (i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
                        brokers = atoi(argv[++i]);
                        if (brokers < 1) {
                                fprintf(stderr, "--brokers must be >= 1\n");
                                return 2;
                        }
                } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
                        const char *spec  = argv[++i];
                        const char *colon = strrchr(spec, ':');
                        if (!colon || colon == spec || atoi(colon + 1) < 1) {
                                fprintf(stderr,
                                        "bad --topic '%s' (want "
                                        "name:partitions)\n",
                                        spec);
                                return 2;
                        }
                        if (topic_cnt == MAX_TOPICS) {
                                fprintf(stderr, "too many topics (max %d)\n",
                                        MAX_TOPICS);
                                return 2;
                        }
                        /* Copy, so that ps still shows the argv we got. */
                        topic_names[topic_cnt] =
                            strndup(spec, (size_t)(colon - spec));
                        topic_parts[topic_cnt] = atoi(colon + 1);
                        topic_cnt++;
                } else {
                        usage(argv[0]);
                        return 2;
                }
        }

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);

        /* The mock cluster needs an rd_kafka_t for bookkeeping; a producer
         * that never produces is enough. Quiet its logs. */
        conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "log_level", "3", errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "conf: %s\n", errstr);
                return 1;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "rd_kafka_new: %s\n", errstr);
                return 1;
        }

        mcluster = rd_kafka_mock_cluster_new(rk, brokers);
        if (!mcluster) {
                fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
                rd_kafka_destroy(rk);
                return 1;
        }

        for (i = 0; i < topic_cnt; i++) {
                int rf = brokers < 3 ? brokers : 3;
                rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
                    mcluster, topic_names[i], topic_parts[i], rf);
                if (err) {
                        fprintf(stderr, "topic_create %s: %s\n",
                                topic_names[i], rd_kafka_err2str(err));
                        rd_kafka_mock_cluster_destroy(mcluster);
                        rd_kafka_destroy(rk);
                        return 1;
                }
        }

        printf("BOOTSTRAP %s\n", rd_kafka_mock_cluster_bootstraps(mcluster));
        fflush(stdout);

        /* Command loop: poll so that signals are noticed promptly. */
        while (!stop_requested) {
                struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
                ssize_t r;
                int pr = poll(&pfd, 1, 500);
                if (pr < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (pr == 0)
                        continue;
                if (len >= sizeof(line) - 1)
                        len = 0; /* overlong line: drop it */
                r = read(STDIN_FILENO, line + len, sizeof(line) - 1 - len);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        break;
                }
                if (r == 0)
                        break; /* EOF: parent went away or closed stdin */
                len += (size_t)r;
                line[len] = '\0';
                for (;;) {
                        char *nl = memchr(line, '\n', len);
                        size_t used;
                        if (!nl)
                                break;
                        *nl  = '\0';
                        used = (size_t)(nl - line) + 1;
                        handle_command(mcluster, line);
                        memmove(line, line + used, len - used);
                        len -= used;
                        line[len] = '\0';
                }
        }

        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        for (i = 0; i < topic_cnt; i++)
                free(topic_names[i]);
        return 0;
}
