/* Unit tests for the tracker detector (tracker.c): hidden remote images,
 * known tracking hosts, open-tracking URL shapes. Messages go through the
 * whole pipeline; the tracker list is built by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "detect/detect.h"
#include "detect/tracker.h"
#include "testutil.h"

static test_env *env;
static GHashTable *trackers, *saved_trackers;

static int setup(void **state)
{
	(void)state;
	env = test_env_new();
	vigil_config *cfg = env->ctx->cfg;
	/* Ours, not the configuration's: put back before it is freed. */
	saved_trackers = cfg->tracker_hosts;
	trackers = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(trackers, "list-manage.com", "Mailchimp");
	g_hash_table_insert(trackers, "t.yesware.com", "Yesware");
	cfg->tracker_hosts = trackers;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	env->ctx->cfg->tracker_hosts = saved_trackers;
	g_hash_table_destroy(trackers);
	test_env_free(env);
	return 0;
}

static vigil_message *scan_html(const char *html)
{
	char *text = g_strdup_printf("From: Newsroom <desk@news.example.org>\r\n"
				     "To: Marie Martin <marie.martin@parliament.example>\r\n"
				     "Subject: Your weekly digest\r\n"
				     "MIME-Version: 1.0\r\n"
				     "Content-Type: text/html; charset=utf-8\r\n\r\n"
				     "<html><body><p>Hello</p>%s</body></html>\r\n",
		html);
	vigil_message *m = test_scan(env, text);
	g_free(text);
	return m;
}

/* The finding `id` on `value` (any value when NULL), or NULL. */
static const vigil_finding *find(const vigil_message *m, const char *id, const char *value)
{
	for (size_t i = 0; i < m->findings.len; i++) {
		const vigil_finding *f = &m->findings.items[i];
		if (strcmp(f->id, id) == 0 && (!value || (f->value && strcmp(f->value, value) == 0)))
			return f;
	}
	return NULL;
}

static size_t count(const vigil_message *m, const char *id)
{
	size_t n = 0;
	for (size_t i = 0; i < m->findings.len; i++)
		n += strcmp(m->findings.items[i].id, id) == 0;
	return n;
}

static void tracker_hidden_one_pixel_image_is_tracking(void **state)
{
	(void)state;
	vigil_message *m = scan_html(
		"<img src=\"https://img.example.com/a.gif\" width=\"1\" height=\"1\">"
		"<div style=\"display:none\"><img src=\"https://img.example.com/b.gif\"></div>"
		"<img src=\"https://img.example.com/c.gif\" width=\"2\">"
		"<img src=\"https://img.example.com/d.gif\" style=\"opacity:0\">");
	const vigil_finding *f = find(m, "tracker.hidden-image", "https://img.example.com/a.gif");
	assert_non_null(f);
	assert_int_equal(f->cls, VIGIL_CLASS_TRACKING);
	assert_int_equal(f->score, 30);
	assert_string_equal(f->artifact, "url");
	assert_non_null(strstr(f->reason, "1x1 image at img.example.com"));
	f = find(m, "tracker.hidden-image", "https://img.example.com/b.gif");
	assert_non_null(f);
	assert_non_null(strstr(f->reason, "display:none"));
	assert_non_null(strstr(f->reason, "An image at img.example.com"));
	assert_non_null(find(m, "tracker.hidden-image", "https://img.example.com/c.gif"));
	assert_non_null(find(m, "tracker.hidden-image", "https://img.example.com/d.gif"));
	assert_int_equal(m->verdict, VIGIL_VERDICT_TRACKING);
	vigil_message_free(m);
}

static void tracker_visible_logo_is_not_tracking(void **state)
{
	(void)state;
	/* A logo, an image of no declared size, and a 1 px high spacer line
	 * 600 px wide: all seen by the reader. */
	vigil_message *m = scan_html(
		"<img src=\"https://www.example.org/logo.png\" width=\"120\" height=\"40\" alt=\"News\">"
		"<img src=\"https://www.example.org/photo.jpg\">"
		"<img src=\"https://www.example.org/spacer.gif\" width=\"600\" height=\"1\">"
		"<a href=\"https://www.example.org/article/2021/01/story.html\">Read</a>");
	assert_null(find(m, "tracker.hidden-image", NULL));
	assert_null(find(m, "tracker.url-shape", NULL));
	assert_null(find(m, "tracker.known-host", NULL));
	assert_int_equal(m->verdict, VIGIL_VERDICT_CLEAN);
	vigil_message_free(m);
}

static void tracker_css_background_on_hidden_cell(void **state)
{
	(void)state;
	vigil_message *m = scan_html(
		"<table><tr>"
		"<td style=\"display:none\" background=\"https://bg.example.net/cell.png\"></td>"
		"<td style=\"visibility:hidden;background-image:url('https://bg.example.net/css.png')\">"
		"</td>"
		"<td style=\"background-image:url(https://bg.example.net/shown.png)\">text</td>"
		"</tr></table>");
	const vigil_finding *f = find(m, "tracker.hidden-image", "https://bg.example.net/cell.png");
	assert_non_null(f);
	assert_non_null(strstr(f->reason, "CSS background"));
	assert_non_null(find(m, "tracker.hidden-image", "https://bg.example.net/css.png"));
	assert_null(find(m, "tracker.hidden-image", "https://bg.example.net/shown.png"));
	vigil_message_free(m);
}

/* What loads by itself and fills a box is a beacon when hidden or shrunk
 * to a pixel, whatever the element; what takes no room (a style sheet, a
 * script) has no size to judge. */
static void tracker_hidden_frames_and_objects(void **state)
{
	(void)state;
	vigil_message *m = scan_html(
		"<iframe src=\"https://f.example.net/open\" width=\"0\" height=\"0\"></iframe>"
		"<object data=\"https://o.example.net/p.gif\" width=\"1\" height=\"1\"></object>"
		"<embed src=\"https://e.example.net/p.gif\" style=\"display:none\">"
		"<iframe src=\"https://f.example.net/video\" width=\"560\" height=\"315\"></iframe>"
		"<link rel=\"stylesheet\" href=\"https://s.example.net/a.css\">"
		"<!--[if mso]><img src=\"https://m.example.net/o.gif\" width=\"1\" height=\"1\">"
		"<![endif]-->");
	const vigil_finding *f = find(m, "tracker.hidden-image", "https://f.example.net/open");
	assert_non_null(f);
	assert_non_null(strstr(f->reason, "0x0 frame at f.example.net"));
	f = find(m, "tracker.hidden-image", "https://o.example.net/p.gif");
	assert_non_null(f);
	assert_non_null(strstr(f->reason, "1x1 embedded object"));
	f = find(m, "tracker.hidden-image", "https://e.example.net/p.gif");
	assert_non_null(f);
	assert_non_null(strstr(f->reason, "An embedded object at e.example.net"));
	assert_null(find(m, "tracker.hidden-image", "https://f.example.net/video"));
	assert_null(find(m, "tracker.hidden-image", "https://s.example.net/a.css"));
	/* only Outlook shows it, and Outlook is what many targets read with */
	assert_non_null(find(m, "tracker.hidden-image", "https://m.example.net/o.gif"));
	assert_int_equal(count(m, "tracker.hidden-image"), 4);
	assert_int_equal(m->verdict, VIGIL_VERDICT_TRACKING);
	vigil_message_free(m);
}

static void tracker_known_host_from_list(void **state)
{
	(void)state;
	vigil_message *m = scan_html(
		"<img src=\"https://lemonde.us16.list-manage.com/track/open.php?u=13c935b8f3&amp;id=431a\""
		" width=\"120\" height=\"40\">"
		"<a href=\"https://lemonde.us16.list-manage.com/track/click?u=1&amp;id=2\">one</a>"
		"<a href=\"https://lemonde.us16.list-manage.com/track/click?u=1&amp;id=3\">two</a>"
		"<a href=\"https://t.yesware.com/tl/abc\">three</a>"
		"<a href=\"https://yesware.com/pricing\">not listed: a parent of the entry</a>"
		"<a href=\"https://list-manage.com.example.net/x\">not a sub-domain</a>");
	const vigil_finding *f = find(m, "tracker.known-host",
		"https://lemonde.us16.list-manage.com/track/open.php?u=13c935b8f3&id=431a");
	assert_non_null(f);
	assert_non_null(strstr(f->reason, "Mailchimp"));
	assert_int_equal(f->score, 20);
	/* The image, one link per click-tracking host. */
	assert_int_equal(count(m, "tracker.known-host"), 3);
	assert_non_null(find(m, "tracker.known-host", "https://t.yesware.com/tl/abc"));
	/* The open endpoint's shape too. */
	assert_non_null(find(m, "tracker.url-shape", NULL));
	vigil_message_free(m);

	/* No list loaded: no finding, no crash. */
	env->ctx->cfg->tracker_hosts = NULL;
	m = scan_html("<img src=\"https://x.list-manage.com/a.png\" width=\"50\" height=\"50\">");
	assert_null(find(m, "tracker.known-host", NULL));
	vigil_message_free(m);
	env->ctx->cfg->tracker_hosts = trackers;
}

static void tracker_cid_image_is_not_remote(void **state)
{
	(void)state;
	vigil_message *m = scan_html(
		"<img src=\"cid:logo@example.org\" width=\"1\" height=\"1\">"
		"<img src=\"data:image/gif;base64,R0lGODlhAQABAAAAACw=\" width=\"1\" height=\"1\">");
	assert_null(find(m, "tracker.hidden-image", NULL));
	assert_int_equal(m->verdict, VIGIL_VERDICT_CLEAN);
	vigil_message_free(m);
}

static void tracker_url_shapes_of_open_endpoints(void **state)
{
	(void)state;
	vigil_message *m = scan_html(
		"<img src=\"https://u1.ct.sendgrid.example/wf/open?upn=abc\" width=40 height=40>"
		"<img src=\"https://t.example.com/e1t/o/5/abcdef\" width=40 height=40>"
		"<img src=\"https://mg.example.com/o/eJxFjU1\" width=40 height=40>"
		"<img src=\"https://stats.example.com/px.png?id=1\" width=40 height=40>"
		"<img src=\"https://stats.example.com/trk.php?type=open&amp;id=1\" width=40 height=40>"
		"<img src=\"https://cdn.example.com/opensource/logo.png\" width=40 height=40>"
		"<img src=\"https://firebasestorage.example.com/v0/b/app/o/photo.png\" width=40 height=40>"
		"<img src=\"https://music.example.com/track/42/cover.jpg\" width=40 height=40>");
	assert_non_null(find(m, "tracker.url-shape", "https://u1.ct.sendgrid.example/wf/open?upn=abc"));
	assert_non_null(find(m, "tracker.url-shape", "https://t.example.com/e1t/o/5/abcdef"));
	assert_non_null(find(m, "tracker.url-shape", "https://mg.example.com/o/eJxFjU1"));
	assert_non_null(find(m, "tracker.url-shape", "https://stats.example.com/px.png?id=1"));
	assert_non_null(find(m, "tracker.url-shape", "https://stats.example.com/trk.php?type=open&id=1"));
	assert_int_equal(count(m, "tracker.url-shape"), 5);
	vigil_message_free(m);
}

static void tracker_findings_per_id_are_capped(void **state)
{
	(void)state;
	/* Hundreds of hidden images must not crowd out later detectors. */
	GString *html = g_string_new("");
	for (int i = 0; i < 300; i++)
		g_string_append_printf(html, "<img src=\"https://img.example.com/%d.gif\" width=1 height=1>", i);
	vigil_message *m = scan_html(html->str);
	assert_int_equal(count(m, "tracker.hidden-image"), DETECT_MAX_PER_ID);
	assert_true(m->findings.len < 256 - DETECT_MAX_PER_ID);
	vigil_message_free(m);
	g_string_free(html, TRUE);
}

static void tracker_image_kinds(void **state)
{
	(void)state;
	vigil_url u = {.origin = VIGIL_URL_HTML, .element = "img", .attribute = "src",
		.scheme = "https", .width = -1, .height = -1};
	assert_true(tracker__is_image(&u));
	assert_true(tracker__is_remote(&u));
	assert_false(tracker__is_invisible(&u));
	u.height = 1; /* one dimension declared, 1 px: its own ratio keeps it tiny */
	assert_true(tracker__is_invisible(&u));
	u.width = 600; /* a spacer line */
	assert_false(tracker__is_invisible(&u));
	u.element = "input";
	assert_true(tracker__is_image(&u));
	u.element = "v:fill"; /* VML, in Outlook's conditional comments */
	assert_true(tracker__is_image(&u));
	u.element = "link"; /* a style sheet: loaded with the message, not an image */
	u.attribute = "href";
	assert_false(tracker__is_image(&u));
	assert_true(tracker__is_fetched(&u));
	assert_false(tracker__is_link(&u));
	assert_false(tracker__is_boxed(&u));
	u.element = "iframe";
	u.attribute = "src";
	assert_false(tracker__is_image(&u));
	assert_true(tracker__is_boxed(&u));
	u.element = "script";
	assert_true(tracker__is_fetched(&u));
	assert_false(tracker__is_boxed(&u));
	u.element = "a";
	u.attribute = "href";
	assert_false(tracker__is_image(&u));
	assert_false(tracker__is_fetched(&u));
	assert_true(tracker__is_link(&u));
	u.scheme = "cid";
	assert_false(tracker__is_remote(&u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tracker_hidden_one_pixel_image_is_tracking),
		cmocka_unit_test(tracker_visible_logo_is_not_tracking),
		cmocka_unit_test(tracker_css_background_on_hidden_cell),
		cmocka_unit_test(tracker_hidden_frames_and_objects),
		cmocka_unit_test(tracker_known_host_from_list),
		cmocka_unit_test(tracker_cid_image_is_not_remote),
		cmocka_unit_test(tracker_url_shapes_of_open_endpoints),
		cmocka_unit_test(tracker_findings_per_id_are_capped),
		cmocka_unit_test(tracker_image_kinds),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
