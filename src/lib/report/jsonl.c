/* STUB */
#include "message.h"
int vigil_message_write(const vigil_message *msg, vigil_format fmt, FILE *fp) { return 0; }
