/* html.c: URLs of HTML bodies with element, size, hiding and link text. */
#include "common.h"
#include "vigil_limits.h"

static void html_img_in_display_none_div_is_hidden_by_ancestor(void **state)
{
	fixture *f = *state;
	html(f, "<div style=\"display:none\"><p><img src=\"https://t.example/o.gif\"></p></div>"
		"<img src=\"https://t.example/visible.gif\">");
	const vigil_url *u = url_raw(f, "https://t.example/o.gif");
	assert_int_equal(u->hidden, VIGIL_HIDDEN_ANCESTOR | VIGIL_HIDDEN_DISPLAY);
	assert_string_equal(u->element, "img");
	assert_string_equal(u->attribute, "src");
	assert_int_equal(u->origin, VIGIL_URL_HTML);
	assert_int_equal(u->part, 1);
	assert_int_equal(url_raw(f, "https://t.example/visible.gif")->hidden, 0);
}

static void html_one_pixel_img_declares_size_but_is_not_hidden(void **state)
{
	fixture *f = *state;
	html(f, "<img src=\"https://t.example/a.gif\" width=\"1\" height=\"1px\">"
		"<img src=\"https://t.example/b.gif\" style=\"width:1px;height:2px\" width=50>"
		"<img src=\"https://t.example/c.gif\">");
	const vigil_url *u = url_raw(f, "https://t.example/a.gif");
	assert_int_equal(u->width, 1);
	assert_int_equal(u->height, 1);
	assert_int_equal(u->hidden, 0);
	u = url_raw(f, "https://t.example/b.gif");
	assert_int_equal(u->width, 1);
	assert_int_equal(u->height, 2);
	u = url_raw(f, "https://t.example/c.gif");
	assert_int_equal(u->width, -1);
	assert_int_equal(u->height, -1);
}

static void html_zero_size_and_hiding_properties(void **state)
{
	fixture *f = *state;
	html(f, "<img src=\"https://t.example/1\" width=0 height=0>"
		"<img src=\"https://t.example/2\" style=\"visibility:hidden\">"
		"<img src=\"https://t.example/3\" style=\"opacity:0.0\">"
		"<img src=\"https://t.example/4\" hidden>"
		"<img src=\"https://t.example/5\" style=\"position:absolute;left:-9999px\">"
		"<img src=\"https://t.example/6\" style=\"mso-hide:all\">"
		"<img src=\"https://t.example/7\" hidden style=\"display:inline\">"
		"<img src=\"https://t.example/8\" style=\"opacity:0%\">");
	assert_int_equal(url_raw(f, "https://t.example/1")->hidden, VIGIL_HIDDEN_ZERO_SIZE);
	assert_int_equal(url_raw(f, "https://t.example/1")->width, 0);
	assert_int_equal(url_raw(f, "https://t.example/2")->hidden, VIGIL_HIDDEN_VISIBILITY);
	assert_int_equal(url_raw(f, "https://t.example/3")->hidden, VIGIL_HIDDEN_OPACITY);
	assert_int_equal(url_raw(f, "https://t.example/4")->hidden, VIGIL_HIDDEN_ATTR);
	assert_int_equal(url_raw(f, "https://t.example/5")->hidden, VIGIL_HIDDEN_OFFSCREEN);
	assert_int_equal(url_raw(f, "https://t.example/6")->hidden, VIGIL_HIDDEN_DISPLAY);
	assert_int_equal(url_raw(f, "https://t.example/7")->hidden, 0);
	assert_int_equal(url_raw(f, "https://t.example/8")->hidden, VIGIL_HIDDEN_OPACITY);
}

static void html_max_size_scale_zero_and_small_offsets_hide(void **state)
{
	fixture *f = *state;
	html(f, "<img src=\"https://t.example/m\" style=\"max-width:1px;max-height:1px\">"
		"<img src=\"https://t.example/w\" width=\"600\" style=\"max-width:100%\">"
		"<img src=\"https://t.example/s\" style=\"transform:scale(0)\">"
		"<img src=\"https://t.example/x\" style=\"transform:scaleX(0.5)\">"
		"<img src=\"https://t.example/t\" style=\"position:absolute;top:-500px\">"
		"<img src=\"https://t.example/p\" width=\"600\" height=\"200\" "
		"style=\"position:absolute;top:-20px\">"
		"<img src=\"https://t.example/q\" width=\"1\" height=\"1\" "
		"style=\"position:absolute;left:-2px\">");
	/* max-width caps the declared size: a 1 px box */
	assert_int_equal(url_raw(f, "https://t.example/m")->width, 1);
	assert_int_equal(url_raw(f, "https://t.example/m")->height, 1);
	/* a percentage cap is not a length: the attribute stands */
	assert_int_equal(url_raw(f, "https://t.example/w")->width, 600);
	assert_int_equal(url_raw(f, "https://t.example/s")->hidden, VIGIL_HIDDEN_ZERO_SIZE);
	assert_int_equal(url_raw(f, "https://t.example/x")->hidden, 0);
	/* unknown size moved 500 px out; a 200 px box moved 20 px stays seen;
	 * a 1 px box moved 2 px out is gone */
	assert_int_equal(url_raw(f, "https://t.example/t")->hidden, VIGIL_HIDDEN_OFFSCREEN);
	assert_int_equal(url_raw(f, "https://t.example/p")->hidden, 0);
	assert_int_equal(url_raw(f, "https://t.example/q")->hidden, VIGIL_HIDDEN_OFFSCREEN);
}

static void html_visibility_visible_child_overrides_hidden_parent(void **state)
{
	fixture *f = *state;
	html(f, "<div style=\"visibility:hidden\"><img src=\"https://t.example/v\" "
		"style=\"visibility:visible\"><img src=\"https://t.example/h\"></div>");
	assert_int_equal(url_raw(f, "https://t.example/v")->hidden, 0);
	assert_int_equal(url_raw(f, "https://t.example/h")->hidden,
		VIGIL_HIDDEN_ANCESTOR | VIGIL_HIDDEN_VISIBILITY);
}

static void html_srcset_yields_each_candidate(void **state)
{
	fixture *f = *state;
	html(f, "<picture><source srcset=\"https://c.example/a,b.webp 1x, "
		"https://c.example/c.webp 2x\"><img src=\"https://c.example/s.png\" "
		"srcset=\"https://c.example/400.png 400w,https://c.example/800.png 800w\"></picture>");
	assert_int_equal(f->msg->urls.len, 5);
	assert_string_equal(url_raw(f, "https://c.example/a,b.webp")->element, "source");
	assert_string_equal(url_raw(f, "https://c.example/c.webp")->attribute, "srcset");
	assert_true(has_url(f, "https://c.example/400.png"));
	assert_true(has_url(f, "https://c.example/800.png"));
	assert_string_equal(url_raw(f, "https://c.example/s.png")->attribute, "src");
}

static void html_style_block_class_hiding_applies(void **state)
{
	fixture *f = *state;
	html(f, "<html><head><style>/* x */ .x, #y {display:none} td.z{opacity:0} "
		"@media (max-width:600px){.m{display:none}} div > .no{display:none}</style></head>"
		"<body><div class=\"a x\"><img src=\"https://t.example/1\"></div>"
		"<span id=\"y\"><img src=\"https://t.example/2\"></span>"
		"<table><tr><td class=\"z\" background=\"https://t.example/3\"></td></tr></table>"
		"<div class=\"m\"><img src=\"https://t.example/4\"></div>"
		"<div><p class=\"no\"><img src=\"https://t.example/5\"></p></div>"
		"<div class=\"x\" style=\"display:block\"><img src=\"https://t.example/6\"></div>"
		"</body></html>");
	assert_int_equal(url_raw(f, "https://t.example/1")->hidden,
		VIGIL_HIDDEN_ANCESTOR | VIGIL_HIDDEN_DISPLAY);
	assert_int_equal(url_raw(f, "https://t.example/2")->hidden,
		VIGIL_HIDDEN_ANCESTOR | VIGIL_HIDDEN_DISPLAY);
	const vigil_url *u = url_raw(f, "https://t.example/3");
	assert_int_equal(u->hidden, VIGIL_HIDDEN_OPACITY);
	assert_string_equal(u->element, "td");
	assert_string_equal(u->attribute, "background");
	/* @media rules and complex selectors are not applied */
	assert_int_equal(url_raw(f, "https://t.example/4")->hidden, 0);
	assert_int_equal(url_raw(f, "https://t.example/5")->hidden, 0);
	/* inline style wins over the sheet */
	assert_int_equal(url_raw(f, "https://t.example/6")->hidden, 0);
}

/* Style sheets of 64 bytes and more are read from the HTML as given, not
 * through gumbo (html.c's style_cut): every sheet is still applied and
 * searched for url(), whatever its length, case or neighbours. */
static void html_style_sheets_long_short_and_odd_all_apply(void **state)
{
	fixture *f = *state;
	html(f, "<html><head>"
		"<style type=\"text/css\">/* a long sheet, cut out of gumbo's input */ "
		".pad1{margin:0} .pad2{margin:0} .gone{display:none} "
		".bg{background:url(https://t.example/long.png)}</STYLE >"
		/* a literal mark, short: read as itself, not as the sheet above */
		"<style>/**/</style>"
		/* '&' and '<' keep a sheet in gumbo's hands: applied all the same */
		"<style>.amp{visibility:hidden} /* Q&A section, long enough to be cut */ "
		".pad3{margin:0}</style>"
		"<style>.lt{opacity:0} /* a < b: a long sheet that holds a less-than */ "
		".pad4{margin:0}</style>"
		"</head><body>"
		"<div class=\"gone\"><img src=\"https://t.example/1\"></div>"
		"<img class=\"amp\" src=\"https://t.example/2\">"
		"<img class=\"lt\" src=\"https://t.example/3\">"
		/* a sheet in SVG, and one where the tree builder drops the tag */
		"<svg><style>.svg{display:none} /* padding padding padding padding */</style></svg>"
		"<select><style>.sel{display:none} /* padding padding padding padding */</style>"
		"<option>o</option></select>"
		"<img class=\"svg\" src=\"https://t.example/4\">"
		"<img src=\"https://t.example/5\">"
		"</body></html>");
	assert_int_equal(url_raw(f, "https://t.example/1")->hidden,
		VIGIL_HIDDEN_ANCESTOR | VIGIL_HIDDEN_DISPLAY);
	assert_int_equal(url_raw(f, "https://t.example/2")->hidden, VIGIL_HIDDEN_VISIBILITY);
	assert_int_equal(url_raw(f, "https://t.example/3")->hidden, VIGIL_HIDDEN_OPACITY);
	assert_int_equal(url_raw(f, "https://t.example/4")->hidden, VIGIL_HIDDEN_DISPLAY);
	assert_int_equal(url_raw(f, "https://t.example/5")->hidden, 0);
	const vigil_url *u = url_raw(f, "https://t.example/long.png");
	assert_string_equal(u->element, "style");
	assert_string_equal(u->attribute, "style-sheet");
	size_t sheet_urls = 0;
	for (size_t i = 0; i < f->msg->urls.len; i++)
		sheet_urls += strcmp(f->msg->urls.items[i].raw, "https://t.example/long.png") == 0;
	assert_int_equal(sheet_urls, 1);
	assert_int_equal(f->msg->urls.len, 6);
}

/* A sheet read from the HTML as given still sees line breaks as gumbo
 * gives them ("\r\n" and "\r" as "\n"): a backslash before one continues
 * a CSS string. */
static void html_style_sheet_with_crlf_reads_as_gumbo_gives_it(void **state)
{
	fixture *f = *state;
	html(f, "<style>/* a sheet long enough to be read from the HTML as given */\r\n"
		".a{background:url('https://t.example/x\\\r\ny.png')}\r\n"
		".b{background:url('https://t.example/p\\\rq.png')}\r\n"
		".c{content:\"a\\\r\nb\"} .d{background:url(https://t.example/after.png)}\r\n"
		".gone{display:none}\r</style><div class=gone><img src=\"https://t.example/h\"></div>");
	assert_true(has_url(f, "https://t.example/xy.png"));
	assert_true(has_url(f, "https://t.example/pq.png"));
	/* the string ends at its quote, not at the line break it continues over */
	assert_true(has_url(f, "https://t.example/after.png"));
	assert_int_equal(url_raw(f, "https://t.example/h")->hidden,
		VIGIL_HIDDEN_ANCESTOR | VIGIL_HIDDEN_DISPLAY);
}

/* Whitespace between tags is shortened before gumbo reads it (html.c's
 * guard): link text, tables and hidden context come out as they would. */
/* "</style" followed by a NUL does not end a sheet for gumbo: the sheet
 * runs on to the real end tag, and its rules still apply. */
static void html_style_end_tag_before_nul_does_not_end_the_sheet(void **state)
{
	fixture *f = *state;
	static const char doc[] = "<style>.gone{display:none} /* padding padding padding padding padding */"
				  "</style\0 x</style><div class=gone><img src=\"https://t.example/n\"></div>";
	assert_int_equal(html__extract(f->msg, f->env->sc, doc, sizeof(doc) - 1, 1, 0), 0);
	assert_int_equal(url_raw(f, "https://t.example/n")->hidden,
		VIGIL_HIDDEN_ANCESTOR | VIGIL_HIDDEN_DISPLAY);
}

static void html_whitespace_between_tags_changes_nothing_read(void **state)
{
	fixture *f = *state;
	html(f, "<html>\r\n  <body>\n\n\t<table>\n   \n  <tr>  \n <td>\n\t\t"
		"<a href=\"https://evil.example/x\">\n    <span>Your bank</span>\n   \t"
		"<b>www.mybank.com</b>  \n  </a>   </td>\n  </tr>\n  </table>\n"
		"<pre>\n\n    <img src=\"https://t.example/pre\" width=\"1\" height=\"1\"></pre>   \n"
		"<div style=\"display:none\">\n      \n  <p>   <img src=\"https://t.example/h\"></p>\n"
		"</div>  <textarea>  <img src=\"https://t.example/not-a-tag\">  </textarea>\n"
		"</body>\n</html>\n");
	const vigil_url *u = url_raw(f, "https://evil.example/x");
	assert_string_equal(u->link_text, "Your bank www.mybank.com");
	assert_string_equal(u->text_host, "www.mybank.com");
	u = url_raw(f, "https://t.example/pre");
	assert_int_equal(u->width, 1);
	assert_int_equal(u->hidden, 0);
	assert_int_equal(url_raw(f, "https://t.example/h")->hidden,
		VIGIL_HIDDEN_ANCESTOR | VIGIL_HIDDEN_DISPLAY);
	assert_false(has_url(f, "https://t.example/not-a-tag"));
	assert_int_equal(f->msg->urls.len, 3);
}

static void html_max_height_zero_overflow_hidden_clips_children(void **state)
{
	fixture *f = *state;
	html(f, "<div style=\"max-height:0;overflow:hidden\"><span>"
		"<img src=\"https://t.example/c\" width=600 height=300></span></div>"
		"<div style=\"height:0\"><img src=\"https://t.example/overflowing\"></div>");
	const vigil_url *u = url_raw(f, "https://t.example/c");
	assert_int_equal(u->hidden, VIGIL_HIDDEN_ANCESTOR | VIGIL_HIDDEN_CLIPPED);
	assert_int_equal(u->width, 600);
	/* zero height without overflow:hidden does not hide what overflows */
	assert_int_equal(url_raw(f, "https://t.example/overflowing")->hidden, 0);
}

static void html_css_backgrounds_inline_and_sheet(void **state)
{
	fixture *f = *state;
	html(f, "<style>.hero{background:url('https://t.example/sheet.png')}</style>"
		"<body background=\"https://t.example/body.gif\">"
		"<div style=\"width:1px;height:1px;background-image:url(https://t.example/bg.gif)\">"
		"</div></body>");
	const vigil_url *u = url_raw(f, "https://t.example/bg.gif");
	assert_string_equal(u->element, "div");
	assert_string_equal(u->attribute, "style");
	assert_int_equal(u->width, 1);
	assert_int_equal(u->height, 1);
	u = url_raw(f, "https://t.example/sheet.png");
	assert_string_equal(u->element, "style");
	assert_string_equal(u->attribute, "style-sheet");
	assert_string_equal(url_raw(f, "https://t.example/body.gif")->element, "body");
}

static void html_link_text_names_other_host(void **state)
{
	fixture *f = *state;
	html(f, "<a href=\"https://evil.example/login\">  https://www.MyBank.com/\n  login </a>"
		"<a href=\"https://news.example/a\">Read <b>more</b></a>"
		"<a href=\"https://shop.example/\"><img src=\"https://shop.example/logo.png\" "
		"alt=\"www.shop.example\"></a>"
		"<map><area href=\"https://m.example/\" alt=\"paypal.com\"></map>");
	const vigil_url *u = url_raw(f, "https://evil.example/login");
	assert_string_equal(u->link_text, "https://www.MyBank.com/ login");
	assert_string_equal(u->text_host, "www.mybank.com");
	assert_string_equal(u->host, "evil.example");
	u = url_raw(f, "https://news.example/a");
	assert_string_equal(u->link_text, "Read more");
	assert_null(u->text_host);
	u = url_raw(f, "https://shop.example/");
	assert_string_equal(u->link_text, "www.shop.example");
	u = url_raw(f, "https://m.example/");
	assert_string_equal(u->element, "area");
	assert_string_equal(u->text_host, "paypal.com");
	/* the image inside the link is a URL of its own, with no link text */
	assert_null(url_raw(f, "https://shop.example/logo.png")->link_text);
}

static void html_link_text_is_cut_on_utf8_boundary(void **state)
{
	fixture *f = *state;
	char buf[4096] = "<a href=\"https://x.example/\">";
	for (int i = 0; i < 300; i++)
		strcat(buf, "é");
	strcat(buf, "</a>");
	html(f, buf);
	const char *t = url_raw(f, "https://x.example/")->link_text;
	assert_true(strlen(t) <= VIGIL_MAX_LINK_TEXT);
	assert_int_equal(strlen(t) % 2, 0);
}

static void html_base_href_resolves_relative_urls(void **state)
{
	fixture *f = *state;
	html(f, "<html><head><base href=\"https://cdn.example.com/mail/\"></head><body>"
		"<img src=\"open.gif?u=42\"><a href=\"/x\">x</a><img src=\"//other.example/p\">"
		"</body></html>");
	const vigil_url *u = url_raw(f, "open.gif?u=42");
	assert_string_equal(u->url, "https://cdn.example.com/mail/open.gif?u=42");
	assert_string_equal(u->host, "cdn.example.com");
	assert_string_equal(url_raw(f, "/x")->url, "https://cdn.example.com/x");
	assert_string_equal(url_raw(f, "//other.example/p")->host, "other.example");
	assert_string_equal(url_raw(f, "https://cdn.example.com/mail/")->element, "base");
}

static void html_meta_refresh_url(void **state)
{
	fixture *f = *state;
	html(f, "<meta http-equiv=\"Refresh\" content=\"0; URL='https://r.example/go?id=7'\">");
	const vigil_url *u = url_raw(f, "https://r.example/go?id=7");
	assert_string_equal(u->element, "meta");
	assert_string_equal(u->attribute, "content");
}

static void html_other_url_attributes(void **state)
{
	fixture *f = *state;
	html(f, "<link rel=stylesheet href=\"https://a.example/s.css\">"
		"<form action=\"https://a.example/post\"><input type=image src=\"https://a.example/i\" "
		"width=0></form><iframe src=\"https://a.example/f\" width=0 height=0></iframe>"
		"<video src=\"https://a.example/v\" poster=\"https://a.example/p\"></video>"
		"<audio src=\"https://a.example/au\"></audio><embed src=\"https://a.example/e\">"
		"<object data=\"https://a.example/o\"></object>"
		"<svg><image xlink:href=\"https://a.example/svg\" width=\"1\"/></svg>"
		"<a href=\"&#104;ttps://a.example/&amp;x\">e</a>");
	const char *expect[] = {"https://a.example/s.css", "https://a.example/post",
		"https://a.example/i", "https://a.example/f", "https://a.example/v",
		"https://a.example/p", "https://a.example/au", "https://a.example/e",
		"https://a.example/o", "https://a.example/svg", "https://a.example/&x", NULL};
	for (int i = 0; expect[i]; i++)
		assert_true(has_url(f, expect[i]));
	assert_int_equal(url_raw(f, "https://a.example/i")->hidden, VIGIL_HIDDEN_ZERO_SIZE);
	assert_int_equal(url_raw(f, "https://a.example/f")->hidden, VIGIL_HIDDEN_ZERO_SIZE);
	assert_string_equal(url_raw(f, "https://a.example/svg")->element, "image");
}

/* Outlook renders what an "[if mso]" comment holds and fetches its images:
 * those URLs are found, under the hiding of the comment's place, with the
 * document's <style> rules; VML images too. Plain comments, and the
 * downlevel-revealed form, hold nothing to find. */
static void html_outlook_conditional_comments(void **state)
{
	fixture *f = *state;
	html(f, "<style>.gone{display:none}</style>"
		"<!--[if mso]><img src=\"https://t.example/mso.gif\" width=\"1\" height=\"1\">"
		"<a href=\"https://t.example/mso-link\">read</a><![endif]-->"
		"<div style=\"display:none\"><!--[if gte mso 9]><img "
		"src=\"https://t.example/inside-hidden.gif\"><![endif]--></div>"
		"<!--[if mso | IE]><img class=\"gone\" src=\"https://t.example/ruled.gif\"><![endif]-->"
		"<!--[if gte mso 9]><v:rect xmlns:v=\"urn:schemas-microsoft-com:vml\" "
		"style=\"width:600px\"><v:fill type=\"tile\" src=\"https://t.example/vml.png\"/>"
		"</v:rect><![endif]-->"
		"<!-- <img src=\"https://t.example/plain-comment.gif\"> -->"
		"<!--[if !mso]><!--><img src=\"https://t.example/not-mso.gif\"><!--<![endif]-->");
	const vigil_url *u = url_raw(f, "https://t.example/mso.gif");
	assert_string_equal(u->element, "img");
	assert_int_equal(u->width, 1);
	assert_int_equal(u->hidden, 0);
	assert_string_equal(url_raw(f, "https://t.example/mso-link")->element, "a");
	assert_string_equal(url_raw(f, "https://t.example/mso-link")->link_text, "read");
	assert_int_equal(url_raw(f, "https://t.example/inside-hidden.gif")->hidden,
		VIGIL_HIDDEN_ANCESTOR | VIGIL_HIDDEN_DISPLAY);
	assert_int_equal(url_raw(f, "https://t.example/ruled.gif")->hidden, VIGIL_HIDDEN_DISPLAY);
	u = url_raw(f, "https://t.example/vml.png");
	assert_string_equal(u->element, "v:fill");
	assert_string_equal(u->attribute, "src");
	assert_false(has_url(f, "https://t.example/plain-comment.gif"));
	assert_int_equal(url_raw(f, "https://t.example/not-mso.gif")->hidden, 0);
	assert_false(f->msg->partial);
}

static void html_deep_nesting_is_bounded(void **state)
{
	fixture *f = *state;
	size_t n = 100000;
	const char *tail = "<img src=\"https://t.example/deep.gif\">";
	char *s = malloc(n * 5 + strlen(tail) + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * 5, "<div>", 5);
	strcpy(s + n * 5, tail);
	html(f, s);
	assert_true(has_url(f, "https://t.example/deep.gif"));
	assert_true(f->msg->partial);
	free(s);
}

static void html_deep_hidden_ancestor_beyond_cap_still_hides(void **state)
{
	fixture *f = *state;
	size_t n = 2000;
	const char *head = "<div style=\"display:none\">";
	const char *tail = "<img src=\"https://t.example/deep.gif\">";
	char *s = malloc(strlen(head) + n * 6 + strlen(tail) + 1);
	strcpy(s, head);
	for (size_t i = 0; i < n; i++)
		strcat(s + strlen(head) + i * 6, "<span>");
	strcat(s, tail);
	html(f, s);
	assert_true(url_raw(f, "https://t.example/deep.gif")->hidden & VIGIL_HIDDEN_DISPLAY);
	free(s);
}

static void html_nesting_at_cap_is_not_partial(void **state)
{
	fixture *f = *state;
	/* <html><body> and VIGIL_MAX_HTML_DEPTH - 3 divs: the img sits at the cap */
	size_t n = VIGIL_MAX_HTML_DEPTH - 3;
	char *s = malloc(n * 5 + 64);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * 5, "<div>", 5);
	strcpy(s + n * 5, "<img src=\"https://t.example/x\">");
	html(f, s);
	assert_true(has_url(f, "https://t.example/x"));
	assert_false(f->msg->partial);
	free(s);
}

static void html_over_size_limit_is_cut_and_partial(void **state)
{
	fixture *f = *state;
	size_t n = VIGIL_MAX_HTML_BYTES + 1000;
	char *s = malloc(n + 1);
	const char *head = "<img src=\"https://t.example/first\">";
	memset(s, ' ', n);
	memcpy(s, head, strlen(head));
	const char *late = "<img src=\"https://t.example/late\">";
	memcpy(s + n - strlen(late), late, strlen(late));
	s[n] = '\0';
	html(f, s);
	assert_true(has_url(f, "https://t.example/first"));
	assert_false(has_url(f, "https://t.example/late"));
	assert_true(f->msg->partial);
	free(s);
}

static void html_malformed_input_is_safe(void **state)
{
	fixture *f = *state;
	const char *cases[] = {"", "<", "<img src=", "<a href='x", "<style>.x{display:none",
		"<style>@media{{{{", "<div style=\"width:\">", "<img srcset=\",,, ,\">",
		"<meta http-equiv=refresh content=\"5\">", "<base href=\"relative/\"><img src=x>",
		"<!--", "<svg><image href=\"https://s.example\"/>", NULL};
	for (int i = 0; cases[i]; i++) {
		size_t n = strlen(cases[i]);
		char *s = malloc(n ? n : 1);
		memcpy(s, cases[i], n);
		assert_int_equal(html__extract(f->msg, f->env->sc, s, n, 1, 0), 0);
		free(s);
	}
}

static void html_corpus_tracker_shapes(void **state)
{
	fixture *f = *state;
	html(f, "<p>Hi</p><img src=\"https://t.hubspotemail.net/e1t/o/4c9f\" width=\"1\" "
		"height=\"1\" alt=\"\" style=\"display:block\" border=\"0\">"
		"<img width=0 height=0 src=\"http://img.example/open/ab.gif\">"
		"<img src=\"https://x.example/o.gif\" style=\"display:none\">");
	const vigil_url *u = url_raw(f, "https://t.hubspotemail.net/e1t/o/4c9f");
	assert_int_equal(u->width, 1);
	assert_int_equal(u->hidden, 0);
	assert_string_equal(u->domain, "hubspotemail.net");
	assert_int_equal(url_raw(f, "http://img.example/open/ab.gif")->hidden, VIGIL_HIDDEN_ZERO_SIZE);
	assert_int_equal(url_raw(f, "https://x.example/o.gif")->hidden, VIGIL_HIDDEN_DISPLAY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(html_img_in_display_none_div_is_hidden_by_ancestor),
		T(html_one_pixel_img_declares_size_but_is_not_hidden),
		T(html_zero_size_and_hiding_properties),
		T(html_max_size_scale_zero_and_small_offsets_hide),
		T(html_visibility_visible_child_overrides_hidden_parent),
		T(html_srcset_yields_each_candidate),
		T(html_style_block_class_hiding_applies),
		T(html_style_sheets_long_short_and_odd_all_apply),
		T(html_style_sheet_with_crlf_reads_as_gumbo_gives_it),
		T(html_whitespace_between_tags_changes_nothing_read),
		T(html_style_end_tag_before_nul_does_not_end_the_sheet),
		T(html_max_height_zero_overflow_hidden_clips_children),
		T(html_css_backgrounds_inline_and_sheet),
		T(html_link_text_names_other_host),
		T(html_link_text_is_cut_on_utf8_boundary),
		T(html_base_href_resolves_relative_urls),
		T(html_meta_refresh_url),
		T(html_other_url_attributes),
		T(html_outlook_conditional_comments),
		T(html_deep_nesting_is_bounded),
		T(html_deep_hidden_ancestor_beyond_cap_still_hides),
		T(html_nesting_at_cap_is_not_partial),
		T(html_over_size_limit_is_cut_and_partial),
		T(html_malformed_input_is_safe),
		T(html_corpus_tracker_shapes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
