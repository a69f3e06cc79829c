#!/usr/bin/env node
/**
 * Enforces the import rules of shared/STYLE.md over `packages/<name>/src/**` (tests excluded):
 *  (a) imports go one way: core ← file, redis, postgres ← server, agui ← cli; server and agui
 *      see only core (never a concrete adapter), and no package reaches into another by path;
 *  (b) no module imports its own package's barrel (`src/index`) or its own package name;
 *  (c) core stays browser-safe: no `node:` module, no bare package but `yjs` and `lib0/*`
 *      (the files behind core's Node-only subpath exports — codecs, archive, testing/ — are exempt);
 *      @ystate/client imports nothing but its own modules;
 *  (d) every `@ystate/*` import is declared in the importing package's `dependencies`.
 * Prints `file:line message` per violation and exits 1 on any. Plain Node, no dependencies.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Package directory → the package directories it may import. Directories not present are skipped. */
const allowed = {
  core: [],
  file: ['core'],
  redis: ['core'],
  postgres: ['core'],
  server: ['core'],
  agui: ['core'],
  cli: ['core', 'file', 'redis', 'postgres', 'server', 'agui'],
  // The HTTP client runs in browsers and imports nothing: no package of ours, no dependency.
  client: [],
  // React hooks run in browsers: core, and React / y-websocket / yjs (checked below).
  react: ['core'],
};

/** Import specifier → the package directory it names, for our own packages. */
function ownPackageOf(specifier) {
  if (specifier === 'ystate' || specifier.startsWith('ystate/')) return 'cli';
  const match = /^@ystate\/([^/]+)/.exec(specifier);
  return match ? match[1] : undefined;
}

// Node-only code sits behind core's subpath exports (`@ystate/core/codecs`, `/archive`, `/testing`).
const coreNodeOnlyFiles = new Set(['codecs.ts', 'archive.ts']);
const coreNodeOnly = (file) => coreNodeOnlyFiles.has(file) || file.startsWith(`testing${sep}`);
const coreBrowserSafe = (specifier) => specifier === 'yjs' || specifier.startsWith('lib0/');
const isSource = (name) => /\.(ts|tsx|mts|cts)$/.test(name) && !/\.(test|spec)\.[cm]?tsx?$/.test(name);

/** Keywords after which `/` starts a regex; any other word is a value, after which it divides. */
const regexAfterWord = new Set(
  'return typeof case do else in of new delete void throw instanceof yield await'.split(' '),
);

const violations = [];
let scanned = 0;

for (const dir of readdirSync(join(root, 'packages'), { withFileTypes: true })) {
  if (!dir.isDirectory()) continue;
  const pkgDir = join(root, 'packages', dir.name);
  const srcDir = join(pkgDir, 'src');
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  } catch {
    continue; // not a package (yet)
  }
  const files = listSources(srcDir);
  if (!(dir.name in allowed)) {
    report(join(pkgDir, 'package.json'), 1, `unknown package "${dir.name}": add it to the layer table`);
    continue;
  }
  const declared = new Set(Object.keys(manifest.dependencies ?? {}));
  for (const file of files) {
    scanned++;
    const inSrc = relative(srcDir, file);
    for (const { specifier, line } of importsOf(readFileSync(file, 'utf8'))) {
      const fail = (message) => report(file, line, `${message} ('${specifier}')`);
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier);
        if (target !== pkgDir && !target.startsWith(pkgDir + sep)) {
          fail('(a) relative import outside the package; import the package by name');
        } else if (/^(index(\.[cm]?[jt]sx?)?)?$/.test(relative(srcDir, target))) {
          fail(`(b) imports its own package's barrel; import the module that defines it`);
        }
        continue;
      }
      const target = ownPackageOf(specifier);
      if (target === dir.name || specifier === manifest.name || specifier.startsWith(`${manifest.name}/`)) {
        fail('(b) imports its own package by name; use a relative import of the defining module');
      } else if (target !== undefined) {
        if (!allowed[dir.name].includes(target)) {
          fail(
            `(a) ${dir.name} may not import ${target} (allowed: ${allowed[dir.name].join(', ') || 'none'})`,
          );
        }
        const name = /^(@ystate\/[^/]+|ystate)/.exec(specifier)[1];
        if (!declared.has(name)) fail(`(d) "${name}" is not in ${dir.name}/package.json dependencies`);
      } else if (dir.name === 'core' && !coreNodeOnly(inSrc) && !coreBrowserSafe(specifier)) {
        fail(
          '(c) core must stay browser-safe: only yjs and lib0/* (Node-only code goes behind a subpath export)',
        );
      } else if (
        dir.name === 'react' &&
        !['react', 'y-websocket', 'yjs'].includes(specifier) &&
        !specifier.startsWith('.')
      ) {
        fail('(c) @ystate/react imports only @ystate/core, react, y-websocket and yjs (it runs in browsers)');
      } else if (dir.name === 'client' && !specifier.startsWith('.')) {
        fail('(c) @ystate/client imports nothing but its own modules (it runs in browsers, dependency-free)');
      }
    }
  }
}

for (const line of violations) console.error(line);
if (violations.length > 0) {
  console.error(`check-imports: ${violations.length} violation(s) in ${scanned} files`);
  process.exit(1);
}
console.log(`check-imports: ${scanned} files, no violations`);

function report(file, line, message) {
  violations.push(`${relative(root, file)}:${line} ${message}`);
}

function listSources(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : listSources(path);
    return isSource(entry.name) ? [path] : [];
  });
}

/** The module specifiers of a file's static, re-export, side-effect, dynamic and require imports. */
function importsOf(text) {
  const code = maskCommentsAndTemplates(text);
  const patterns = [
    /^[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"\n]+)\1/gm,
    /^[ \t]*import\s*(['"])([^'"\n]+)\1/gm,
    /\b(?:import|require)\s*\(\s*(['"])([^'"\n]+)\1/g,
  ];
  const found = [];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) {
      const offset = match.index + match[0].lastIndexOf(match[1] + match[2]);
      found.push({ specifier: match[2], line: code.slice(0, offset).split('\n').length });
    }
  }
  return found.sort((a, b) => a.line - b.line);
}

/**
 * Blanks comments and the literal parts of template strings (keeping newlines), so an import
 * quoted in a comment or in inline HTML is not mistaken for a real one. Quoted strings stay.
 */
function maskCommentsAndTemplates(text) {
  const out = text.split('');
  const blank = (from, to) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  const braces = []; // for each open `${`, the brace depth at which it closes
  let depth = 0;
  let i = 0;
  let inTemplate = false;
  let lastSignificant = '';
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (inTemplate) {
      const start = i;
      while (i < text.length && text[i] !== '`' && !(text[i] === '$' && text[i + 1] === '{')) {
        i += text[i] === '\\' ? 2 : 1;
      }
      blank(start, i);
      if (text[i] === '`') inTemplate = false;
      else {
        braces.push(depth);
        depth++;
        inTemplate = false;
        i++;
      }
      i++;
      lastSignificant = inTemplate || text[i - 1] === '`' ? ')' : '(';
    } else if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      i++;
      while (i < text.length && text[i] !== c && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
      i++;
      lastSignificant = ')';
    } else if (c === '`') {
      inTemplate = true;
      i++;
    } else if (c === '/' && /^$|[^\w$)\]]/.test(lastSignificant)) {
      // A regex literal (it follows an operator, not a value): skip it so its quotes are not strings.
      i++;
      let inClass = false;
      while (i < text.length && text[i] !== '\n' && (inClass || text[i] !== '/')) {
        if (text[i] === '[') inClass = true;
        else if (text[i] === ']') inClass = false;
        i += text[i] === '\\' ? 2 : 1;
      }
      i++;
      lastSignificant = ')';
    } else {
      if (c === '{') depth++;
      else if (c === '}') {
        depth--;
        if (braces.length > 0 && braces[braces.length - 1] === depth) {
          braces.pop();
          inTemplate = true;
        }
      }
      if (!/\s/.test(c)) lastSignificant = /[\w$]/.test(c) ? wordEndingAt(text, i) : c;
      i++;
    }
  }
  return out.join('');
}

function wordEndingAt(text, i) {
  let start = i;
  while (start > 0 && /[\w$]/.test(text[start - 1])) start--;
  return regexAfterWord.has(text.slice(start, i + 1)) ? '=' : 'x';
}
