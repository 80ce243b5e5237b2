/*
 * Everything bindgen sees: the DPDK public headers the project uses plus
 * the declarations of our C shim (shim.h). Keep this list in step with the
 * allowlist in build.rs.
 */
#include <rte_config.h>
#include <rte_version.h>
#include <rte_errno.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ethdev.h>
#include <rte_flow.h>
#include <rte_ring.h>
#include <rte_telemetry.h>
#include <rte_pdump.h>

#include "shim.h"
