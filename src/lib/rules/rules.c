/*
 * YARA rules: compiles rule files once into a set shared by all threads, and
 * runs it on the decoded bodies and attachments the MIME walk hands over,
 * turning each matching rule into a finding. It never scans raw transfer-
 * encoded bytes, and it does not judge: the judge weighs the findings.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <yara.h>

#include "detect/detect.h"
#include "rules/rules.h"

struct vigil_rules {
	/* paths given with vigil_ctx_load_rules(), kept until vigil_ctx_ready()
	 * compiles them: YARA wants all sources in one compiler */
	char **paths;
	size_t n_paths;
	/* the compiled set; non-NULL means this object holds a reference on
	 * libyara's globals (yara_acquire) */
	YR_RULES *yr;
};

struct vigil_rules_scanner {
	YR_SCANNER *yr;
	/* The time budget is per message: which of the scanner's messages
	 * (vigil_scanner's `messages`) the last scan was of, and how long its
	 * scans took so far. */
	uint64_t last_message;
	double spent;
	/* what the match callback needs, set before each scan */
	vigil_message *msg;
	const vigil_config *cfg;
	const char *what; /* "body" or "attachment": the findings' artifact */
	int part, nested;
	const char *where; /* "the decoded attachment "a.pdf" (part 3)", made on need */
	int rc;            /* VIGIL_ENOMEM from the callback, else 0 */
};

/* ---- libyara's globals ------------------------------------------------ */

/* yr_initialize() and yr_finalize() count calls themselves but are not
 * thread-safe, and contexts may be made and freed on any thread: every
 * compiled set takes one reference under this lock, and the last set freed
 * calls yr_finalize() so nothing of YARA's remains at exit. A process that
 * never loads rules never initialises YARA. */
static pthread_mutex_t yara_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned yara_refs;

/* Returns 0 or VIGIL_ENOMEM / VIGIL_EINTERNAL. */
static int yara_acquire(void)
{
	int rc = 0;
	pthread_mutex_lock(&yara_lock);
	if (yara_refs == 0) {
		int yrc = yr_initialize();
		if (yrc != ERROR_SUCCESS)
			rc = yrc == ERROR_INSUFFICIENT_MEMORY ? VIGIL_ENOMEM : VIGIL_EINTERNAL;
	}
	if (rc == 0)
		yara_refs++;
	pthread_mutex_unlock(&yara_lock);
	return rc;
}

static void yara_release(void)
{
	pthread_mutex_lock(&yara_lock);
	if (yara_refs > 0 && --yara_refs == 0)
		yr_finalize();
	pthread_mutex_unlock(&yara_lock);
}

/* ---- compiling -------------------------------------------------------- */

/* Appends a line to err, cut when it is full (the first messages matter). */
static void err_append(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void err_append(char *err, size_t err_size, const char *fmt, ...)
{
	if (!err || !err_size)
		return;
	size_t used = strnlen(err, err_size);
	if (used + 1 >= err_size)
		return;
	if (used)
		err[used++] = '\n';
	err[used] = '\0';
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + used, err_size - used, fmt, ap);
	va_end(ap);
}

typedef struct compile_state {
	char *err; /* errors, then (at the end) warnings */
	size_t err_size;
	char warn[1024];
	int errors;
	/* YARA may report one syntax error twice, the second time without a
	 * line: the last message, to drop such repeats */
	char last[512];
} compile_state;

static void on_compiler_message(int level, const char *file, int line, const YR_RULE *rule,
	const char *message, void *user_data)
{
	compile_state *cs = user_data;
	bool warning = level == YARA_ERROR_LEVEL_WARNING;
	(void)rule;
	char key[sizeof(cs->last)];
	snprintf(key, sizeof(key), "%d\n%s\n%s", warning, file ? file : "", message);
	if (strcmp(key, cs->last) == 0)
		return;
	snprintf(cs->last, sizeof(cs->last), "%s", key);
	if (!warning)
		cs->errors++;
	char *dst = warning ? cs->warn : cs->err;
	size_t size = warning ? sizeof(cs->warn) : cs->err_size;
	const char *kind = warning ? "warning: " : "";
	if (file && line > 0)
		err_append(dst, size, "%s:%d: %s%s", file, line, kind, message);
	else if (file)
		err_append(dst, size, "%s: %s%s", file, kind, message);
	else
		err_append(dst, size, "%s%s", kind, message);
}

static bool is_rule_file_name(const char *name)
{
	size_t n = strlen(name);
	if (name[0] == '.')
		return false; /* editor backups, ".#x.yar" locks */
	return (n > 4 && strcmp(name + n - 4, ".yar") == 0) ||
		(n > 5 && strcmp(name + n - 5, ".yara") == 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct file_list {
	char **items;
	size_t len, cap;
} file_list;

static void file_list_free(file_list *fl)
{
	for (size_t i = 0; i < fl->len; i++)
		free(fl->items[i]);
	free(fl->items);
}

/* Takes `path` (malloc'd) into the list. Returns 0 or VIGIL_ENOMEM. */
static int file_list_take(file_list *fl, char *path)
{
	if (!path)
		return VIGIL_ENOMEM;
	if (fl->len == fl->cap) {
		size_t cap = fl->cap ? fl->cap * 2 : 16;
		char **items = realloc(fl->items, cap * sizeof(*items));
		if (!items) {
			free(path);
			return VIGIL_ENOMEM;
		}
		fl->items = items;
		fl->cap = cap;
	}
	fl->items[fl->len++] = path;
	return 0;
}

/* Adds `path`, or the rule files of the directory `path`, to the list.
 * Returns 0, VIGIL_EIO, VIGIL_ECONFIG (an empty directory) or VIGIL_ENOMEM. */
static int expand_path(file_list *fl, const char *path, char *err, size_t err_size)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(err, err_size, "%s: cannot read: %s", path, strerror(errno));
		return VIGIL_EIO;
	}
	if (!S_ISDIR(st.st_mode))
		return file_list_take(fl, strdup(path));

	DIR *d = opendir(path);
	if (!d) {
		snprintf(err, err_size, "%s: cannot read: %s", path, strerror(errno));
		return VIGIL_EIO;
	}
	size_t first = fl->len;
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (!is_rule_file_name(e->d_name))
			continue;
		size_t n = strlen(path) + 1 + strlen(e->d_name) + 1;
		char *full = malloc(n);
		if (full)
			snprintf(full, n, "%s/%s", path, e->d_name);
		/* A sub-directory named "x.yar" is not a rule file; a symlink to
		 * one is. */
		if (full && (stat(full, &st) != 0 || S_ISDIR(st.st_mode))) {
			free(full);
			continue;
		}
		rc = file_list_take(fl, full);
	}
	closedir(d);
	if (rc)
		return rc;
	if (fl->len == first) {
		snprintf(err, err_size, "%s: no *.yar or *.yara rule file in this directory", path);
		return VIGIL_ECONFIG;
	}
	/* readdir() order depends on the file system: sort, so the same
	 * directory compiles the same way (and namespaces get the same suffix)
	 * everywhere. */
	qsort(fl->items + first, fl->len - first, sizeof(*fl->items), cmp_str);
	return 0;
}

/* The namespace of a rule file: its name without directory and extension,
 * made unique among those already taken by a numeric suffix. Returns a
 * malloc'd string or NULL. */
static char *namespace_for(const char *path, char **taken, size_t n_taken)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t len = strlen(base);
	const char *dot = strrchr(base, '.');
	if (dot && dot != base)
		len = (size_t)(dot - base);
	char *ns = malloc(len + 16);
	if (!ns)
		return NULL;
	memcpy(ns, base, len);
	ns[len] = '\0';
	for (unsigned suffix = 2;; suffix++) {
		bool clash = false;
		for (size_t i = 0; i < n_taken && !clash; i++)
			clash = strcmp(taken[i], ns) == 0;
		if (!clash)
			return ns;
		snprintf(ns + len, 16, "-%u", suffix);
	}
}

/* Compiles each file into its own namespace. Returns 0, VIGIL_EIO,
 * VIGIL_ECONFIG or VIGIL_ENOMEM. */
static int compile_files(YR_COMPILER *comp, compile_state *cs, const file_list *fl)
{
	char **taken = calloc(fl->len ? fl->len : 1, sizeof(*taken));
	if (!taken)
		return VIGIL_ENOMEM;
	int rc = 0;
	size_t i;
	for (i = 0; i < fl->len && rc == 0; i++) {
		const char *path = fl->items[i];
		FILE *f = fopen(path, "rb");
		if (!f) {
			err_append(cs->err, cs->err_size, "%s: cannot read: %s", path, strerror(errno));
			rc = VIGIL_EIO;
			break;
		}
		/* yarac output starts with YARA's arena magic. The compiler would
		 * report a syntax error on binary noise; say what it is instead. */
		char magic[4];
		if (fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
			memcmp(magic, "YARA", 4) == 0) {
			fclose(f);
			err_append(cs->err, cs->err_size,
				"%s: compiled YARA rules are not accepted; give the rule source", path);
			rc = VIGIL_ECONFIG;
			break;
		}
		rewind(f);
		if (!(taken[i] = namespace_for(path, taken, i))) {
			fclose(f);
			rc = VIGIL_ENOMEM;
			break;
		}
		int errors = yr_compiler_add_file(comp, f, taken[i], path);
		fclose(f);
		/* After an error the compiler must not be used again (YARA's
		 * rule): stop at the first file that fails. */
		if (errors > 0 || cs->errors > 0)
			rc = VIGIL_ECONFIG;
	}
	for (size_t j = 0; j < fl->len; j++)
		free(taken[j]);
	free(taken);
	return rc;
}

int rules__compile(vigil_rules **out, const char *const *paths, size_t n, char *err,
	size_t err_size)
{
	*out = NULL;
	if (err && err_size)
		err[0] = '\0';
	file_list fl = {0};
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = expand_path(&fl, paths[i], err, err_size);
	if (rc) {
		file_list_free(&fl);
		return rc;
	}
	if ((rc = yara_acquire())) {
		file_list_free(&fl);
		snprintf(err, err_size, "cannot start libyara: %s", vigil_strerror(rc));
		return rc;
	}
	YR_COMPILER *comp = NULL;
	YR_RULES *yr = NULL;
	compile_state cs = {.err = err, .err_size = err_size};
	if (yr_compiler_create(&comp) != ERROR_SUCCESS) {
		rc = VIGIL_ENOMEM;
		goto out;
	}
	yr_compiler_set_callback(comp, on_compiler_message, &cs);
	if ((rc = compile_files(comp, &cs, &fl)))
		goto out;
	int yrc = yr_compiler_get_rules(comp, &yr);
	if (yrc != ERROR_SUCCESS) {
		rc = yrc == ERROR_INSUFFICIENT_MEMORY ? VIGIL_ENOMEM : VIGIL_EINTERNAL;
		goto out;
	}
	vigil_rules *r = calloc(1, sizeof(*r));
	if (!r) {
		rc = VIGIL_ENOMEM;
		goto out;
	}
	r->yr = yr; /* takes the libyara reference with it */
	yr = NULL;
	*out = r;
out:
	if (comp)
		yr_compiler_destroy(comp);
	if (yr)
		yr_rules_destroy(yr);
	if (rc) {
		yara_release();
		if (rc == VIGIL_ENOMEM && err && err_size && !err[0])
			snprintf(err, err_size, "rules: out of memory");
		else if (rc == VIGIL_EINTERNAL && err && err_size && !err[0])
			snprintf(err, err_size, "rules: libyara failed");
	}
	/* Errors first: the line to fix is the one read first. */
	if (cs.warn[0] && err && err_size)
		err_append(err, err_size, "%s", cs.warn);
	file_list_free(&fl);
	return rc;
}

void rules__free(vigil_rules *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_paths; i++)
		free(r->paths[i]);
	free(r->paths);
	if (r->yr) {
		yr_rules_destroy(r->yr);
		yara_release();
	}
	free(r);
}

/* ---- the context ------------------------------------------------------ */

int vigil_ctx_load_rules(vigil_ctx *ctx, const char *path)
{
	ctx->err[0] = '\0';
	if (!path || !*path) {
		snprintf(ctx->err, sizeof(ctx->err), "rules: no path given");
		return VIGIL_EINVAL;
	}
	if (ctx->rules && ctx->rules->yr) {
		snprintf(ctx->err, sizeof(ctx->err), "%s: the rules are already compiled", path);
		return VIGIL_EINVAL;
	}
	/* Only whether the path is there is checked now, so a typo is reported
	 * with the flag that gave it; the files are compiled all at once by
	 * vigil_ctx_ready(). */
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(ctx->err, sizeof(ctx->err), "%s: cannot read: %s", path, strerror(errno));
		return VIGIL_EIO;
	}
	vigil_rules *r = ctx->rules ? ctx->rules : calloc(1, sizeof(*r));
	char *copy = r ? strdup(path) : NULL;
	char **paths = copy ? realloc(r->paths, (r->n_paths + 1) * sizeof(*paths)) : NULL;
	if (!paths) {
		free(copy);
		if (r != ctx->rules)
			free(r);
		snprintf(ctx->err, sizeof(ctx->err), "%s: out of memory", path);
		return VIGIL_ENOMEM;
	}
	paths[r->n_paths++] = copy;
	r->paths = paths;
	ctx->rules = r;
	return 0;
}

int rules__ready(vigil_ctx *ctx)
{
	if (ctx->rules && ctx->rules->yr)
		return 0;
	size_t n_cfg = ctx->cfg->n_rule_paths;
	size_t n_ctx = ctx->rules ? ctx->rules->n_paths : 0;
	if (n_cfg + n_ctx == 0)
		return 0;
	/* The config file's rules first, then those given one by one, as
	 * lists from flags are loaded after the config file's. */
	const char **all = calloc(n_cfg + n_ctx, sizeof(*all));
	if (!all) {
		snprintf(ctx->err, sizeof(ctx->err), "rules: out of memory");
		return VIGIL_ENOMEM;
	}
	for (size_t i = 0; i < n_cfg; i++)
		all[i] = ctx->cfg->rule_paths[i];
	for (size_t i = 0; i < n_ctx; i++)
		all[n_cfg + i] = ctx->rules->paths[i];
	vigil_rules *compiled = NULL;
	int rc = rules__compile(&compiled, all, n_cfg + n_ctx, ctx->err, sizeof(ctx->err));
	free(all);
	if (rc)
		return rc;
	rules__free(ctx->rules);
	ctx->rules = compiled;
	return 0;
}

/* ---- scanning --------------------------------------------------------- */

/* A finding id part from a YARA name: lower-case letters and digits, any run
 * of other bytes one '-', none at either end ("Tracker_Pixel" ->
 * "tracker-pixel"), so that ids can be weighted in the config file. */
static void id_part(char *dst, size_t size, const char *src)
{
	size_t n = 0;
	bool dash = false;
	for (const char *p = src; *p && n + 2 < size; p++) {
		char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && n)
				dst[n++] = '-';
			dst[n++] = c;
			dash = false;
		} else {
			dash = true;
		}
	}
	if (n == 0)
		n = (size_t)snprintf(dst, size, "unnamed");
	dst[n] = '\0';
}

/* Says where a buffer came from, for the reason: the attachment's name or
 * the body's type, found by part number in what the walk recorded. */
static const char *describe(vigil_message *msg, const char *what, int part, int nested)
{
	const char *in = nested ? " in an attached message" : "";
	if (strcmp(what, "attachment") == 0) {
		for (size_t i = msg->attachments.len; i-- > 0;) {
			const vigil_attachment *at = &msg->attachments.items[i];
			if (at->part == part && at->filename)
				return vigil_arena_printf(msg->arena,
					"the decoded attachment \"%s\" (part %d)%s", at->filename, part, in);
		}
		return vigil_arena_printf(msg->arena, "a decoded attachment without a name (part %d)%s",
			part, in);
	}
	for (size_t i = msg->bodies.len; i-- > 0;) {
		const vigil_body *b = &msg->bodies.items[i];
		if (b->part == part)
			return vigil_arena_printf(msg->arena, "the decoded %s body (part %d)%s",
				strcmp(b->content_type, "text/html") == 0 ? "HTML" : "text", part, in);
	}
	return vigil_arena_printf(msg->arena, "the decoded body (part %d)%s", part, in);
}

/* rs->where, made on the first match or failure of a scan (most scans
 * match nothing, and need no sentence). NULL when out of memory. */
static const char *scan_where(vigil_rules_scanner *rs)
{
	if (!rs->where)
		rs->where = describe(rs->msg, rs->what, rs->part, rs->nested);
	return rs->where;
}

static int on_scan_message(YR_SCAN_CONTEXT *ctx, int message, void *message_data,
	void *user_data)
{
	vigil_rules_scanner *rs = user_data;
	(void)ctx;
	if (message != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	const YR_RULE *rule = message_data;
	const char *ns = rule->ns && rule->ns->name ? rule->ns->name : "default";
	const char *tag;
	char tags[256] = "", tag_list[256] = "";
	size_t tl = 0, ll = 0;
	yr_rule_tags_foreach(rule, tag)
	{
		int a = snprintf(tags + tl, sizeof(tags) - tl, "%s%s", tl ? "," : "", tag);
		int b = snprintf(tag_list + ll, sizeof(tag_list) - ll, "%s%s", ll ? ", " : "", tag);
		if (a < 0 || b < 0 || (size_t)a >= sizeof(tags) - tl ||
			(size_t)b >= sizeof(tag_list) - ll)
			break; /* cut: a rule with hundreds of tags */
		tl += (size_t)a;
		ll += (size_t)b;
	}
	char ns_id[64], rule_id[128];
	id_part(ns_id, sizeof(ns_id), ns);
	id_part(rule_id, sizeof(rule_id), rule->identifier);
	vigil_arena *a = rs->msg->arena;
	/* finding__add keeps the id pointer: it lives in the message's arena. */
	const char *id = vigil_arena_printf(a, "rules.%s.%s", ns_id, rule_id);
	const char *value = tl ? vigil_arena_printf(a, "%s:%s [%s]", ns, rule->identifier, tags)
			       : vigil_arena_printf(a, "%s:%s", ns, rule->identifier);
	const char *where = scan_where(rs);
	if (!id || !value || !where) {
		rs->rc = VIGIL_ENOMEM;
		return CALLBACK_ERROR;
	}
	int rc;
	if (tl)
		rc = finding__add(rs->msg, rs->cfg, "rules", id, VIGIL_CLASS_MALICIOUS, 100,
			rs->what, value, "YARA rule %s:%s (tags: %s) matched %s", ns,
			rule->identifier, tag_list, where);
	else
		rc = finding__add(rs->msg, rs->cfg, "rules", id, VIGIL_CLASS_MALICIOUS, 100,
			rs->what, value, "YARA rule %s:%s matched %s", ns, rule->identifier,
			where);
	if (rc) {
		rs->rc = rc;
		return CALLBACK_ERROR;
	}
	return CALLBACK_CONTINUE;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The scanner's YR_SCANNER, made on first use. Returns 0 or VIGIL_ENOMEM. */
static int scanner_get(vigil_rules_scanner **out, vigil_scanner *sc)
{
	if (sc->rules_scanner) {
		*out = sc->rules_scanner;
		return 0;
	}
	vigil_rules_scanner *rs = calloc(1, sizeof(*rs));
	if (!rs || yr_scanner_create(sc->ctx->rules->yr, &rs->yr) != ERROR_SUCCESS) {
		free(rs);
		return VIGIL_ENOMEM;
	}
	/* Fast mode: a string's first match is enough to decide a rule, and
	 * findings do not list offsets. */
	yr_scanner_set_flags(rs->yr, SCAN_FLAGS_FAST_MODE);
	yr_scanner_set_callback(rs->yr, on_scan_message, rs);
	*out = sc->rules_scanner = rs;
	return 0;
}

int rules__scan(vigil_message *msg, vigil_scanner *sc, const char *what, int part, int nested,
	const unsigned char *data, size_t len)
{
	if (!sc->ctx->rules || !sc->ctx->rules->yr)
		return 0;
	vigil_rules_scanner *rs;
	int rc = scanner_get(&rs, sc);
	if (rc)
		return rc;
	if (rs->last_message != sc->messages) {
		rs->last_message = sc->messages;
		rs->spent = 0;
	}
	double left = RULES_MESSAGE_TIMEOUT_SECONDS - rs->spent;
	if (left <= 0)
		return message__partial(msg, "YARA rules stopped: %d s per message spent",
			RULES_MESSAGE_TIMEOUT_SECONDS);

	rs->msg = msg;
	rs->cfg = sc->ctx->cfg;
	rs->what = strcmp(what, "attachment") == 0 ? "attachment" : "body";
	rs->part = part;
	rs->nested = nested;
	rs->where = NULL;
	rs->rc = 0;
	/* YARA counts whole seconds; what is left of the budget, rounded up. */
	int secs = (int)left;
	if ((double)secs < left)
		secs++;
	yr_scanner_set_timeout(rs->yr, secs);
	double start = now_seconds();
	int yrc = yr_scanner_scan_mem(rs->yr, data, len);
	rs->spent += now_seconds() - start;
	if (rs->rc || yrc == ERROR_SUCCESS)
		return rs->rc;
	if (yrc == ERROR_INSUFFICIENT_MEMORY)
		return VIGIL_ENOMEM;
	const char *where = scan_where(rs);
	if (!where)
		return VIGIL_ENOMEM;
	if (yrc == ERROR_SCAN_TIMEOUT) {
		/* The rest of the message is not scanned: whatever made this
		 * buffer slow is likely in the next one too. */
		rs->spent = RULES_MESSAGE_TIMEOUT_SECONDS;
		return message__partial(msg, "YARA rules timed out (%d s per message) on %s",
			RULES_MESSAGE_TIMEOUT_SECONDS, where);
	}
	return message__partial(msg, "YARA rules failed (libyara error %d) on %s", yrc, where);
}

void rules__scanner_free(vigil_rules_scanner *rs)
{
	if (!rs)
		return;
	if (rs->yr)
		yr_scanner_destroy(rs->yr);
	free(rs);
}
