// SPDX-License-Identifier: MIT
// The meshnetd web console: reads the admin API with the admin token (kept
// in this tab's sessionStorage only), renders with DOM nodes and text (never
// HTML from data), pins and unpins after an in-page confirmation.
'use strict';

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem('meshnet-admin-token') || '';
let selected = '';
let pending = null;
let revision = -1;   // the head revision last rendered
let watching = false;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

async function api(method, path, body) {
  const opts = { method: method, headers: { 'Authorization': 'Bearer ' + token } };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const j = await r.json().catch(() => null);
  if (!r.ok) {
    const msg = j && j.error ? j.error.message + ' (' + j.error.code + ')' : 'HTTP ' + r.status;
    const err = new Error(msg);
    err.status = r.status;
    throw err;
  }
  return j;
}

function scoresText(b) {
  if (!b) return '-';
  const s = b.scores;
  return [s.overall, s.refusal, s.honesty, s.policy].map((v) => Number(v).toFixed(2)).join('/');
}

function renderNodes(list) {
  const tbody = $('nodes').tBodies[0];
  tbody.replaceChildren();
  for (const n of list.nodes) {
    const tr = el('tr', null, 'node');
    tr.dataset.node = n.node_id;
    tr.appendChild(el('td', n.node_id));
    tr.appendChild(el('td', n.verdict, 'verdict-' + n.verdict));
    tr.appendChild(el('td', n.reason));
    tr.appendChild(el('td', scoresText(n.last_benchmark)));
    tr.appendChild(el('td', n.last_benchmark ? (n.last_benchmark.demo_scores ? 'yes' : 'no') : '-'));
    tr.appendChild(el('td', n.last_seen || 'never'));
    tr.appendChild(appliedCell(n));
    const td = el('td');
    if (n.pin) td.appendChild(el('span', n.pin + ' '));
    for (const [label, pin] of [['allow', 'ALLOWED'], ['deny', 'DENIED'], ['unpin', null]]) {
      if (pin === (n.pin || null)) continue;
      const b = el('button', label);
      b.type = 'button';
      b.className = 'pin-' + label;
      b.addEventListener('click', (ev) => { ev.stopPropagation(); ask(n.node_id, pin); });
      td.appendChild(b);
    }
    tr.appendChild(td);
    tr.addEventListener('click', () => { selected = n.node_id; refresh(); });
    tbody.appendChild(tr);
  }
}

// What the node's module applied (its last ack, POST /v1/ack) and its agent's version.
function appliedCell(n) {
  const td = el('td', n.applied_revision === null || n.applied_revision === undefined ? '-'
    : 'rev ' + n.applied_revision + (n.agent_version ? ' (' + n.agent_version + ')' : ''), 'applied');
  if (n.drift === true) {
    td.appendChild(el('span', ' TABLE DRIFT', 'verdict-DENIED'));
  }
  return td;
}

function ask(node, pin) {
  pending = { node: node, pin: pin };
  $('confirm-text').textContent = pin ? 'Pin ' + node + ' ' + pin + '? A new epoch starts at once.'
                                      : 'Clear the pin of ' + node + '? Its scores decide again.';
  $('confirm').hidden = false;
}

async function confirmPending() {
  const p = pending;
  pending = null;
  $('confirm').hidden = true;
  if (!p) return;
  try {
    await api('PUT', '/v1/nodes/' + encodeURIComponent(p.node) + '/override', { pin: p.pin });
  } catch (e) {
    $('updated').textContent = 'pin failed: ' + e.message;
  }
  refresh();
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
  if (text !== undefined) e.textContent = text;
  return e;
}

// The node's overall score history against the threshold.
function renderDetail(d) {
  const n = d, h = d.score_history, t = d.thresholds;
  $('detail').hidden = false;
  $('detail-title').textContent = n.node_id + ': ' + n.verdict + ' (' + n.reason + ')';
  const plot = $('plot');
  plot.replaceChildren();
  const W = 640, H = 220, L = 40, R = 10, T = 10, B = 30;
  const y = (v) => T + (1 - v) * (H - T - B);
  const x = (i) => L + (h.length < 2 ? (W - L - R) / 2 : i * (W - L - R) / (h.length - 1));
  plot.appendChild(svg('line', { x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: '#9aa3ad' }));
  plot.appendChild(svg('line', { x1: L, y1: y(1), x2: L, y2: y(0), stroke: '#9aa3ad' }));
  for (const v of [0, 0.5, 1]) plot.appendChild(svg('text', { x: 4, y: y(v) + 4, 'font-size': 11 }, v.toFixed(1)));
  plot.appendChild(svg('line', { id: 'threshold-line', x1: L, y1: y(t.overall), x2: W - R, y2: y(t.overall),
                                 stroke: '#b3261e', 'stroke-dasharray': '6 4' }));
  plot.appendChild(svg('text', { x: W - R - 110, y: y(t.overall) - 4, 'font-size': 11, fill: '#b3261e' },
                       'threshold ' + t.overall.toFixed(2)));
  if (h.length) {
    const pts = h.map((s, i) => x(i) + ',' + y(s.scores.overall)).join(' ');
    plot.appendChild(svg('polyline', { points: pts, fill: 'none', stroke: '#1d3557', 'stroke-width': 2 }));
    h.forEach((s, i) => {
      const c = svg('circle', { cx: x(i), cy: y(s.scores.overall), r: 4, class: 'sample',
                                fill: s.scores.overall >= t.overall ? '#11722f' : '#b3261e' });
      c.appendChild(svg('title', {}, s.timestamp + ' overall ' + s.scores.overall));
      plot.appendChild(c);
    });
  }
  $('detail-text').textContent = h.length + ' benchmark(s) since the controller started; last ' +
    scoresText(n.last_benchmark) + (n.last_benchmark && n.last_benchmark.demo_scores ? ' (demo scores)' : '');
  if (d.explanation) renderExplanation(d.explanation);
  else api('GET', '/v1/nodes/' + encodeURIComponent(n.node_id)) // a view without it
    .then((v) => renderExplanation(v.explanation), () => renderExplanation(null));
}

// Why the node has its verdict (the explanation of docs/policy.md): the
// rule, the attestations it used (evaluator, suite, scores, age), what is missing.
function renderExplanation(x) {
  const box = $('detail-why');
  box.replaceChildren();
  if (!x) { box.appendChild(el('p', 'no explanation')); return; }
  const policy = x.policy_version ? 'policy v' + x.policy_version : 'built-in v1 threshold rule';
  box.appendChild(el('p', 'Decided by rule ' + x.rule + ' (' + policy + '): ' + x.reason, 'why-rule'));
  const used = el('ul', undefined, 'why-used');
  for (const a of x.attestations || []) {
    const sc = Object.entries(a.scores || {}).map(([k, v]) => k + ' ' + Number(v).toFixed(2)).join(', ');
    used.appendChild(el('li', a.evaluator + ' / ' + a.suite + ': ' + sc + ' (' + a.age_s + ' s old)'));
  }
  box.appendChild(el('h3', 'Attestations used (' + (x.attestations || []).length + ')'));
  box.appendChild(used);
  const missing = el('ul', undefined, 'why-missing');
  for (const m of x.missing || []) missing.appendChild(el('li', m));
  box.appendChild(el('h3', 'Missing (' + (x.missing || []).length + ')'));
  box.appendChild(missing);
}

// Which peers confirmed each quarantine: the ALLOWED peers whose last ack is
// at or past the quarantine's revision (acks: GET /v1/admin/acks).
function confirmations(acks, q) {
  const done = [], waiting = [];
  const per = (acks && acks.per_node) || {};
  for (const id of Object.keys(per).sort()) {
    if (id === q.node_id) continue;
    const a = per[id];
    if (a.acked && a.applied_revision >= q.revision) done.push(id);
    else if (verdictOf[id] === 'ALLOWED') waiting.push(id);
  }
  return { done: done, waiting: waiting };
}

let verdictOf = {};

function renderTimeline(audit, acks) {
  const ol = $('timeline');
  ol.replaceChildren();
  // verdict changes (from, to, reason, epoch), admin pins and removals, newest first
  const recs = audit.records.filter((r) => r.type === 'verdict' || r.type === 'override' || r.type === 'remove');
  const quarantines = (acks && acks.quarantines) || [];
  for (const r of recs.reverse()) {
    const what = r.type === 'verdict' ? r.from + ' -> ' + r.to + ' in epoch ' + r.epoch
      : r.type === 'override' ? 'pinned ' + r.pin + ' by admin' : 'removed';
    const li = el('li', r.time + '  ' + (r.node_id || '') + '  ' + what + (r.reason ? ': ' + r.reason : ''));
    if (r.to === 'DENIED') li.className = 'verdict-DENIED';
    ol.appendChild(li);
  }
  if (!recs.length) ol.appendChild(el('li', 'no verdict change yet'));
  // each quarantine the controller tracks, with the peers that enforce it
  const ql = $('confirmations');
  ql.replaceChildren();
  for (const q of quarantines) {
    const c = confirmations(acks, q);
    const li = el('li', q.time_utc + '  ' + q.node_id + ' quarantined at revision ' + q.revision + ': ' +
      q.confirmed + ' of ' + q.peers + ' peers confirmed' +
      (q.all_confirmed && q.all_confirmed_ms !== null ? ' (all within ' + q.all_confirmed_ms + ' ms)' : ''),
      q.all_confirmed ? 'confirmed-all' : 'confirmed-some');
    li.dataset.node = q.node_id;
    li.appendChild(el('div', 'confirmed by: ' + (c.done.length ? c.done.join(', ') : 'none yet') +
      (c.waiting.length ? '; waiting for: ' + c.waiting.join(', ') : ''), 'confirmers'));
    ql.appendChild(li);
  }
  if (!quarantines.length) ql.appendChild(el('li', 'no quarantine since the controller started'));
}

function renderStatus(st, ep) {
  $('summary').textContent = 'epoch ' + st.epoch.id + ' | ' + st.nodes.allowed + ' allowed, ' +
    st.nodes.denied + ' denied, ' + st.nodes.demo_scores + ' on demo scores';
  const dl = $('epoch');
  dl.replaceChildren();
  const rows = [['epoch', ep.current.id], ['started', ep.current.start], ['expires', ep.current.expiry],
                ['secret', ep.current.secret_hash], ['rotations', ep.rotations],
                ['audit records', st.audit.records], ['audit head', st.audit.head],
                ['demo scores', st.rules.allow_demo_scores ? 'accepted' : 'refused']];
  for (const [k, v] of rows) { dl.appendChild(el('dt', k)); dl.appendChild(el('dd', v)); }
}

// Reads everything and renders it. false when signed out (401).
async function refresh() {
  try {
    const [st, nodes, ep, audit, acks] = await Promise.all([api('GET', '/v1/admin/status'),
      api('GET', '/v1/admin/nodes'), api('GET', '/v1/admin/epochs'), api('GET', '/v1/admin/audit?tail=200'),
      api('GET', '/v1/admin/acks')]);
    $('login').hidden = true;
    $('app').hidden = false;
    renderStatus(st, ep);
    renderNodes(nodes);
    verdictOf = Object.fromEntries(nodes.nodes.map((n) => [n.node_id, n.verdict]));
    renderTimeline(audit, acks);
    if (selected) renderDetail(await api('GET', '/v1/admin/nodes/' + encodeURIComponent(selected)));
    $('updated').textContent = 'revision ' + revision + ', updated ' + new Date().toISOString();
  } catch (e) {
    if (e.status === 401) {
      sessionStorage.removeItem('meshnet-admin-token');
      $('login').hidden = false;
      $('app').hidden = true;
      $('login-error').textContent = e.message;
      return false;
    }
    $('updated').textContent = 'error: ' + e.message;
  }
  return true;
}

const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// Live updates: a long-poll on /v1/admin/changes (held by meshnetd until a
// change publishes a newer revision, or 10 s); every answer re-renders (a
// timeout too: scores and last-seen times move without a revision).
async function watch() {
  if (watching) return;
  watching = true;
  $('live').textContent = 'live (long-poll)';
  for (;;) {
    let ok = true;
    try {
      const c = await api('GET', '/v1/admin/changes?after=' + Math.max(revision, 0) +
                          (revision < 0 ? '' : '&wait=10'));
      revision = c.revision;
    } catch (e) {
      if (e.status === 401) ok = false;
      else await sleep(2000); // controller away: retry, as the agents do
    }
    if (!ok || !(await refresh())) break;
  }
  watching = false;
  revision = -1;
  $('live').textContent = 'not live';
}

document.addEventListener('DOMContentLoaded', () => {
  $('login-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem('meshnet-admin-token', token);
    $('login-error').textContent = '';
    refresh().then((ok) => { if (ok) watch(); });
  });
  $('confirm-yes').addEventListener('click', confirmPending);
  $('confirm-no').addEventListener('click', () => { pending = null; $('confirm').hidden = true; });
  if (token) refresh().then((ok) => { if (ok) watch(); });
});
