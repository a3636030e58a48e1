/*
 * The phish detector: signals of credential phishing and malware delivery
 * that need no list: executable attachments (by content or by name), forms
 * that post from a message, links to bare IP addresses, and display names
 * that show another address than the sender's. It does not open, unpack or
 * run attachments, and never fetches a URL.
 */
#include <string.h>
#include <strings.h>

#include "detect/detect.h"
#include "detect/tracker.h"

/* Types libmagic gives to programs, whatever the declared type says. */
static const char *const executable_types[] = {
	"application/x-dosexec",
	"application/x-executable",
	"application/x-msdownload",
	"application/x-msdos-program",
	"application/vnd.microsoft.portable-executable",
	"application/x-mach-binary",
	"application/x-sharedlib",
	"application/x-pie-executable",
	"application/x-ms-shortcut",
	"application/x-msi",
};

/* Extensions Windows runs or mounts on a double-click: what mail gateways
 * block by default (Microsoft's and Google's lists agree on these). */
static const char *const dangerous_extensions[] = {
	"exe", "scr", "pif", "com", "bat", "cmd", "cpl", "msi", "msp", "dll", "js", "jse",
	"vbs", "vbe", "wsf", "wsh", "hta", "lnk", "ps1", "jar", "reg", "iso", "img", "vhd",
	"vhdx", "appx", "msix", "one", "chm", "scf",
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(s, list[i]) == 0)
			return true;
	return false;
}

/* The extension of a file name after its last dot, or NULL. */
static const char *extension(const char *name)
{
	const char *dot = name ? strrchr(name, '.') : NULL;
	return dot && dot[1] ? dot + 1 : NULL;
}

/* "invoice.pdf.exe", "scan.jpg   .js": a harmless-looking extension before a
 * dangerous one, to fool a reader who sees only the first. */
static bool double_extension(const char *name)
{
	const char *last = strrchr(name, '.');
	if (!last || last == name)
		return false;
	const char *prev = last - 1;
	while (prev > name && *prev == ' ')
		prev--;
	const char *dot = prev;
	while (dot > name && *dot != '.')
		dot--;
	if (*dot != '.' || prev - dot < 2 || prev - dot > 5)
		return false;
	static const char *const docs[] = {"pdf", "doc", "docx", "xls", "xlsx", "jpg", "jpeg",
		"png", "txt", "zip", "rtf", "ppt", "pptx", "gif"};
	char ext[8];
	size_t n = (size_t)(prev - dot);
	memcpy(ext, dot + 1, n);
	ext[n] = '\0';
	return in_list(ext, docs, sizeof(docs) / sizeof(*docs));
}

static int attachments(vigil_message *msg, const vigil_config *cfg)
{
	int rc = 0;
	for (size_t i = 0; i < msg->attachments.len && rc == 0; i++) {
		const vigil_attachment *at = &msg->attachments.items[i];
		const char *ext = extension(at->filename);
		bool program = at->sniffed_type &&
			in_list(at->sniffed_type, executable_types,
				sizeof(executable_types) / sizeof(*executable_types));
		bool dangerous = ext && in_list(ext, dangerous_extensions,
			sizeof(dangerous_extensions) / sizeof(*dangerous_extensions));
		if (program || dangerous) {
			rc = finding__add(msg, cfg, "phish", "phish.executable-attachment",
				VIGIL_CLASS_MALICIOUS, 100, "attachment", at->sha256,
				"The attachment %s is %s (sha256 %.16s...): mail has no business carrying programs.",
				at->filename ? at->filename : "(no name)",
				program ? "a program by its content" : "of a type Windows runs when opened",
				at->sha256);
		}
		if (rc == 0 && dangerous && at->filename && double_extension(at->filename))
			rc = finding__add(msg, cfg, "phish", "phish.double-extension",
				VIGIL_CLASS_DECEPTION, 40, "attachment", at->filename,
				"The attachment name %s hides its real extension behind a harmless-looking one.",
				at->filename);
	}
	return rc;
}

/* Whether `host` is an IP literal (the model keeps IPv6 in brackets). */
static bool ip_host(const char *host)
{
	if (!host || !*host)
		return false;
	if (host[0] == '[')
		return true;
	for (const char *p = host; *p; p++)
		if (!(*p == '.' || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

static bool in_attachment(const vigil_message *msg, int part)
{
	for (size_t i = 0; i < msg->attachments.len; i++)
		if (msg->attachments.items[i].part == part)
			return true;
	return false;
}

/* One finding per kind and message, on the first URL of that kind: the
 * signal is that the message has such a thing, and a newsletter with ten
 * sign-up forms must not weigh ten times one. */
static int links(vigil_message *msg, const vigil_config *cfg)
{
	const vigil_url *form = NULL, *ip = NULL;
	size_t n_forms = 0, n_ip = 0;
	bool form_attached = false;
	for (size_t i = 0; i < msg->urls.len; i++) {
		const vigil_url *u = &msg->urls.items[i];
		if (!tracker__is_remote(u))
			continue;
		if (u->element && strcmp(u->element, "form") == 0) {
			n_forms++;
			bool attached = in_attachment(msg, u->part);
			if (!form || (attached && !form_attached)) {
				form = u;
				form_attached = attached;
			}
		} else if (tracker__is_link(u) && ip_host(u->host)) {
			if (!ip)
				ip = u;
			n_ip++;
		}
	}
	int rc = 0;
	if (form) {
		/* A form asks the reader to type something in and send it away.
		 * In an attached HTML page it is the classic credential harvester;
		 * in a body newsletters have polls and sign-ups, so it weighs less. */
		rc = finding__add(msg, cfg, "phish",
			form_attached ? "phish.form-in-attachment" : "phish.form", VIGIL_CLASS_DECEPTION,
			form_attached ? 40 : 15, "url", form->url ? form->url : form->raw,
			"A form in the %s sends what is typed into it to %s (%zu form%s in all).",
			form_attached ? "attached HTML page" : "message",
			form->host ? form->host : "another site", n_forms, n_forms == 1 ? "" : "s");
	}
	if (rc == 0 && ip)
		rc = finding__add(msg, cfg, "phish", "phish.ip-link", VIGIL_CLASS_DECEPTION, 30, "url",
			ip->url ? ip->url : ip->raw,
			"A link goes to the bare address %s instead of a named site (%zu such link%s).",
			ip->host, n_ip, n_ip == 1 ? "" : "s");
	return rc;
}

/* '"service@paypal.com" <x@evil.example>': the display name shows an address
 * at another domain than the one that sent it. */
static int display_name_address(vigil_message *msg, vigil_scanner *sc)
{
	const vigil_config *cfg = sc->ctx->cfg;
	const vigil_mailbox *from = &msg->from;
	if (!from->name || !from->domain)
		return 0;
	const char *at = strchr(from->name, '@');
	if (!at)
		return 0;
	/* The domain after the '@', up to a character that cannot be in one. */
	char shown[256];
	size_t n = 0;
	for (const char *p = at + 1; *p && n + 1 < sizeof(shown); p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '.' || c == '-'))
			break;
		shown[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	while (n && shown[n - 1] == '.')
		n--;
	shown[n] = '\0';
	if (n < 4 || !strchr(shown, '.'))
		return 0;
	const char *a = psl_registrable_domain(sc->ctx->psl, shown);
	const char *b = psl_registrable_domain(sc->ctx->psl, from->domain);
	if (!a || (b && strcmp(a, b) == 0))
		return 0; /* not a real domain, or the sender's own */
	return finding__add(msg, cfg, "phish", "phish.display-name-address", VIGIL_CLASS_DECEPTION,
		40, "from", from->name,
		"The sender's name shows an address at %s, but the mail comes from %s.", shown,
		from->domain);
}

int detect__phish(vigil_message *msg, vigil_scanner *sc)
{
	const vigil_config *cfg = sc->ctx->cfg;
	int rc = attachments(msg, cfg);
	if (rc == 0)
		rc = links(msg, cfg);
	if (rc == 0)
		rc = display_name_address(msg, sc);
	return rc;
}
