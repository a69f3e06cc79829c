/** The scenarios `npm run bench` runs, in order: each is `bench/<name>.mjs`. */
export const scenarios = ['trace-load', 'redis-append'];
