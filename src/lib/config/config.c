/* STUB: configuration (being written). */
#include <stdlib.h>
#include "config/config.h"
#include "vigil/vigil.h"
vigil_config *config__new_default(void)
{
	vigil_arena *a = vigil_arena_new();
	vigil_config *c = vigil_arena_calloc(a, 1, sizeof(*c));
	c->arena = a;
	c->deception_threshold = 50;
	c->malicious_threshold = 100;
	return c;
}
void config__free(vigil_config *cfg) { if (cfg) vigil_arena_free(cfg->arena); }
int config__load_file(vigil_config *cfg, const char *path, char *err, size_t err_size) { return 0; }
int config__finish(vigil_config *cfg) { return 0; }
int config__weight(const vigil_config *cfg, const char *finding_id, int default_score) { return default_score; }
bool config__is_own_domain(const vigil_config *cfg, const char *d) { return false; }
const vigil_member *config__member(const vigil_config *cfg, const char *address) { return NULL; }
