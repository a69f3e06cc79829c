/**
 * The bench harness: runs a scenario's variants (ystate and the peer a user would pick instead)
 * alternately in one run, takes medians, prints a table with the ratio to the peer, writes the
 * results JSON (with the machine, versions and command) and renders an SVG chart from it.
 *
 * A scenario script calls `runScenario(definition)`; see trace-load.mjs for one and README.md for
 * the command line. Plain Node, no dependencies: it imports only the built packages it measures.
 */

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const benchDir = dirname(fileURLToPath(import.meta.url));
export const repoRoot = resolve(benchDir, '..');
/** Where full-size results and charts go (they are what docs/performance.md shows). */
export const resultsDir = join(benchDir, 'results');
export const chartsDir = join(repoRoot, 'docs', 'perf');
/** Where results and charts of other sizes go (ignored by git), so a smoke run never overwrites full numbers. */
export const scratchDir = join(resultsDir, 'tmp');

// --- statistics ---

/** The median of `values` (the mean of the two middle values when their number is even). */
export function median(values) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The `p`th percentile of `values` by nearest rank (p in 0..100): a value that was actually observed. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/** The 50th percentile of latency samples. */
export const p50 = (values) => percentile(values, 50);
/** The 99th percentile of latency samples. */
export const p99 = (values) => percentile(values, 99);

// --- measuring ---

/**
 * Runs `fn` once and measures it: wall time, the longest event-loop block while it ran
 * (`monitorEventLoopDelay`, 1 ms resolution) and the RSS growth. Collects garbage first when the
 * process runs with `--expose-gc` (children started by `runInChild` do). Resolves with `fn`'s value too.
 */
export async function measure(fn) {
  globalThis.gc?.();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  // The histogram records the time between two ticks of its timer, from the second tick on:
  // let it tick before `fn` starts, or a block right at the start would go unrecorded.
  await sleep(5);
  const rssBefore = process.memoryUsage.rss();
  const start = performance.now();
  const value = await fn();
  const timeMs = performance.now() - start;
  const rssAfter = process.memoryUsage.rss();
  // A block that ends with `fn` (synchronous work) is only recorded once the delay timer fires again.
  await sleep(5);
  delay.disable();
  return {
    value,
    timeMs,
    maxBlockMs: delay.count > 0 ? delay.max / 1e6 : 0,
    rssDeltaMB: (rssAfter - rssBefore) / 2 ** 20,
  };
}

/**
 * Runs this scenario script again in a fresh Node process (with `--expose-gc`) in child mode, so
 * each sample starts cold: no state, heap or JIT left over from earlier samples. `payload` reaches
 * the scenario's `child` function; resolves with what it returned.
 */
export function runInChild(scriptUrl, payload) {
  const script = fileURLToPath(scriptUrl);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, '--child', JSON.stringify(payload)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`${relative(repoRoot, script)} --child exited with ${signal ?? code}`));
        return;
      }
      try {
        resolvePromise(JSON.parse(stdout.trim().split('\n').at(-1) ?? ''));
      } catch (error) {
        reject(new Error(`${relative(repoRoot, script)} --child printed no result`, { cause: error }));
      }
    });
  });
}

/**
 * Runs every variant `rounds` times, alternating: each round runs all of them once, starting one
 * further along each time so that no variant always goes first. Resolves with the samples per variant id.
 */
export async function runAlternating(variants, rounds, onSample = () => {}) {
  const samples = Object.fromEntries(variants.map((variant) => [variant.id, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < variants.length; i++) {
      const variant = variants[(round + i) % variants.length];
      const sample = await variant.run({ round });
      samples[variant.id].push(sample);
      onSample(variant, sample, round);
    }
  }
  return samples;
}

// --- the scenario runner ---

/**
 * Runs a scenario from the command line: `node bench/<name>.mjs [--size smoke|full] [--rounds N]
 * [--out DIR]`. A definition is `{ name, title, sizes, metrics, versions, setup, child? }`:
 * - `sizes`: `{ smoke: { rounds, ... }, full: { rounds, ... } }`, passed to `setup`;
 * - `metrics`: `[{ key, label, unit, primary?, target? }]`, the numbers every sample carries;
 * - `setup(size)` resolves with `{ params, setup?, variants, cleanup? }`, where each variant is
 *   `{ id, label, role: 'ours' | 'peer', run }` and `run()` resolves with one sample;
 * - `child(payload)`, when variants use `runInChild`, runs one sample in the child process.
 * Full-size results go to bench/results/<name>.json and docs/perf/<name>.svg; other sizes to
 * bench/results/tmp/; `--out DIR` puts both in DIR.
 */
export async function runScenario(definition) {
  const { values } = parseArgs({
    options: {
      size: { type: 'string', default: 'full' },
      rounds: { type: 'string' },
      out: { type: 'string' },
      variants: { type: 'string' },
      child: { type: 'string' },
    },
  });
  if (values.child !== undefined) {
    if (!definition.child) throw new Error(`${definition.name} has no child mode`);
    const sample = await definition.child(JSON.parse(values.child));
    process.stdout.write(`${JSON.stringify(sample)}\n`);
    return;
  }
  const sizeName = values.size;
  const size = definition.sizes[sizeName];
  if (size === undefined) {
    throw new Error(`unknown size "${sizeName}" (one of ${Object.keys(definition.sizes).join(', ')})`);
  }
  const rounds = values.rounds === undefined ? size.rounds : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer`);

  const started = new Date();
  const machine = machineInfo();
  console.log(`${definition.name} (${sizeName}): setting up`);
  const prepared = await definition.setup(size);
  const chosen = values.variants?.split(',');
  if (chosen !== undefined) {
    const unknown = chosen.filter((id) => !prepared.variants.some((variant) => variant.id === id));
    if (unknown.length > 0) {
      await prepared.cleanup?.();
      const known = prepared.variants.map((variant) => variant.id).join(', ');
      throw new Error(`unknown variant ${unknown.join(', ')} (one of ${known})`);
    }
    prepared.variants = prepared.variants.filter((variant) => chosen.includes(variant.id));
  }
  let samples;
  try {
    console.log(`${definition.name} (${sizeName}): ${rounds} rounds of ${prepared.variants.length} variants`);
    samples = await runAlternating(prepared.variants, rounds, (variant, sample, round) => {
      const numbers = definition.metrics.map((m) => `${m.label} ${formatValue(sample[m.key], m.unit)}`);
      console.log(`  round ${round + 1}  ${variant.label.padEnd(24)} ${numbers.join(', ')}`);
    });
  } finally {
    await prepared.cleanup?.();
  }

  const results = {
    scenario: definition.name,
    title: definition.title,
    size: sizeName,
    rounds,
    params: prepared.params,
    setup: prepared.setup ?? {},
    metrics: definition.metrics,
    variants: summarize(definition.metrics, prepared.variants, samples),
    command: commandLine(),
    date: started.toISOString(),
    durationSeconds: Math.round((Date.now() - started.getTime()) / 100) / 10,
    machine,
    versions: packageVersions(definition.versions ?? []),
    commit: gitCommit(),
  };
  console.log('');
  console.log(formatTable(results));

  // Only a full-size run of every variant replaces the numbers the docs show.
  const committed = sizeName === 'full' && chosen === undefined;
  const outDir = values.out ?? (committed ? resultsDir : scratchDir);
  const svgDir = values.out ?? (committed ? chartsDir : scratchDir);
  const jsonPath = writeResults(results, outDir);
  const svgPath = writeChart(results, svgDir);
  console.log(`\nwrote ${relative(process.cwd(), jsonPath)} and ${relative(process.cwd(), svgPath)}`);
}

/**
 * Medians per metric for each variant, and for ours the ratio of each median to the peers': `ratio`
 * to the first peer (the one a scenario compares against first), `ratios` to each peer by id.
 */
export function summarize(metrics, variants, samples) {
  const medians = Object.fromEntries(
    variants.map((variant) => [
      variant.id,
      Object.fromEntries(metrics.map((m) => [m.key, median(samples[variant.id].map((s) => s[m.key]))])),
    ]),
  );
  const peers = variants.filter((variant) => variant.role === 'peer');
  const ratiosTo = (variant, peer) =>
    Object.fromEntries(
      metrics.map((m) => [m.key, ratioOf(medians[variant.id][m.key], medians[peer.id][m.key])]),
    );
  return variants.map((variant) => {
    const summary = {
      id: variant.id,
      label: variant.label,
      role: variant.role,
      median: medians[variant.id],
      samples: samples[variant.id],
    };
    if (variant.role === 'ours' && peers.length > 0) {
      summary.ratio = ratiosTo(variant, peers[0]);
      if (peers.length > 1) {
        summary.ratios = Object.fromEntries(peers.map((peer) => [peer.id, ratiosTo(variant, peer)]));
      }
    }
    return summary;
  });
}

function ratioOf(ours, peer) {
  return Number.isFinite(ours) && Number.isFinite(peer) && peer > 0 ? ours / peer : null;
}

// --- what was run, where ---

/** The machine the numbers come from (call it when the run starts: it records the load average). */
export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    memory: `${Math.round(os.totalmem() / 2 ** 30)} GiB`,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    /** Other work on the machine when the run started (1, 5, 15 minutes): numbers from a busy machine are noisier. */
    loadAverage: os.loadavg().map((load) => Math.round(load * 100) / 100),
  };
}

/**
 * The installed versions of `names`, as resolved from bench/ (an npm alias such as
 * `@hocuspocus/server-4` gives the version of the package it installs). An entry may also be a
 * `[name, version]` pair, for what is not a package of bench/ (the Node that runs a peer).
 */
export function packageVersions(names) {
  return Object.fromEntries(names.map((entry) => (Array.isArray(entry) ? entry : [entry, versionOf(entry)])));
}

function versionOf(name) {
  let dir;
  try {
    dir = dirname(fileURLToPath(import.meta.resolve(name)));
  } catch {
    // A package with no main entry point (@y/websocket-server): its exported package.json.
    try {
      dir = dirname(fileURLToPath(import.meta.resolve(`${name}/package.json`)));
    } catch {
      return null;
    }
  }
  // Walk up from the resolved entry point to the package's own package.json.
  for (; dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (manifest.name === name || dir.endsWith(join('node_modules', name))) return manifest.version;
    } catch {
      // No package.json here: keep walking up.
    }
  }
  return null;
}

/** How this run was started, relative to the repository root, to reproduce it. */
export function commandLine() {
  const script = relative(repoRoot, process.argv[1] ?? '');
  return ['node', script, ...process.argv.slice(2)].join(' ');
}

function gitCommit() {
  const git = (...args) =>
    execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: 'pipe' }).trim();
  try {
    // "+dirty" when the measured code differs from the commit (results and charts aside).
    const changed = git(
      'status',
      '--porcelain',
      '--',
      'packages',
      'bench',
      ':!bench/results',
      ':!bench/test',
    );
    return `${git('rev-parse', 'HEAD')}${changed === '' ? '' : '+dirty'}`;
  } catch {
    return null;
  }
}

// --- output ---

/** Formats a value for tables and charts: fewer decimals as it grows. */
export function formatValue(value, unit = '') {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  const abs = Math.abs(value);
  const digits = Number.isInteger(value) || abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  const number = value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  return unit ? `${number} ${unit}` : number;
}

const labelOf = (variant) => `${variant.label}${variant.role === 'peer' ? ' (peer)' : ''}`;

/** Formats a ratio to the peer: `1.52×`. */
export function formatRatio(ratio) {
  return ratio === null || ratio === undefined ? '–' : `${ratio.toFixed(2)}×`;
}

/** The compact table of medians printed after a run (plain text, also used in docs as a code block). */
export function formatTable(results) {
  const primary = results.metrics.find((m) => m.primary) ?? results.metrics[0];
  const peers = results.variants.filter((variant) => variant.role === 'peer');
  const header = [
    'variant',
    ...results.metrics.map((m) => `${m.label} (${m.unit})`),
    ...peers.map((peer) => `${primary.label} ÷ ${peers.length > 1 ? peer.label : 'peer'}`),
  ];
  const rows = results.variants.map((variant) => [
    labelOf(variant),
    ...results.metrics.map((m) => formatValue(variant.median[m.key])),
    ...peers.map((peer) => {
      if (variant.id === peer.id) return '1.00×';
      if (variant.role !== 'ours') return '–';
      const ratio = peers.length > 1 ? variant.ratios?.[peer.id] : variant.ratio;
      return formatRatio(ratio?.[primary.key]);
    }),
  ]);
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => row[i].length)));
  const line = (cells) =>
    cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  ');
  const title = `${results.scenario} — ${results.size}, median of ${results.rounds} run${results.rounds === 1 ? '' : 's'}`;
  return [title, line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * The results as a markdown table, the way docs/performance.md shows them: one row per variant
 * (labelled as in the charts), one column per metric holding `median (lowest–highest)` of its
 * samples, then for the primary metric the ratio of ours to each peer (`÷ peer`, or `÷ <label>`
 * when there are several); a peer's own column reads 1.00×, other variants get no ratio.
 * `node bench/render.mjs --markdown` prints it for every results file.
 */
export function formatMarkdownTable(results) {
  const primary = results.metrics.find((m) => m.primary) ?? results.metrics[0];
  const peers = results.variants.filter((variant) => variant.role === 'peer');
  const cell = (text) => String(text).replaceAll('|', '\\|');
  const spread = (variant, metric) => {
    const median = formatValue(variant.median[metric.key]);
    const values = variant.samples.map((s) => s[metric.key]).filter(Number.isFinite);
    if (values.length < 2) return median;
    const low = formatValue(Math.min(...values));
    const high = formatValue(Math.max(...values));
    return low === high ? median : `${median} (${low}–${high})`;
  };
  const header = [
    'variant',
    ...results.metrics.map((m) => `${m.label} (${m.unit})`),
    ...peers.map((peer) => `${primary.label} ÷ ${peers.length > 1 ? peer.label : 'peer'}`),
  ];
  const rows = results.variants.map((variant) => [
    labelOf(variant),
    ...results.metrics.map((m) => spread(variant, m)),
    ...peers.map((peer) => {
      if (variant.id === peer.id) return '1.00×';
      if (variant.role !== 'ours') return '–';
      const ratio = peers.length > 1 ? variant.ratios?.[peer.id] : variant.ratio;
      return formatRatio(ratio?.[primary.key]);
    }),
  ]);
  const line = (cells) => `| ${cells.map(cell).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Writes `<dir>/<scenario>.json`; returns its path. */
export function writeResults(results, dir) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${results.scenario}.json`);
  writeFileSync(path, toJson(results));
  return path;
}

/**
 * JSON laid out the way Biome formats it (the results are checked in under bench/, which Biome
 * checks): objects one key per line, arrays of numbers on one line when they fit.
 */
export function toJson(value) {
  const lineWidth = 110;
  // `prefix`: the characters before the value on its line (the key, and a trailing comma after it).
  const render = (v, indent, prefix = 0) => {
    if (Array.isArray(v)) {
      if (v.length === 0) return '[]';
      const items = v.map((item) => render(item, `${indent}  `));
      const flat = `[${items.join(', ')}]`;
      const simple = v.every((item) => item === null || typeof item !== 'object');
      if (simple && indent.length + prefix + flat.length <= lineWidth) return flat;
      if (!simple) return `[\n${items.map((item) => `${indent}  ${item}`).join(',\n')}\n${indent}]`;
      // Numbers that do not fit on the key's line fill lines of their own, as Biome lays them out.
      const lines = [];
      let line = '';
      for (const item of items) {
        const next = line === '' ? item : `${line}, ${item}`;
        if (line !== '' && indent.length + 2 + next.length + 1 > lineWidth) {
          lines.push(`${line},`);
          line = item;
        } else {
          line = next;
        }
      }
      lines.push(line);
      return `[\n${lines.map((l) => `${indent}  ${l}`).join('\n')}\n${indent}]`;
    }
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v).filter(([, item]) => item !== undefined);
      if (entries.length === 0) return '{}';
      const lines = entries.map(
        ([key, item]) =>
          `${indent}  ${JSON.stringify(key)}: ${render(item, `${indent}  `, JSON.stringify(key).length + 3)}`,
      );
      return `{\n${lines.join(',\n')}\n${indent}}`;
    }
    return JSON.stringify(v) ?? 'null';
  };
  return `${render(value, '')}\n`;
}

/** Renders `<dir>/<scenario>.svg` from results; returns its path. */
export function writeChart(results, dir) {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${results.scenario}.svg`);
  writeFileSync(path, renderChart(results));
  return path;
}

const escapeXml = (text) =>
  String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/**
 * A horizontal bar chart, one panel per metric: the median of each variant as a bar (the peer in
 * grey), the range of its samples as a whisker, the ratio to the peer beside ours, and a metric's
 * target as a dashed line. Hand-written SVG, no dependency.
 */
export function renderChart(results) {
  const peers = results.variants.filter((variant) => variant.role === 'peer');
  const firstPeer = peers.length > 1 ? peers[0].label : 'peer';
  /** The text beside a bar: the median, and for ours its ratio to the (first) peer. */
  const valueText = (variant, metric) =>
    formatValue(variant.median[metric.key], metric.unit) +
    (variant.role === 'ours' ? ` · ${formatRatio(variant.ratio?.[metric.key])} ${firstPeer}` : '');
  // Columns wide enough for the longest label and value (~6.6 px per character at 12 px).
  const textWidth = (texts) => Math.ceil(Math.max(...texts.map((text) => text.length)) * 6.6);
  const labelWidth = Math.max(190, 16 + textWidth(results.variants.map(labelOf)));
  const values = results.metrics.flatMap((metric) => results.variants.map((v) => valueText(v, metric)));
  const valueWidth = Math.max(170, 8 + textWidth(values));
  const barArea = 380;
  const width = labelWidth + barArea + valueWidth + 20;
  const rowHeight = 26;
  // Ours in blue, peers in grey; references (a ceiling, a floor) in green.
  const colors = { ours: '#2563eb', peer: '#9ca3af', reference: '#86efac' };
  const parts = [];
  let y = 34;
  parts.push(
    `<text x="10" y="22" font-size="15" font-weight="bold">${escapeXml(results.title ?? results.scenario)}</text>`,
  );
  for (const metric of results.metrics) {
    y += 12;
    const title = `${metric.label} (${metric.unit}), median of ${results.rounds}${metric.lowerIsBetter === false ? '' : ' — lower is better'}`;
    parts.push(`<text x="10" y="${y + 4}" font-size="13" font-weight="bold">${escapeXml(title)}</text>`);
    y += 12;
    const highs = results.variants.flatMap((v) => [
      v.median[metric.key],
      ...v.samples.map((s) => s[metric.key]),
    ]);
    const max = Math.max(...highs.filter(Number.isFinite), metric.target ?? 0, 1e-9);
    const scale = (value) => Math.max(0, (value / max) * barArea);
    const top = y;
    for (const variant of results.variants) {
      const value = variant.median[metric.key];
      const values = variant.samples.map((s) => s[metric.key]).filter(Number.isFinite);
      const barY = y + 4;
      const barHeight = rowHeight - 8;
      parts.push(
        `<text x="${labelWidth - 8}" y="${barY + barHeight - 4}" font-size="12" text-anchor="end">${escapeXml(labelOf(variant))}</text>`,
        `<rect x="${labelWidth}" y="${barY}" width="${scale(value).toFixed(1)}" height="${barHeight}" fill="${colors[variant.role] ?? colors.reference}"/>`,
      );
      if (values.length > 1) {
        const x1 = labelWidth + scale(Math.min(...values));
        const x2 = labelWidth + scale(Math.max(...values));
        const mid = barY + barHeight / 2;
        parts.push(
          `<path d="M${x1.toFixed(1)} ${mid}H${x2.toFixed(1)}M${x1.toFixed(1)} ${mid - 4}v8M${x2.toFixed(1)} ${mid - 4}v8" stroke="#111827" stroke-width="1"/>`,
        );
      }
      parts.push(
        `<text x="${labelWidth + barArea + 8}" y="${barY + barHeight - 4}" font-size="12">${escapeXml(valueText(variant, metric))}</text>`,
      );
      y += rowHeight;
    }
    if (metric.target !== undefined) {
      const x = labelWidth + scale(metric.target);
      parts.push(
        `<line x1="${x.toFixed(1)}" y1="${top}" x2="${x.toFixed(1)}" y2="${y}" stroke="#dc2626" stroke-dasharray="4 3"/>`,
        `<text x="${(x + 3).toFixed(1)}" y="${y + 11}" font-size="10" fill="#dc2626">target ${escapeXml(formatValue(metric.target, metric.unit))}</text>`,
      );
      y += 12;
    }
    y += 8;
  }
  const m = results.machine;
  const footer = `bars: medians, whiskers: min–max of the samples · ${results.size} size · ${m.cpu}, ${m.cores} cores, ${m.memory} · Node ${m.node} · ${results.date.slice(0, 10)}`;
  y += 8;
  parts.push(`<text x="10" y="${y}" font-size="11" fill="#4b5563">${escapeXml(footer)}</text>`);
  parts.push(`<text x="10" y="${y + 15}" font-size="11" fill="#4b5563">${escapeXml(results.command)}</text>`);
  const height = y + 26;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" fill="#111827">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

/** Yjs updates as one buffer (a 4-byte length before each), to hand a child process its input. */
export function frameUpdates(updates) {
  const total = updates.reduce((sum, update) => sum + 4 + update.byteLength, 0);
  const buffer = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const update of updates) {
    buffer.writeUInt32LE(update.byteLength, offset);
    buffer.set(update, offset + 4);
    offset += 4 + update.byteLength;
  }
  return buffer;
}

/** The updates `frameUpdates` wrote (views into `buffer`). */
export function unframeUpdates(buffer) {
  const updates = [];
  for (let offset = 0; offset < buffer.byteLength; ) {
    const length = buffer.readUInt32LE(offset);
    updates.push(new Uint8Array(buffer.buffer, buffer.byteOffset + offset + 4, length));
    offset += 4 + length;
  }
  return updates;
}
