/* STUB: network sets (being written). */
#include <stdlib.h>
#include "config/config.h"
struct vigil_netset { int n; };
vigil_netset *netset__new(void) { return calloc(1, sizeof(vigil_netset)); }
void netset__free(vigil_netset *s) { free(s); }
int netset__add(vigil_netset *s, const char *text, const char **why) { return 0; }
const char *netset__lookup(const vigil_netset *s, const char *ip) { return NULL; }
size_t netset__count(const vigil_netset *s) { return 0; }
