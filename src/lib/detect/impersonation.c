/* STUB: impersonation detector (being written). */
#include "detect/detect.h"
int detect__impersonation(vigil_message *msg, vigil_scanner *sc) { return 0; }
