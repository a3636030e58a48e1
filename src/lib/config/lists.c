/* STUB: lists (being written). */
#include "config/config.h"
int config__load_members(vigil_config *cfg, const char *path, char *err, size_t err_size) { return 0; }
int config__load_protected(vigil_config *cfg, const char *path, char *err, size_t err_size) { return 0; }
int config__load_relays(vigil_config *cfg, const char *path, char *err, size_t err_size) { return 0; }
int config__load_freemail(vigil_config *cfg, const char *path, char *err, size_t err_size) { return 0; }
int config__load_trackers(vigil_config *cfg, const char *path, char *err, size_t err_size) { return 0; }
