/** The scenarios `npm run bench` runs, in the order of issue 7: each is `bench/<name>.mjs`. */
export const scenarios = [
  'edit-latency',
  'fan-out',
  'fan-out-many',
  'idle-connections',
  'redis-append',
  'postgres-append',
  'trace-load',
  'redis-trace-load',
  'large-state',
  'agui',
  'reconnect-storm',
  'cluster-fan-out',
];
