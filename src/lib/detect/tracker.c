/* STUB: tracker detector (being written). */
#include "detect/detect.h"
int detect__tracker(vigil_message *msg, vigil_scanner *sc) { return 0; }
