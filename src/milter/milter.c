/*
 * vigil milter: the daemon. Options, the context (the same options as scan),
 * the listening socket, dropping root, detaching, the log, and the signals:
 * SIGHUP reloads, SIGTERM stops after the messages in flight. What happens to
 * one message is session.c's; scanning is pool.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libmilter/mfapi.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "milter.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

/* How long SIGTERM waits for messages in flight: longer than any scan
 * within the time budget, shorter than a service manager's kill timeout
 * (systemd: 90 s). */
#define MILTER_STOP_GRACE_MS 60000

static int log_syslog; /* 1: syslog, 0: stderr */

void milter_log(int level, const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (log_syslog) {
		int prio = level == MILTER_LOG_ERR ? LOG_ERR
			: level == MILTER_LOG_WARNING ? LOG_WARNING
						      : LOG_INFO;
		syslog(prio, "%s", line);
		return;
	}
	/* One write per line: lines of concurrent messages never interleave. */
	char out[4200];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	int m = snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ vigil-milter[%d]: %s%s\n",
		tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, (int)getpid(),
		level == MILTER_LOG_ERR ? "error: " : level == MILTER_LOG_WARNING ? "warning: " : "",
		line);
	if (m > 0)
		(void)!write(STDERR_FILENO, out, (size_t)m < sizeof(out) ? (size_t)m : sizeof(out) - 1);
}

static void milter_usage(FILE *fp)
{
	fputs("usage: vigil milter [OPTIONS]\n"
	      "\n"
	      "Runs vigil as a mail filter (milter) for Postfix or Sendmail: every\n"
	      "message is judged as `vigil scan` would, and the action configured for\n"
	      "its verdict in the config file's [milter] group is applied: accept (with\n"
	      "X-Vigil-Verdict, X-Vigil-Score, X-Vigil-Reasons headers), tag (the same\n"
	      "and a Subject prefix), quarantine (an atomic copy into a Maildir, then\n"
	      "discarded or held) or reject (550 5.7.1). On any internal error, limit\n"
	      "or time-out the fallback applies: tempfail (default) or accept.\n"
	      "See docs/milter.md.\n"
	      "\n"
	      "options:\n"
	      "  -s, --socket SPEC  where the MTA connects: inet:PORT@HOST,\n"
	      "                     inet6:PORT@HOST or unix:PATH; default: [milter]\n"
	      "                     socket (inet:8894@127.0.0.1)\n"
	      "  -u, --user USER    started as root: the user to run as once the\n"
	      "                     socket is bound (required when root)\n"
	      "      --foreground   stay attached to the terminal (log to stderr\n"
	      "                     unless [milter] log says syslog)\n"
	      "      --pidfile FILE write the process id there\n"
	      "  -j, --jobs N       scan threads (default: one per CPU)\n"
	      "      --db FILE      also record every message and its findings in this\n"
	      "                     store (SQLite; docs/store.md)\n"
	      "  -c, --config FILE  configuration (docs/config.md), [milter] included;\n"
	      "                     default: the shipped data/vigil.conf\n"
	      "  -m, --members FILE, -p, --protected FILE, -r, --relays FILE,\n"
	      "      --rules FILE|DIR, --intel FEED, --freetext FEED, --validity\n"
	      "                     lists, rules and feeds, as for vigil scan\n"
	      "  -h, --help         this help\n"
	      "\n"
	      "signals: SIGHUP (or SIGUSR1) reloads the config, lists, rules and feeds;\n"
	      "a bad new set is refused and logged, and the old one stays. SIGTERM or\n"
	      "SIGINT stops accepting connections and exits once the messages in\n"
	      "flight are answered.\n"
	      "\n"
	      "exit status: 0 stopped cleanly; 2 bad arguments or configuration;\n"
	      "3 could not start (socket, user, out of memory)\n",
		fp);
}

/* The last problem a reload reported, for its "refused" line. Only the
 * main thread reloads. */
static char reload_why[1024];

static void report_log(void *ud, const char *message)
{
	snprintf(reload_why, sizeof(reload_why), "%s", message);
	milter_log(MILTER_LOG_WARNING, "%s", message);
}

/* Detached, the daemon runs in "/": the paths a reload reads again are
 * made absolute first. Kept for the life of the process. */
static const char *absolute(const char *path)
{
	if (!path || path[0] == '/')
		return path;
	char *real = realpath(path, NULL);
	return real ? real : path;
}

static void absolute_paths(cli_ctx_opts *o)
{
	o->config = absolute(o->config);
	for (size_t i = 0; i < o->n_lists; i++)
		o->lists[i].path = absolute(o->lists[i].path);
	for (size_t i = 0; i < o->n_rules; i++)
		o->rules[i] = absolute(o->rules[i]);
	for (size_t i = 0; i < o->n_feeds; i++)
		o->feeds[i] = absolute(o->feeds[i]);
}

/* Loads a context from the options; on a reload, problems go to the log. */
static int load_ctx(vigil_ctx **out, cli_ctx_opts *o, bool to_log)
{
	o->report = to_log ? report_log : NULL;
	return cli_ctx_open(out, o);
}

static int drop_privileges(const char *user, uid_t *uid, gid_t *gid)
{
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		fprintf(stderr, "vigil milter: --user %s: no such user\n", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return 0;
}

static int become(const char *user, uid_t uid, gid_t gid)
{
	if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
		fprintf(stderr, "vigil milter: cannot become %s: %s\n", user, strerror(errno));
		return -1;
	}
	/* A process that can get root back has not dropped it. */
	if (uid != 0 && setuid(0) == 0) {
		fprintf(stderr, "vigil milter: could regain root after dropping it\n");
		return -1;
	}
	return 0;
}

/* The milter answers the end of a message with several small packets
 * (headers to add, then the verdict). With Nagle's algorithm on, the second
 * waits for the MTA to acknowledge the first, and the MTA, waiting for the
 * verdict, acknowledges only when its delayed-ACK timer fires: 40 ms on
 * Linux for every message. libmilter offers no hook on its sockets, but on
 * Linux a connection inherits TCP_NODELAY from the listening socket: set
 * it on that one, found among our descriptors as the TCP socket that
 * listens. */
static void listener_nodelay(void)
{
	for (int fd = 0; fd < 1024; fd++) {
		int listening = 0, type = 0, one = 1;
		socklen_t len = sizeof(listening);
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening)
			continue;
		len = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
			getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
			(ss.ss_family != AF_INET && ss.ss_family != AF_INET6))
			continue;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
}

/* libmilter names a UNIX socket "unix:" or "local:"; the path after. */
static const char *unix_path(const char *spec)
{
	if (strncmp(spec, "unix:", 5) == 0)
		return spec + 5;
	if (strncmp(spec, "local:", 6) == 0)
		return spec + 6;
	return NULL;
}

static void *milter_main_thread(void *unused)
{
	if (smfi_main() != MI_SUCCESS)
		milter_log(MILTER_LOG_ERR, "libmilter stopped with an error");
	/* Wake the signal loop: smfi_main() returned (stopped, or failed). */
	kill(getpid(), SIGTERM);
	return NULL;
}

int cmd_milter(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"user", required_argument, NULL, 'u'},
		{"foreground", no_argument, NULL, 'F'},
		{"pidfile", required_argument, NULL, 'P'},
		{"jobs", required_argument, NULL, 'j'},
		{"db", required_argument, NULL, 'D'},
		{"config", required_argument, NULL, 'c'},
		{"members", required_argument, NULL, 'm'},
		{"protected", required_argument, NULL, 'p'},
		{"relays", required_argument, NULL, 'r'},
		{"rules", required_argument, NULL, 'Y'},
		{"intel", required_argument, NULL, 'I'},
		{"freetext", required_argument, NULL, 'T'},
		{"validity", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	cli_ctx_opts o = {.command = "milter"};
	const char *socket_spec = NULL, *user = NULL, *pidfile = NULL, *db = NULL;
	bool foreground = false;
	long jobs = 0;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "s:u:j:c:m:p:r:h", longopts, NULL)) != -1) {
		int taken = cli_ctx_option(&o, opt, optarg);
		if (taken < 0)
			return CLI_USAGE;
		if (taken)
			continue;
		switch (opt) {
		case 's': socket_spec = optarg; break;
		case 'u': user = optarg; break;
		case 'F': foreground = true; break;
		case 'P': pidfile = optarg; break;
		case 'D': db = optarg; break;
		case 'j': {
			char *end;
			jobs = strtol(optarg, &end, 10);
			if (*end || jobs < 1 || jobs > 256) {
				fprintf(stderr, "vigil milter: --jobs: a number from 1 to 256\n");
				return CLI_USAGE;
			}
			break;
		}
		case 'h': milter_usage(stdout); return CLI_OK;
		default: milter_usage(stderr); return CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vigil milter: unexpected argument '%s'\n", argv[optind]);
		return CLI_USAGE;
	}
	if (geteuid() == 0 && !user) {
		fprintf(stderr, "vigil milter: started as root: give --user USER to run as once "
				"the socket is bound (--user root to insist)\n");
		return CLI_USAGE;
	}
	uid_t uid = 0;
	gid_t gid = 0;
	if (user && drop_privileges(user, &uid, &gid) != 0)
		return CLI_USAGE;
	if (user && geteuid() != 0 && getuid() != uid) {
		fprintf(stderr, "vigil milter: --user %s needs to be started as root\n", user);
		return CLI_USAGE;
	}

	/* Everything that can be wrong in the configuration is found now, on
	 * the terminal, before detaching. */
	absolute_paths(&o);
	vigil_ctx *ctx = NULL;
	int rc = load_ctx(&ctx, &o, false);
	if (rc)
		return rc;
	const vigil_milter_settings *set = vigil_ctx_milter_settings(ctx);
	log_syslog = set->log == 2 || (set->log == 0 && !foreground);
	if (!socket_spec)
		socket_spec = set->socket;
	if (!unix_path(socket_spec) && strncmp(socket_spec, "inet:", 5) != 0 &&
		strncmp(socket_spec, "inet6:", 6) != 0) {
		fprintf(stderr, "vigil milter: --socket %s: inet:PORT@HOST, inet6:PORT@HOST or "
				"unix:PATH\n", socket_spec);
		vigil_ctx_free(ctx);
		return CLI_USAGE;
	}
	long quid = user && geteuid() == 0 ? (long)uid : -1, qgid = user && geteuid() == 0 ? (long)gid : -1;
	int e = milter_quarantine_prepare(set->quarantine_dir, quid, qgid);
	if (e) {
		fprintf(stderr, "vigil milter: quarantine %s: %s\n", set->quarantine_dir, strerror(-e));
		vigil_ctx_free(ctx);
		return CLI_FATAL;
	}
	vigil_store *store = NULL;
	if (db) {
		/* Opened now, as whoever started us, so that a bad path is
		 * reported on the terminal; handed to --user below. */
		if (vigil_store_open(&store, db) != 0) {
			fprintf(stderr, "vigil milter: --db %s: %s\n", db, vigil_store_error(store));
			vigil_store_close(store);
			vigil_ctx_free(ctx);
			return CLI_USAGE;
		}
	}

	if (milter_session_register() != 0 || smfi_setconn((char *)socket_spec) != MI_SUCCESS) {
		fprintf(stderr, "vigil milter: cannot set up libmilter for %s\n", socket_spec);
		vigil_ctx_free(ctx);
		vigil_store_close(store);
		return CLI_FATAL;
	}
	/* Connections wait in the kernel's queue while all threads are busy. */
	smfi_setbacklog(128);
	if (smfi_opensocket(true) != MI_SUCCESS) {
		fprintf(stderr, "vigil milter: cannot listen on %s: %s\n", socket_spec,
			errno ? strerror(errno) : "in use or not allowed");
		vigil_ctx_free(ctx);
		vigil_store_close(store);
		return CLI_FATAL;
	}
	listener_nodelay();
	const char *upath = unix_path(socket_spec);
	if (upath) {
		/* The MTA (user postfix) must reach it: access is the folder's
		 * permissions' business. */
		if (user && geteuid() == 0)
			(void)!chown(upath, uid, gid);
		chmod(upath, 0666);
	}
	/* Detached before dropping root, so that the pid file (in /run, as a
	 * rule) can still be written. */
	if (!foreground && daemon(0, 0) != 0) {
		fprintf(stderr, "vigil milter: cannot detach: %s\n", strerror(errno));
		vigil_ctx_free(ctx);
		vigil_store_close(store);
		return CLI_FATAL;
	}
	if (log_syslog)
		openlog("vigil-milter", LOG_PID | LOG_NDELAY, LOG_MAIL);
	if (pidfile) {
		FILE *pf = fopen(pidfile, "w");
		if (pf) {
			fprintf(pf, "%d\n", (int)getpid());
			fclose(pf);
		} else {
			milter_log(MILTER_LOG_WARNING, "pidfile %s: %s", pidfile, strerror(errno));
		}
	}
	if (user && geteuid() == 0) {
		/* The store stays open across the switch; its journal files must
		 * be the user's too, for SQLite to reopen or remove them. */
		static const char *const sfx[] = {"", "-wal", "-shm"};
		for (size_t i = 0; store && i < sizeof(sfx) / sizeof(*sfx); i++) {
			char p[4096];
			snprintf(p, sizeof(p), "%s%s", db, sfx[i]);
			(void)!chown(p, uid, gid);
		}
		if (become(user, uid, gid) != 0) {
			milter_log(MILTER_LOG_ERR, "cannot run as %s: %s", user, strerror(errno));
			vigil_ctx_free(ctx);
			vigil_store_close(store);
			return CLI_FATAL;
		}
	}

	/* Signals. libmilter's own signal thread takes SIGHUP as "stop": the
	 * main thread waits for SIGHUP, SIGUSR1, SIGTERM and SIGINT itself, and
	 * every other thread (libmilter's included) inherits them blocked. On
	 * Linux a signal sent to the process goes to the main thread when that
	 * one is waiting for it, so libmilter's thread never sees them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (milter_live_install(ctx) != 0) {
		milter_log(MILTER_LOG_ERR, "out of memory");
		return CLI_FATAL;
	}
	ctx = NULL;
	if (jobs == 0) {
		jobs = sysconf(_SC_NPROCESSORS_ONLN);
		if (jobs < 1)
			jobs = 1;
	}
	if (milter_pool_start((unsigned)jobs, store) != 0) {
		milter_log(MILTER_LOG_ERR, "cannot start scan threads");
		return CLI_FATAL;
	}
	pthread_t mt;
	if (pthread_create(&mt, NULL, milter_main_thread, NULL) != 0) {
		milter_log(MILTER_LOG_ERR, "cannot start the milter thread");
		return CLI_FATAL;
	}
	milter_log(MILTER_LOG_INFO, "listening on %s: %ld scan threads, config %s%s%s", socket_spec,
		jobs, o.config ? o.config : "(shipped default)", user ? ", running as " : "",
		user ? user : "");

	unsigned generation = 1;
	for (;;) {
		int sig = 0;
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP || sig == SIGUSR1) {
			vigil_ctx *fresh = NULL;
			reload_why[0] = '\0';
			int lrc = load_ctx(&fresh, &o, true);
			if (lrc != 0) {
				milter_log(MILTER_LOG_ERR, "reload refused (%s), still using load %u",
					reload_why, generation);
				continue;
			}
			if (milter_live_install(fresh) != 0) {
				milter_log(MILTER_LOG_ERR, "reload: out of memory, still using load %u",
					generation);
				continue;
			}
			generation++;
			milter_live *lv = milter_live_get();
			milter_log(MILTER_LOG_INFO, "reloaded: load %u (%zu indicators)", generation,
				vigil_ctx_intel_count(lv->ctx));
			milter_live_put(lv);
			continue;
		}
		break; /* SIGTERM, SIGINT, or smfi_main() returned */
	}
	/* Not smfi_stop(): Debian's libmilter (built with its worker pool)
	 * stops serving the connections it has as soon as it is told to stop,
	 * so a message in flight would never get its answer. The messages in
	 * flight are answered first; then the process ends, which closes the
	 * socket. A message begun meanwhile is cut, and the MTA's
	 * milter_default_action takes it, as for any milter restart. */
	milter_log(MILTER_LOG_INFO, "stopping: %u message(s) in flight", milter_in_flight());
	bool idle = milter_wait_idle(MILTER_STOP_GRACE_MS);
	milter_pool_stop();
	vigil_store_close(store);
	if (upath)
		unlink(upath);
	if (pidfile)
		unlink(pidfile);
	milter_log(idle ? MILTER_LOG_INFO : MILTER_LOG_WARNING, "stopped%s",
		idle ? "" : ": messages still in flight after the grace period");
#if defined(__SANITIZE_ADDRESS__)
	/* _exit() skips LeakSanitizer's check at exit: run it here, so the
	 * sanitizer build of the milter tests still finds what leaks. */
	__lsan_do_leak_check();
#endif
	/* libmilter's threads still run: no exit handlers under their feet. */
	_exit(idle ? CLI_OK : CLI_FATAL);
}
