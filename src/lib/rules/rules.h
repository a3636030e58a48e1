/*
 * YARA rules over decoded content (libyara 4.2). Rule files are compiled once
 * into one immutable YR_RULES that every thread shares; each vigil_scanner
 * gets its own YR_SCANNER on first use, as YARA's own model has it.
 */
#ifndef VIGIL_RULES_H
#define VIGIL_RULES_H

#include <stddef.h>

#include "message.h"
#include "scanner.h"

/* Seconds of rule matching one message may take, over all its bodies and
 * attachments. A pathological rule (a regular expression that backtracks,
 * a loop over every offset of a 64 MiB attachment) must not hold a milter
 * worker for minutes: real rule sets run in milliseconds on mail, so 10 s
 * only ever stops the pathological case, and the message is marked partial
 * with the reason. */
#define RULES_MESSAGE_TIMEOUT_SECONDS 10

/* Rule files, pending (paths given) then compiled; owned by the context. */
typedef struct vigil_rules vigil_rules;
/* A vigil_scanner's own YR_SCANNER. */
typedef struct vigil_rules_scanner vigil_rules_scanner;

/* Compiles rule sources into one set. Each path is a rule file, or a
 * directory whose *.yar and *.yara files (one level, not recursive; hidden
 * files skipped) are taken in strcmp() order. Each file gets its own YARA
 * namespace: its name without the extension ("apt31.yar" -> "apt31"), with
 * "-2", "-3", ... appended when an earlier file took that name, so equal
 * rule names in different files never collide. Includes resolve relative to
 * the including file (YARA's default). Compiled rule files (yarac output)
 * are refused: they are tied to one libyara build.
 *
 * Returns 0, VIGIL_EIO (a path cannot be read: "PATH: reason"), VIGIL_ECONFIG
 * (a rule does not compile, or a directory holds no rule file) or
 * VIGIL_ENOMEM. Compiler messages are written to err as "FILE:LINE: message"
 * (warnings as "FILE:LINE: warning: message"), one per line; on success err
 * holds the warnings, or "" when there were none. */
int rules__compile(vigil_rules **out, const char *const *paths, size_t n, char *err,
	size_t err_size);
void rules__free(vigil_rules *r); /* NULL ok */

/* Compiles the rule paths of ctx's configuration, then those given with
 * vigil_ctx_load_rules(), into ctx->rules; nothing to do when there are none
 * or it already ran. Errors (as rules__compile) are written to ctx->err. */
int rules__ready(vigil_ctx *ctx);

/* Runs the rules on one decoded buffer of `msg`: `what` is "body" or
 * "attachment", `part` its MIME part number (an attachment's name is found by
 * it), `nested` its message/rfc822 depth. Each matching rule becomes a
 * finding "rules.<namespace>.<rule>" (class malicious, default score 100).
 * When the message's time budget runs out the message is marked partial and
 * its remaining buffers are not scanned. Does nothing without compiled rules.
 * Returns 0 or VIGIL_ENOMEM; a scan YARA cannot finish is a partial result,
 * not an error. */
int rules__scan(vigil_message *msg, vigil_scanner *sc, const char *what, int part, int nested,
	const unsigned char *data, size_t len);

void rules__scanner_free(vigil_rules_scanner *rs); /* NULL ok */

#endif /* VIGIL_RULES_H */
