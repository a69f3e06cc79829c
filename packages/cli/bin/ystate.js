#!/usr/bin/env node
// The `ystate` executable: runs the compiled CLI in dist/. It is a checked-in file rather than
// dist/bin.js itself so that `npm install` links it into node_modules/.bin before the first build.
try {
  await import('../dist/bin.js');
} catch (error) {
  const missing =
    error?.code === 'ERR_MODULE_NOT_FOUND' && /[\\/]dist[\\/]bin\.js/.test(String(error.message));
  if (!missing) throw error;
  console.error('ystate: the CLI is not built yet: run `npm run build` first (packages/cli/dist is missing)');
  process.exit(1);
}
