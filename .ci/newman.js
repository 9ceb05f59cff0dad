#!/usr/bin/env node
// Helper for .ci/newman.sh: Microsoft's Entra "SCIM Tests" Postman collection
// (../shared/conformance, IDP-QUIRKS §1.1). Plain Node, no dependencies.
//
//   node .ci/newman.js prepare COLLECTION OUT
//       Writes a copy of COLLECTION, for this run only, without its
//       "Get Token" folder (it asks a /Token route scimd does not have, and
//       its script would overwrite the token we pass), and with every item
//       given a stable id ("3.7": folder 3, request 7) so that the report can
//       be traced back to folder and position. Why not `newman --folder`:
//       request names repeat, and postman-runtime resolves a --folder name to
//       the first item so named, so the collection's final root request
//       "Get all users" (the "Users cleared" check) can never be selected: it
//       is shadowed by the "Get all users" inside "User tests with garbage".
//
//   node .ci/newman.js check PREPARED REPORT DEVIATIONS LABEL
//       Reads newman's JSON report. Exit 1 on any failed assertion, script
//       error or request error not listed in DEVIATIONS, or when the run did
//       not execute every request and every assertion of PREPARED.
//
//   node .ci/newman.js port
//       Prints a free TCP port on 127.0.0.1.
//
// DEVIATIONS is a JSON array of
//   {"folder", "request", "occurrence"?, "assertion", "rfc", "reason"}
// "occurrence" (1-based) picks one of several same-named requests of the
// folder ("Get group by id" appears twice in "Group tests"); without it the
// entry covers them all. Non-assertion failures are named
// "[request error]", "[prerequestScript error] NAME", "[testScript error] NAME".
'use strict';

const fs = require('fs');
const net = require('net');

const SKIP_FOLDERS = ['Get Token'];

function fail(msg) {
  console.error(`newman.js: ${msg}`);
  process.exit(2);
}

function readJSON(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    fail(`cannot read ${file}: ${err.message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    fail(`${file} is not JSON: ${err.message}`);
  }
}

// countTests counts the pm.test(…) calls in the test scripts of items.
function countTests(items) {
  let n = 0;
  for (const it of items) {
    if (it.item) n += countTests(it.item);
    for (const ev of it.event || []) {
      if (ev.listen !== 'test' || !ev.script) continue;
      for (const line of [].concat(ev.script.exec || [])) {
        if (/^\s*\/\//.test(line)) continue;
        n += (line.match(/\bpm\.test\s*\(/g) || []).length;
      }
    }
  }
  return n;
}

// meta maps the item ids of a prepared collection to where they are.
function meta(c) {
  const requests = new Map();
  const walk = (items, folder) => {
    const seen = {};
    for (const it of items) {
      if (it.item) {
        walk(it.item, it.name);
        continue;
      }
      seen[it.name] = (seen[it.name] || 0) + 1;
      requests.set(it.id, { folder, name: it.name, occurrence: seen[it.name], tests: countTests([it]) });
    }
  };
  walk(c.item, 'root');
  return { requests, assertions: countTests(c.item), skipped: (c.info && c.info.scimdSkipped) || null };
}

// prepare ---------------------------------------------------------------

function prepare(collectionFile, out) {
  const c = readJSON(collectionFile);
  const total = countTests(c.item);
  const skipped = c.item.filter((it) => it.item && SKIP_FOLDERS.includes(it.name));
  if (skipped.length !== SKIP_FOLDERS.length) {
    fail(`${collectionFile}: expected the top-level folders ${JSON.stringify(SKIP_FOLDERS)}; has the collection changed?`);
  }
  c.item = c.item.filter((it) => !skipped.includes(it));
  c.item.forEach((it, i) => {
    it.id = String(i + 1);
    if (it.item) it.item.forEach((sub, j) => { sub.id = `${i + 1}.${j + 1}`; });
  });
  c.info = c.info || {};
  c.info.scimdSkipped = { folders: SKIP_FOLDERS, assertions: countTests(skipped), total };
  fs.writeFileSync(out, JSON.stringify(c, null, 1));
  const m = meta(c);
  console.log(`collection: ${m.requests.size} requests, ${m.assertions} of its ${total} assertions ` +
    `(not run: folder ${SKIP_FOLDERS.map((s) => `"${s}"`).join(', ')})`);
}

// check -----------------------------------------------------------------

function where(mi) {
  return `[${mi.folder}] ${mi.name}${mi.dup ? ` (#${mi.occurrence})` : ''}`;
}

function requestLine(ex) {
  const r = ex.request || {};
  const u = r.url || {};
  if (typeof u === 'string') return `${r.method || '?'} ${u}`;
  const host = Array.isArray(u.host) ? u.host.join('.') : (u.host || '');
  const path = Array.isArray(u.path) ? u.path.join('/') : (u.path || '');
  const query = (u.query || []).filter((q) => !q.disabled)
    .map((q) => (q.value == null ? q.key : `${q.key}=${q.value}`)).join('&');
  let url = `/${path}${query ? `?${query}` : ''}`;
  if (host) url = `${u.protocol || 'http'}://${host}${u.port ? `:${u.port}` : ''}${url}`;
  return `${r.method || '?'} ${url}`;
}

function requestBody(ex) {
  const b = ex.request && ex.request.body;
  return b && b.mode === 'raw' && b.raw ? b.raw : '';
}

function responseText(ex) {
  const s = ex.response && ex.response.stream;
  if (!s) return '';
  if (s.type === 'Buffer' && Array.isArray(s.data)) return Buffer.from(s.data).toString('utf8');
  return typeof s === 'string' ? s : JSON.stringify(s);
}

function clip(s, n) {
  s = s.replace(/\s+/g, ' ').trim();
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

function check(preparedFile, reportFile, deviationsFile, label) {
  const m = meta(readJSON(preparedFile));
  const report = readJSON(reportFile);
  const deviations = readJSON(deviationsFile);
  if (!Array.isArray(deviations)) fail(`${deviationsFile}: want a JSON array`);
  for (const d of deviations) {
    for (const k of ['folder', 'request', 'assertion', 'rfc', 'reason']) {
      if (typeof d[k] !== 'string' || !d[k]) fail(`${deviationsFile}: entry without "${k}": ${JSON.stringify(d)}`);
    }
    d.seen = { failed: 0, passed: 0 };
  }
  const names = {};
  for (const mi of m.requests.values()) names[`${mi.folder}\0${mi.name}`] = (names[`${mi.folder}\0${mi.name}`] || 0) + 1;
  for (const mi of m.requests.values()) mi.dup = names[`${mi.folder}\0${mi.name}`] > 1;
  const listed = (mi, assertion) => deviations.find((d) => d.folder === mi.folder && d.request === mi.name &&
    d.assertion === assertion && (d.occurrence == null || d.occurrence === mi.occurrence));

  const n = { passed: 0, failed: 0, errors: 0 };
  const failures = [];
  const ran = new Map(); // item id -> assertions seen
  for (const ex of (report.run && report.run.executions) || []) {
    const id = ex.item && ex.item.id;
    const mi = m.requests.get(id) || { folder: '?', name: (ex.item && ex.item.name) || '?', occurrence: 1 };
    ran.set(id, (ran.get(id) || 0) + (ex.assertions || []).length);
    const record = (assertion, error, isAssertion) => {
      const d = listed(mi, assertion);
      if (!error) {
        n.passed++;
        if (d) d.seen.passed++;
        return;
      }
      n[isAssertion ? 'failed' : 'errors']++;
      if (d) d.seen.failed++;
      failures.push({ mi, assertion, message: error.message || String(error), ex, d });
    };
    for (const a of ex.assertions || []) {
      if (!a.skipped) record(a.assertion, a.error, true);
    }
    if (ex.requestError) record('[request error]', ex.requestError, false);
    for (const phase of ['prerequestScript', 'testScript']) {
      for (const s of ex[phase] || []) {
        if (s.error) record(`[${phase} error] ${s.error.name || 'Error'}`, s.error, false);
      }
    }
  }

  // A run cut short, or a script that stopped before its pm.test calls,
  // must not look green: every request ran, with all its assertions.
  const problems = [];
  for (const [id, mi] of m.requests) {
    if (!ran.has(id)) problems.push(`request did not run: ${where(mi)}`);
    else if (ran.get(id) !== mi.tests) problems.push(`${where(mi)}: ${ran.get(id)} assertions ran, the collection has ${mi.tests}`);
  }
  if (n.passed + n.failed !== m.assertions) problems.push(`${n.passed + n.failed} assertion results, the collection has ${m.assertions}`);

  const expected = failures.filter((f) => f.d);
  const unexpected = failures.filter((f) => !f.d);
  console.log(`\n--- newman ${label}: failures checked against ${deviationsFile}`);
  for (const f of expected) {
    console.log(`  deviation  ${where(f.mi)} › ${f.assertion}`);
    console.log(`             ${f.d.rfc}: ${f.d.reason}`);
  }
  for (const f of unexpected) {
    console.log(`  FAIL       ${where(f.mi)} › ${f.assertion}: ${f.message}`);
    console.log(`             ${requestLine(f.ex)} -> ${f.ex.response ? `${f.ex.response.code} ${f.ex.response.status || ''}` : 'no response'}`);
    const body = requestBody(f.ex);
    if (body) console.log(`             request:  ${clip(body, 300)}`);
    const resp = responseText(f.ex);
    if (resp) console.log(`             response: ${clip(resp, 400)}`);
  }
  for (const d of deviations) {
    const name = `[${d.folder}] ${d.request}${d.occurrence ? ` (#${d.occurrence})` : ''} › ${d.assertion}`;
    if (d.seen.failed === 0 && d.seen.passed > 0) console.log(`  now passing, remove from ${deviationsFile}: ${name}`);
    else if (d.seen.failed === 0) console.log(`  listed in ${deviationsFile} but never ran (stale entry?): ${name}`);
  }
  for (const p of problems) console.log(`  HARNESS    ${p}`);

  const listedNote = unexpected.length
    ? `${expected.length} listed deviations, ${unexpected.length} NOT LISTED`
    : `${expected.length} listed deviations`;
  let line = `newman ${label}: ${n.passed} passed, ${n.failed} failed (${listedNote})`;
  if (n.errors) line += `, ${n.errors} script/request errors`;
  line += ` of ${m.assertions}`;
  if (m.skipped) line += `; not run: ${m.skipped.folders.map((f) => `"${f}"`).join(', ')} (${m.skipped.assertions} of ${m.skipped.total})`;
  if (problems.length) line += '; INCOMPLETE RUN';
  console.log(line);
  process.exit(unexpected.length || problems.length ? 1 : 0);
}

// port ------------------------------------------------------------------

function port() {
  const srv = net.createServer();
  srv.on('error', (err) => fail(`no free port: ${err.message}`));
  srv.listen(0, '127.0.0.1', () => {
    const p = srv.address().port;
    srv.close(() => console.log(p));
  });
}

const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
  case 'prepare':
    if (args.length !== 2) fail('usage: prepare COLLECTION OUT');
    prepare(...args);
    break;
  case 'check':
    if (args.length !== 4) fail('usage: check PREPARED REPORT DEVIATIONS LABEL');
    check(...args);
    break;
  case 'port':
    port();
    break;
  default:
    fail('usage: node .ci/newman.js prepare|check|port …');
}
