/* STUB */
#include "message.h"
