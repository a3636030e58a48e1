/*
 * Grouping messages into campaigns: a union-find over shared keys (tracker
 * host, URL template, sender domain or address, an existing campaign) and
 * near-identical lures (simhash bands), then the groups that hold a seed.
 * Pure computation over items; the store decides ids and writes rows.
 */
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign/campaign.h"

/* Lure hashes are split in this many bands of 64/LURE_BANDS bits: two hashes
 * within CAMPAIGN_LURE_MAX_DISTANCE bits share at least one band whole
 * (pigeonhole: 3 differing bits touch at most 3 of 4 bands). */
#define LURE_BANDS 4
/* Members of one band bucket compared with a new item: boilerplate shared
 * by thousands of messages must not make the grouping quadratic. */
#define LURE_BUCKET_COMPARE 64

static size_t find(size_t *parent, size_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

static void unite(size_t *parent, size_t a, size_t b)
{
	a = find(parent, a);
	b = find(parent, b);
	/* The lower index becomes the root, so the result does not depend on
	 * the order of unions. */
	if (a < b)
		parent[b] = a;
	else if (b < a)
		parent[a] = b;
}

static bool joins_by(const campaign_item *it, const char *key)
{
	if (it->verdict >= VIGIL_VERDICT_SUSPICIOUS || it->campaign)
		return true;
	/* Tracking only: a newsletter shares its sender's domain with that
	 * sender's every message; only the tracker itself ties it to recon. */
	return it->verdict == VIGIL_VERDICT_TRACKING && (key[0] == 'h' || key[0] == 't');
}

static bool is_seed(const campaign_item *it)
{
	return it->campaign || it->verdict >= VIGIL_VERDICT_RECON;
}

static int popcount64(uint64_t x)
{
	return __builtin_popcountll(x);
}

int campaign__cluster(long *group, size_t *n_groups, const campaign_item *items, size_t n)
{
	*n_groups = 0;
	if (!n)
		return 0;
	size_t *parent = malloc(n * sizeof(*parent));
	if (!parent)
		return VIGIL_ENOMEM;
	for (size_t i = 0; i < n; i++)
		parent[i] = i;

	/* Keys: the first item holding a key stands for it. */
	GHashTable *first = g_hash_table_new(g_str_hash, g_str_equal);
	char ckey[32];
	GPtrArray *owned = g_ptr_array_new_with_free_func(g_free);
	for (size_t i = 0; i < n; i++) {
		const campaign_item *it = &items[i];
		for (size_t k = 0; k <= it->n_keys; k++) {
			const char *key;
			if (k < it->n_keys) {
				key = it->keys[k];
				if (!joins_by(it, key))
					continue;
			} else {
				if (!it->campaign)
					continue;
				snprintf(ckey, sizeof(ckey), "c:%lld", (long long)it->campaign);
				key = ckey;
			}
			gpointer v;
			if (g_hash_table_lookup_extended(first, key, NULL, &v)) {
				unite(parent, i, (size_t)GPOINTER_TO_SIZE(v) - 1);
			} else {
				char *kc = g_strdup(key);
				g_ptr_array_add(owned, kc);
				g_hash_table_insert(first, kc, GSIZE_TO_POINTER(i + 1));
			}
		}
	}

	/* Lures: suspicious and stronger messages with enough words. */
	GHashTable *bands = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
		(GDestroyNotify)g_array_unref);
	const int width = 64 / LURE_BANDS;
	for (size_t i = 0; i < n; i++) {
		const campaign_item *it = &items[i];
		if (it->verdict < VIGIL_VERDICT_SUSPICIOUS || it->lure_words < CAMPAIGN_LURE_MIN_WORDS)
			continue;
		for (int b = 0; b < LURE_BANDS; b++) {
			uint64_t part = (it->lure_hash >> (b * width)) & ((UINT64_C(1) << width) - 1);
			gint64 key = (gint64)(((uint64_t)b << 56) | part);
			GArray *bucket = g_hash_table_lookup(bands, &key);
			if (!bucket) {
				gint64 *kp = g_new(gint64, 1);
				*kp = key;
				bucket = g_array_new(FALSE, FALSE, sizeof(size_t));
				g_hash_table_insert(bands, kp, bucket);
			}
			for (guint j = 0; j < bucket->len && j < LURE_BUCKET_COMPARE; j++) {
				size_t o = g_array_index(bucket, size_t, j);
				if (popcount64(items[o].lure_hash ^ it->lure_hash) <=
					CAMPAIGN_LURE_MAX_DISTANCE)
					unite(parent, i, o);
			}
			g_array_append_val(bucket, i);
		}
	}
	g_hash_table_destroy(bands);
	g_hash_table_destroy(first);
	g_ptr_array_free(owned, TRUE);

	/* Groups with a seed, numbered by their first item. */
	bool *seeded = calloc(n, sizeof(*seeded));
	long *number = malloc(n * sizeof(*number));
	if (!seeded || !number) {
		free(seeded);
		free(number);
		free(parent);
		return VIGIL_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		number[i] = -1;
		if (is_seed(&items[i]))
			seeded[find(parent, i)] = true;
	}
	long next = 0;
	for (size_t i = 0; i < n; i++) {
		size_t r = find(parent, i);
		if (!seeded[r]) {
			group[i] = -1;
			continue;
		}
		if (number[r] < 0)
			number[r] = next++;
		group[i] = number[r];
	}
	*n_groups = (size_t)next;
	free(seeded);
	free(number);
	free(parent);
	return 0;
}
