/*
 * Every cap vigil places on its input, in one place, each with the reason for
 * its number. A message that reaches one is kept and marked partial with the
 * reason; scanning goes on. Tests exercise both sides of each edge.
 * (Not named limits.h: with src/lib on the include path that name shadowed the
 * C library's <limits.h> for every header that includes it.)
 */
#ifndef VIGIL_LIMITS_H
#define VIGIL_LIMITS_H

/* Largest raw message a source hands over. Gateways reject mail above 25-150
 * MB; 128 MiB keeps the largest legitimate message whole while bounding the
 * memory a single hostile "message" (an mbox with no separators) can take. */
#define VIGIL_MAX_MESSAGE_BYTES (128u * 1024 * 1024)

/* The milter's default cap on one message it buffers ([milter] max_size).
 * Postfix's own default message_size_limit is 10 MB and sites raise it to
 * 25-50 MB; 50 MiB passes those, while a cap at all keeps one connection
 * from holding a thread's memory without bound. Never above
 * VIGIL_MAX_MESSAGE_BYTES. */
#define VIGIL_MILTER_DEFAULT_MAX_BYTES (50u * 1024 * 1024)

/* The milter's default time budget for one scan ([milter] time_budget, ms).
 * Scans take milliseconds; Postfix waits 300 s for the end of a message
 * (milter_content_timeout). 10 s flags a pathological message long before the
 * MTA gives up, without tempfailing a message on a busy machine. */
#define VIGIL_MILTER_DEFAULT_BUDGET_MS 10000

/* Bytes of header block per message (all header fields together). Real mail
 * rarely passes 64 KiB even with long Received chains and DKIM signatures;
 * 1 MiB leaves room and stops header-bomb messages from costing CPU. */
#define VIGIL_MAX_HEADER_BYTES (1024u * 1024)

/* MIME nesting depth (multipart inside multipart, message/rfc822 inside a
 * part). Legitimate mail nests 3-6 deep (forwards of forwards); 32 is far past
 * that and keeps recursion on the C stack small. */
#define VIGIL_MAX_MIME_DEPTH 32

/* MIME parts per message, nested messages included. Newsletters with inline
 * images reach ~100; 1,000 bounds the work a part bomb can cause. */
#define VIGIL_MAX_MIME_PARTS 1000

/* Decoded bytes of one part, and of all parts of one message. Attachments are
 * hashed and sniffed in full up to this size; above it they are cut and the
 * message marked partial. 64/256 MiB: over any gateway's size limit, yet
 * bounded (base64 decodes smaller than its input, but a compressed or
 * repetitive transfer encoding cannot make us allocate without end). */
#define VIGIL_MAX_PART_DECODED_BYTES (64u * 1024 * 1024)
#define VIGIL_MAX_DECODED_BYTES (256u * 1024 * 1024)

/* Bytes of one HTML body handed to the HTML parser. The HTML5 parser keeps the
 * whole tree in memory (~10x the input); 8 MiB of markup is far beyond any
 * real newsletter and keeps that tree under ~100 MB. */
#define VIGIL_MAX_HTML_BYTES (8u * 1024 * 1024)

/* Element depth followed when walking an HTML tree. Browsers cap nesting near
 * 512 (Blink) for the same reason: an attacker can nest without end. */
#define VIGIL_MAX_HTML_DEPTH 512

/* URLs kept per message. A real newsletter has a few hundred links; 5,000
 * bounds output size and the later detectors' work. */
#define VIGIL_MAX_URLS 5000

/* Length of one URL kept. Browsers accept up to 2 MB but mail trackers stay
 * under 2 KB; 8 KiB keeps the evidence and bounds the work per URL. */
#define VIGIL_MAX_URL_BYTES 8192

/* Received headers parsed per message. Real routes have 3-15 hops; Postfix
 * itself bounces at 100 (hopcount_limit = 50 by default). */
#define VIGIL_MAX_RECEIVED 100

/* Authentication results (resinfos) kept per message, over all its
 * Authentication-Results fields. A real message carries 3-5 per field and a
 * handful of fields (ARC stops at 50 instances); 1,000 keeps every real one
 * while a 1 MiB field of "a=b;" cannot turn into 250,000 results. */
#define VIGIL_MAX_AUTH_RESULTS 1000

/* Addresses kept per address header (To, Cc, ...). Mass mail with thousands of
 * visible recipients exists; 10,000 bounds the output. */
#define VIGIL_MAX_ADDRESSES 10000

/* Attachments kept per message (bounded already by the part count). */
#define VIGIL_MAX_ATTACHMENTS VIGIL_MAX_MIME_PARTS

/* Characters of visible link text kept as evidence: enough to read it. */
#define VIGIL_MAX_LINK_TEXT 256

/* Reasons a message is partial, kept per message (the first few tell all). */
#define VIGIL_MAX_PARTIAL_REASONS 16

/* Directory depth followed in a tree of mail. Deeper than any real archive;
 * stops symlink loops that evade the device/inode check. */
#define VIGIL_MAX_DIR_DEPTH 64

/* Longest mbox `From ` line looked at. A real postmark line is under 200
 * bytes; a longer separator line is cut here (the rest becomes the message's
 * first line), and a longer body line is never taken for a postmark. Bounds
 * what must be buffered past the message itself. */
#define VIGIL_MAX_FROM_LINE_BYTES 4096

/* Longest header field name recognised when sniffing a file's content:
 * RFC 5322 caps a whole line at 998 characters. */
#define VIGIL_MAX_FIELD_NAME_BYTES 998

/* Findings kept per message. A verdict rests on a handful; past a few hundred
 * more of the same say nothing new and only grow the output. */
#define VIGIL_MAX_FINDINGS 256

/* Longest log line read (vigil logs). Squid caps a URL at 8 KiB (MAX_URL),
 * Apache a request line at 8190 bytes, rsyslog a message at 8 KiB by default
 * and journald at 48 KiB (LINE_MAX); 64 KiB holds every real line with room,
 * and a longer one (binary junk, a file that is not a log) is skipped and
 * counted as malformed instead of being buffered without end. */
#define VIGIL_MAX_LOG_LINE (64u * 1024)

/* Non-empty lines a log's format is guessed from. Enough for one daemon's
 * noise at the top of a syslog file not to hide the format, few enough that
 * opening a log reads a few KiB, not the file. */
#define VIGIL_LOG_DETECT_LINES 20

/* Largest TZif time zone file read for a log's zone. Real ones are 1-4 KiB
 * (Debian's "fat" files with transitions to 2037 included). */
#define VIGIL_MAX_TZIF_BYTES (256u * 1024)

/* Largest notification template (vigil notify). A letter to a person is a
 * few KiB; 64 KiB leaves room for several languages in one file and keeps a
 * wrong file (a log, an mbox) from being taken for a template. */
#define VIGIL_MAX_TEMPLATE_BYTES (64u * 1024)

/* Time one notification may take over SMTP, connecting included, and the
 * connection alone. Postfix answers a loopback client in milliseconds; a
 * remote relay that greylists or is slow gets 2 minutes, after which the
 * target is recorded failed and retried on the next run. */
#define VIGIL_SMTP_TIMEOUT_MS (120L * 1000)
#define VIGIL_SMTP_CONNECT_TIMEOUT_MS (30L * 1000)

/* Characters of a subject, name or address from a campaign's mail that a
 * notification shows; longer ones are cut with "...". Real subjects and
 * names are far shorter; an attacker's 100 KB subject would bury the text
 * the reader needs. */
#define VIGIL_NOTIFY_MAX_SHOWN 200

#endif /* VIGIL_LIMITS_H */
