// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The aligned-meshnet authors.
 *
 * Copy-on-write chunked arrays: the index arrays of a verdict table. A
 * table version shares every chunk it does not write with the version it
 * was cloned from; chunks are refcounted and freed with the last table that
 * uses them. A chunk of a peer array holds a reference on each peer in it.
 */

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "meshnet.h"

static struct kmem_cache *mn_chunk_cache;

int mn_chunk_cache_init(void)
{
	mn_chunk_cache = kmem_cache_create("meshnet_chunk",
					   sizeof(struct mn_chunk), 0,
					   SLAB_ACCOUNT, NULL);
	return mn_chunk_cache ? 0 : -ENOMEM;
}

void mn_chunk_cache_uninit(void)
{
	kmem_cache_destroy(mn_chunk_cache);
}

static const struct {
	u8 shift;
	u8 esize;
} mn_vec_geometry[] = {
	[MN_VEC_PEERS] = { 9, sizeof(struct mn_peer *) },
	[MN_VEC_KEYS] = { 10, sizeof(u32) },
	[MN_VEC_LPM4] = { 9, sizeof(struct mn_lpm_slot4) },
	[MN_VEC_LPM6] = { 7, sizeof(struct mn_lpm_slot6) },
};

static struct mn_chunk *mn_chunk_new(u64 gen)
{
	struct mn_chunk *c = kmem_cache_zalloc(mn_chunk_cache,
					       GFP_KERNEL_ACCOUNT);

	if (!c)
		return NULL;
	refcount_set(&c->ref, 1);
	c->gen = gen;
	return c;
}

static void mn_chunk_put(const struct mn_vec *v, struct mn_chunk *c)
{
	u32 i;

	if (!c || !refcount_dec_and_test(&c->ref))
		return;
	if (v->kind == MN_VEC_PEERS) {
		struct mn_peer **p = (struct mn_peer **)c->data;

		for (i = 0; i < (1U << v->shift); i++)
			mn_peer_put(p[i]);
	}
	kmem_cache_free(mn_chunk_cache, c);
}

static struct mn_chunk **mn_dir_alloc(u32 n_chunks)
{
	return kvcalloc(max_t(u32, n_chunks, 1), sizeof(struct mn_chunk *),
			GFP_KERNEL_ACCOUNT);
}

/* A vec of at least @n zeroed elements, all chunks private to @gen. */
int mn_vec_alloc(struct mn_vec *v, enum mn_vec_kind kind, u32 n, u64 gen)
{
	u32 i;

	v->kind = kind;
	v->shift = mn_vec_geometry[kind].shift;
	v->esize = mn_vec_geometry[kind].esize;
	v->n_chunks = 0;
	v->dir = mn_dir_alloc(DIV_ROUND_UP(max_t(u32, n, 1), 1U << v->shift));
	if (!v->dir)
		return -ENOMEM;
	for (i = 0; i < DIV_ROUND_UP(max_t(u32, n, 1), 1U << v->shift); i++) {
		v->dir[i] = mn_chunk_new(gen);
		if (!v->dir[i]) {
			mn_vec_free(v);
			return -ENOMEM;
		}
		v->n_chunks++;
	}
	return 0;
}

/* @dst shares every chunk of @src: O(number of chunks). */
int mn_vec_clone(struct mn_vec *dst, const struct mn_vec *src)
{
	u32 i;

	*dst = *src;
	dst->dir = mn_dir_alloc(src->n_chunks);
	if (!dst->dir) {
		dst->n_chunks = 0;
		return -ENOMEM;
	}
	for (i = 0; i < src->n_chunks; i++) {
		refcount_inc(&src->dir[i]->ref);
		dst->dir[i] = src->dir[i];
	}
	return 0;
}

/* Makes room for at least @n elements (new chunks zeroed, private). */
int mn_vec_grow(struct mn_vec *v, u32 n, u64 gen)
{
	u32 want = DIV_ROUND_UP(n, 1U << v->shift), i;
	struct mn_chunk **dir;

	if (want <= v->n_chunks)
		return 0;
	dir = mn_dir_alloc(want);
	if (!dir)
		return -ENOMEM;
	memcpy(dir, v->dir, v->n_chunks * sizeof(*dir));
	for (i = v->n_chunks; i < want; i++) {
		dir[i] = mn_chunk_new(gen);
		if (!dir[i]) {
			while (i-- > v->n_chunks)
				mn_chunk_put(v, dir[i]);
			kvfree(dir);
			return -ENOMEM;
		}
	}
	kvfree(v->dir);
	v->dir = dir;
	v->n_chunks = want;
	return 0;
}

/* Process context: a 200,000-peer table frees a million objects. */
void mn_vec_free(struct mn_vec *v)
{
	u32 i;

	if (!v->dir)
		return;
	for (i = 0; i < v->n_chunks; i++) {
		mn_chunk_put(v, v->dir[i]);
		cond_resched();
	}
	kvfree(v->dir);
	v->dir = NULL;
	v->n_chunks = 0;
}

/*
 * Element @i for writing in the table version @gen: the chunk is copied
 * first unless it is already private to @gen. NULL when out of memory.
 */
void *mn_vec_wr(struct mn_vec *v, u32 i, u64 gen)
{
	struct mn_chunk *c = v->dir[i >> v->shift], *copy;
	u32 j;

	if (c->gen != gen) {
		copy = kmem_cache_alloc(mn_chunk_cache, GFP_KERNEL_ACCOUNT);
		if (!copy)
			return NULL;
		memcpy(copy->data, c->data, sizeof(c->data));
		refcount_set(&copy->ref, 1);
		copy->gen = gen;
		if (v->kind == MN_VEC_PEERS) {
			struct mn_peer **p = (struct mn_peer **)copy->data;

			for (j = 0; j < (1U << v->shift); j++)
				if (p[j])
					mn_peer_get(p[j]);
		}
		mn_chunk_put(v, c);
		v->dir[i >> v->shift] = copy;
	}
	return mn_vec_at(v, i);
}
