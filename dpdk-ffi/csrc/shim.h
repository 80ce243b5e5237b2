/*
 * dpdk-sys C shim: DPDK's fast path is made of `static inline` functions
 * (and a TLS variable, rte_errno) that have no symbol in the shared
 * libraries, so Rust cannot call them directly. Each shim_* function below
 * is a plain exported wrapper around exactly one of them. They are compiled
 * with the same pkg-config cflags (-march, -include rte_config.h) as DPDK's
 * own headers expect, so the inlined code is the same code DPDK apps get.
 */
#ifndef DPDK_SYS_SHIM_H
#define DPDK_SYS_SHIM_H

#include <stdint.h>

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

/* errno of the calling thread (rte_errno is a per-lcore TLS variable). */
int shim_rte_errno(void);

/* ethdev fast path */
uint16_t shim_rte_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
			       struct rte_mbuf **rx_pkts, uint16_t nb_pkts);
uint16_t shim_rte_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
			       struct rte_mbuf **tx_pkts, uint16_t nb_pkts);

/* mbuf */
struct rte_mbuf *shim_rte_pktmbuf_alloc(struct rte_mempool *mp);
int shim_rte_pktmbuf_alloc_bulk(struct rte_mempool *mp,
				struct rte_mbuf **mbufs, unsigned int count);
void shim_rte_pktmbuf_free(struct rte_mbuf *m);
void *shim_rte_pktmbuf_mtod(struct rte_mbuf *m);
uint16_t shim_rte_pktmbuf_data_len(const struct rte_mbuf *m);
uint32_t shim_rte_pktmbuf_pkt_len(const struct rte_mbuf *m);
uint16_t shim_rte_pktmbuf_nb_segs(const struct rte_mbuf *m);
int shim_rte_pktmbuf_is_contiguous(const struct rte_mbuf *m);
char *shim_rte_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len);
char *shim_rte_pktmbuf_adj(struct rte_mbuf *m, uint16_t len);
char *shim_rte_pktmbuf_append(struct rte_mbuf *m, uint16_t len);
int shim_rte_pktmbuf_trim(struct rte_mbuf *m, uint16_t len);
uint16_t shim_rte_pktmbuf_headroom(const struct rte_mbuf *m);
uint16_t shim_rte_pktmbuf_tailroom(const struct rte_mbuf *m);
uint16_t shim_rte_mbuf_refcnt_read(const struct rte_mbuf *m);
uint16_t shim_rte_mbuf_refcnt_update(struct rte_mbuf *m, int16_t value);
uint64_t shim_rte_mbuf_ol_flags(const struct rte_mbuf *m);
struct rte_mempool *shim_rte_mbuf_pool(const struct rte_mbuf *m);
uint16_t shim_rte_mbuf_port(const struct rte_mbuf *m);

/* lcore, cycles, prefetch */
unsigned int shim_rte_lcore_id(void);
uint64_t shim_rte_rdtsc(void);
void shim_rte_prefetch0(const void *p);
void shim_rte_pause(void);

/* ring (burst variants; single/multi producer per ring flags) */
unsigned int shim_rte_ring_enqueue_burst(struct rte_ring *r,
					 void *const *obj_table,
					 unsigned int n);
unsigned int shim_rte_ring_dequeue_burst(struct rte_ring *r,
					 void **obj_table, unsigned int n);
unsigned int shim_rte_ring_enqueue_burst_elem(struct rte_ring *r,
					      const void *obj_table,
					      unsigned int esize,
					      unsigned int n);
unsigned int shim_rte_ring_dequeue_burst_elem(struct rte_ring *r,
					      void *obj_table,
					      unsigned int esize,
					      unsigned int n);
unsigned int shim_rte_ring_count(const struct rte_ring *r);
unsigned int shim_rte_ring_free_count(const struct rte_ring *r);

#endif
