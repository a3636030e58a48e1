/* STUB: token detector (being written). */
#include "detect/detect.h"
int detect__token(vigil_message *msg, vigil_scanner *sc) { return 0; }
