/**
 * The hub's own pages: plain HTML, no framework, every dynamic value escaped.
 */
import type { Classroom } from './classroom.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const STYLE = `body{font:16px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin:.5rem 0}input{font:inherit;padding:.3rem}button{font:inherit;padding:.3rem 1rem}
table{border-collapse:collapse}td,th{border:1px solid #999;padding:.2rem .4rem}td.pass{background:#c8f0c8}td.fail{background:#f6d0d0}
.error{color:#a00}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

/** Sign-in for one classroom: join code (if the class has one) and OIDC (if configured). */
export function joinPage(classroom: Classroom, oidc: boolean, error?: string): string {
  const code = classroom.joinCode
    ? `<form method="post" action="/hub/api/join">
<input type="hidden" name="classroom" value="${escapeHtml(classroom.id)}">
<label>Your name <input name="name" required maxlength="60" autocomplete="name"></label>
<label>Join code <input name="code" required autocomplete="off"></label>
<button type="submit">Join</button></form>`
    : '';
  const sso = oidc ? `<p><a href="/hub/oidc/${escapeHtml(classroom.id)}/login">Sign in with your organisation's account</a></p>` : '';
  return page(classroom.title, `<h1>${escapeHtml(classroom.title)}</h1>${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}${code}${sso}`);
}

/** Where a signed-in learner waits for their lab pod; it moves on once the lab is ready. */
export function labWaitPage(): string {
  return page(
    'Starting your lab',
    `<h1>Starting your lab…</h1><p id="status" role="status">Finding a lab for you.</p>
<script>
// After a first look, a long poll: the hub answers when the status changes (or after 15 s), so the
// page moves on the moment the lab is ready.
let seen;
(async function poll() {
  const status = document.getElementById('status');
  try {
    const body = seen === undefined ? '{}' : JSON.stringify({ waitMs: 15000, seen });
    const response = await fetch('/hub/api/me', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const me = await response.json();
    if (me.lab && me.lab.state === 'ready') return location.assign(me.lab.url);
    status.textContent = me.lab ? me.lab.message : me.error;
    if (me.lab && (me.lab.state === 'failed' || me.lab.state === 'full')) return;
    if (me.lab) {
      seen = me.lab.message;
      return poll();
    }
  } catch { status.textContent = 'The hub does not answer; trying again.'; }
  setTimeout(poll, 1000);
})();
</script>`,
  );
}

/** The instructor's grid page (filled by instructor.js). */
export function instructorPage(classroom: Classroom): string {
  return page(
    `${classroom.title}: instructor`,
    `<h1>${escapeHtml(classroom.title)}</h1><p><a href="/hub/api/classrooms/${escapeHtml(classroom.id)}/progress.csv" download>Export CSV</a></p>
<div id="grid" data-classroom="${escapeHtml(classroom.id)}" aria-live="polite">Loading…</div><script src="/hub/static/instructor.js"></script>`,
  );
}

/** A page-level error with what to do. */
export function errorPage(message: string, fix: string): string {
  return page('Lab hub', `<h1>Lab hub</h1><p class="error" role="alert">${escapeHtml(message)}</p><p>${escapeHtml(fix)}</p>`);
}
