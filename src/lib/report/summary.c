/*
 * The text sink: a short summary of one message for a person at a terminal:
 * where it came from, who sent it to whom, its route and authentication, its
 * URLs (hidden ones first) and attachments. Not a stable format: scripts read
 * the JSON Lines output.
 */
#include <string.h>
#include <strings.h>

#include "report/report.h"

/* URLs listed per message before "... and N more". */
#define TEXT_MAX_URLS 12

static const char *or_dash(const char *s)
{
	return s && *s ? s : "-";
}

static void print_mailbox(FILE *fp, const vigil_mailbox *mb)
{
	if (mb->name && mb->address)
		fprintf(fp, "\"%s\" <%s>", mb->name, mb->address);
	else if (mb->address)
		fprintf(fp, "<%s>", mb->address);
	else
		fprintf(fp, "%s", or_dash(mb->name));
}

static void print_url(FILE *fp, const vigil_url *u)
{
	fprintf(fp, "    [%s", or_dash(u->element));
	if (u->attribute)
		fprintf(fp, " %s", u->attribute);
	if (u->width >= 0 || u->height >= 0) {
		fprintf(fp, " ");
		u->width >= 0 ? fprintf(fp, "%d", u->width) : fprintf(fp, "?");
		fprintf(fp, "x");
		u->height >= 0 ? fprintf(fp, "%d", u->height) : fprintf(fp, "?");
	}
	if (u->hidden) {
		fprintf(fp, " hidden:");
		const char *sep = "";
		for (unsigned bit = 1; bit <= VIGIL_HIDDEN_ANCESTOR; bit <<= 1)
			if (u->hidden & bit) {
				fprintf(fp, "%s%s", sep, report__hidden_name(bit));
				sep = ",";
			}
	}
	if (u->nested)
		fprintf(fp, " nested");
	fprintf(fp, "] %s", u->url ? u->url : or_dash(u->raw));
	if (u->text_host && u->host && strcmp(u->text_host, u->host) != 0)
		fprintf(fp, "  (text shows %s)", u->text_host);
	fputc('\n', fp);
}

int report__text(const vigil_message *m, FILE *fp)
{
	fprintf(fp, "%s", or_dash(m->path));
	if (m->offset >= 0)
		fprintf(fp, " @%lld", (long long)m->offset);
	if (m->message_id)
		fprintf(fp, "  <%s>\n", m->message_id);
	else
		fprintf(fp, "  (no Message-ID)\n");
	/* The verdict and its reasons first: that is what a person acts on. */
	fprintf(fp, "  Verdict:  %s (score %d)\n", vigil_verdict_name(m->verdict), m->score);
	for (size_t i = 0; i < m->findings.len; i++) {
		const vigil_finding *f = &m->findings.items[i];
		fprintf(fp, "    %+4d %-28s %s\n", f->score, f->id, f->reason);
	}
	fprintf(fp, "  From:     ");
	print_mailbox(fp, &m->from);
	if (m->reply_to.len && m->reply_to.items[0].address &&
		(!m->from.address || strcasecmp(m->reply_to.items[0].address, m->from.address) != 0)) {
		fprintf(fp, "  Reply-To: ");
		print_mailbox(fp, &m->reply_to.items[0]);
	}
	fputc('\n', fp);

	size_t n_rcpt = m->to.len + m->cc.len;
	fprintf(fp, "  To:       ");
	if (m->to.len)
		print_mailbox(fp, &m->to.items[0]);
	else if (m->cc.len)
		print_mailbox(fp, &m->cc.items[0]);
	else
		fprintf(fp, "-");
	if (n_rcpt > 1)
		fprintf(fp, " and %zu more", n_rcpt - 1);
	fputc('\n', fp);
	fprintf(fp, "  Subject:  %s\n", or_dash(m->subject));
	char when[32];
	report__iso_time(m->date_time, when, sizeof(when));
	fprintf(fp, "  Date:     %s\n", when[0] ? when : or_dash(m->date));

	size_t hops = 0;
	const vigil_received *origin = NULL;
	for (size_t i = 0; i < m->received.len; i++) {
		if (m->received.items[i].nested)
			continue;
		hops++;
		if (m->received.items[i].ip)
			origin = &m->received.items[i]; /* the lowest hop with an address */
	}
	fprintf(fp, "  Route:    %zu hop%s", hops, hops == 1 ? "" : "s");
	if (origin)
		fprintf(fp, ", first from %s (%s)", origin->ip, or_dash(origin->helo));
	fputc('\n', fp);

	fprintf(fp, "  Auth:    ");
	bool any = false;
	for (size_t i = 0; i < m->auth.len; i++) {
		const vigil_auth_result *r = &m->auth.items[i];
		if (r->header_index != 0 || r->nested)
			continue;
		fprintf(fp, " %s=%s", or_dash(r->method), or_dash(r->result));
		any = true;
	}
	fprintf(fp, "%s\n", any ? "" : " -");

	size_t hidden = 0;
	for (size_t i = 0; i < m->urls.len; i++)
		hidden += m->urls.items[i].hidden != 0;
	fprintf(fp, "  URLs:     %zu", m->urls.len);
	if (hidden)
		fprintf(fp, " (%zu hidden)", hidden);
	fputc('\n', fp);
	/* Hidden and tiny images first: those are what a reader cannot see. */
	size_t shown = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < m->urls.len && shown < TEXT_MAX_URLS; i++) {
			const vigil_url *u = &m->urls.items[i];
			bool hid = u->hidden || (u->width >= 0 && u->width <= 2) ||
				(u->height >= 0 && u->height <= 2);
			if ((pass == 0) != hid)
				continue;
			print_url(fp, u);
			shown++;
		}
	if (m->urls.len > shown)
		fprintf(fp, "    ... and %zu more\n", m->urls.len - shown);

	if (m->attachments.len)
		fprintf(fp, "  Attachments: %zu\n", m->attachments.len);
	for (size_t i = 0; i < m->attachments.len; i++) {
		const vigil_attachment *a = &m->attachments.items[i];
		fprintf(fp, "    %s (%s, sniffed %s, %llu bytes) sha256 %s\n", or_dash(a->filename),
			or_dash(a->declared_type), or_dash(a->sniffed_type), (unsigned long long)a->size,
			a->sha256);
	}
	if (m->nested.len)
		fprintf(fp, "  Nested messages: %zu\n", m->nested.len);
	if (m->partial) {
		fprintf(fp, "  Partial: ");
		for (size_t i = 0; i < m->partial_reasons.len; i++)
			fprintf(fp, "%s%s", i ? "; " : "", m->partial_reasons.items[i]);
		fputc('\n', fp);
	}
	fputc('\n', fp);
	return ferror(fp) ? VIGIL_EIO : 0;
}
