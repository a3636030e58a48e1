/*
 * Sinks that write one message: JSON Lines (jsonl.c) and text (summary.c).
 */
#ifndef VIGIL_REPORT_H
#define VIGIL_REPORT_H

#include <stdio.h>

#include "message.h"

/* Both return 0 or VIGIL_EIO / VIGIL_ENOMEM. */
int report__jsonl(const vigil_message *msg, FILE *fp);
int report__text(const vigil_message *msg, FILE *fp);

/* "2021-01-04T09:51:25Z" into buf (at least 21 bytes); "" for VIGIL_NO_TIME. */
void report__iso_time(int64_t t, char *buf, size_t size);

/* "tracking", "token", "deception", "malicious", "info". */
const char *report__class_name(vigil_finding_class c);

/* Names of the VIGIL_HIDDEN_* bits set in `hidden`, in bit order. */
const char *report__hidden_name(unsigned bit);

#endif /* VIGIL_REPORT_H */
