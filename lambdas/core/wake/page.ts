// Owns the wake page's HTML: one self-contained page (no script, style, font or image from
// anywhere; the policy below allows only its own inline style, the one inline script with
// this response's nonce, requests to its own /status and forms to itself). Readable and usable
// without JavaScript: the Wake button is a form POST, and while waking a <meta refresh>
// reloads it; with JavaScript, a tiny script polls /status, updates the steps and sends the
// person to the application when it is awake. Every text from records or the request is escaped.

import { clockTime } from '../records/wake.ts';
import { escapeHtml as e } from '../report/page.ts';
import { describeEta } from './eta.ts';
import type { WakeView } from './progress.ts';

/** Seconds between reloads without JavaScript while waking. */
export const REFRESH_SECONDS = 5;
/**
 * Milliseconds between polls with JavaScript: a twentieth of the time the estimate says is left,
 * between these bounds, and the shortest once nothing is left by the estimate (or there is
 * none), so the person lands on the application within a fraction of a second of its up ending
 * (`npm run bench -- wake`). Each poll reads three small records: a person watching a wake
 * costs a few S3 GETs a second, for minutes.
 */
export const POLL_MS = { min: 250, max: 5000 } as const;

/** The page's policy; the header adds frame-ancestors (ignored, and warned about, in a <meta>). */
const pagePolicy = (nonce: string) =>
  `default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-${nonce}'; connect-src 'self'; form-action 'self'; base-uri 'none'`;
export const contentSecurityPolicy = (nonce: string) => `${pagePolicy(nonce)}; frame-ancestors 'none'`;

const CSS = `body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}
h1{font-size:1.4rem}.muted{color:#666}ol{padding-left:1.2rem}li.done{color:#2a7a2a}li.done::after{content:" ✓"}
li.current{font-weight:600}li.current::after{content:" …"}li.pending{color:#888}
button{font-size:1.1rem;padding:.5rem 1.5rem;cursor:pointer}.refused{color:#a00}`;

/** What the page says of the state. */
export function describeState(view: WakeView): string {
  switch (view.state) {
    case 'awake':
      return view.wake ? `awake until ${clockTime(view.wake.until)} (woken by ${view.wake.user})` : 'awake';
    case 'waking':
      return view.wake ? `waking (woken by ${view.wake.user})` : 'waking';
    case 'going-to-sleep':
      return 'going to sleep';
    default:
      return 'asleep';
  }
}

const seconds = (s: number | null) => (s === null ? '–' : s < 90 ? `${s} s` : `${Math.round(s / 60)} min`);

// The script: poll /status, redraw the steps and times, go to the application once awake.
// Kept tiny and free of anything from the records (they arrive as JSON and go in as text).
const SCRIPT = `(function(){var s=function(x){return x==null?'–':x<90?x+' s':Math.round(x/60)+' min'};
function poll(){fetch('status',{headers:{accept:'application/json'},credentials:'same-origin'}).then(function(r){return r.json()}).then(function(v){
var ol=document.getElementById('steps');if(ol){ol.textContent='';v.steps.forEach(function(t){var li=document.createElement('li');li.className=t.status;li.textContent=t.name;ol.appendChild(li)})}
var el=document.getElementById('elapsed');if(el)el.textContent=s(v.elapsedSeconds);var lf=document.getElementById('left');if(lf)lf.textContent=s(v.leftSeconds);
var st=document.getElementById('state');if(st)st.textContent=v.stateText;
if(v.state==='awake'&&v.url){location.assign(v.url);return}if(v.state==='awake'){location.reload();return}setTimeout(poll,next(v.leftSeconds))}).catch(function(){setTimeout(poll,${POLL_MS.max})})}
function next(left){return left==null||left<=0?${POLL_MS.min}:Math.max(${POLL_MS.min},Math.min(${POLL_MS.max},left*50))}
setTimeout(poll,${POLL_MS.min})})();`;

export interface PageInput {
  view: WakeView;
  /** The host the page was asked for (its title). */
  host: string;
  csrf: string;
  nonce: string;
  appUrl: string | null;
  /** The person came from pressing Wake: once awake, send them on. */
  afterWake: boolean;
  /** A refusal to show (a POST that did not wake). */
  refused?: string;
}

export function renderWakePage(p: PageInput): string {
  const v = p.view;
  const waking = v.state === 'waking';
  const goNow = v.state === 'awake' && p.afterWake && p.appUrl;
  const refresh = waking
    ? `<meta http-equiv="refresh" content="${REFRESH_SECONDS};url=/?waking=1">`
    : goNow
      ? `<meta http-equiv="refresh" content="0;url=${e(p.appUrl as string)}">`
      : '';
  const steps = `<ol id="steps">${v.steps.map((s) => `<li class="${s.status}">${e(s.name)}</li>`).join('')}</ol>`;
  const body: string[] = [
    `<h1>${e(v.environment)}</h1>`,
    `<p>State: <strong id="state">${e(describeState(v))}</strong></p>`,
    `<p class="muted">Waking it takes ${e(describeEta(v.eta))}.</p>`,
  ];
  if (p.refused) body.push(`<p class="refused">${e(p.refused)}</p>`);
  if (waking)
    body.push(
      steps,
      `<p>Elapsed: <span id="elapsed">${seconds(v.elapsedSeconds)}</span>; left (estimate): <span id="left">${seconds(v.leftSeconds)}</span></p>`,
    );
  if (v.state === 'asleep')
    body.push(
      `<form method="post" action="/wake"><input type="hidden" name="csrf" value="${e(p.csrf)}"><button type="submit">Wake ${e(v.environment)}</button></form>`,
    );
  if (v.state === 'awake')
    body.push(
      p.appUrl ? `<p><a id="app" href="${e(p.appUrl)}">Open the application</a></p>` : '<p>It is awake.</p>',
    );
  if (v.state === 'going-to-sleep')
    body.push('<p>It is being put to sleep; wake it again once it is asleep.</p>');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${pagePolicy(p.nonce)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
${refresh}<title>${e(v.environment)}: ${e(describeState(v))}</title>
<style>${CSS}</style>
</head>
<body>
${body.join('\n')}
${waking ? `<script nonce="${e(p.nonce)}">${SCRIPT}</script>` : ''}
</body>
</html>
`;
}
