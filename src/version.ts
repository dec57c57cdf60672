/** Sluice's version, reported in connect replies, `info` and `sluice version`. */
export const VERSION = "0.1.0";
