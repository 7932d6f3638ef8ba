// The web app, used as people use it, in Debian's chromium: signing in
// (a dev link, an OpenID Provider), declaring from the generated form with
// the keyboard alone, watching an incident change live while someone else
// acts, acknowledging, approving as the role holder (and being refused as
// someone else), completing a follow-up, holding the review, a restricted
// incident that does not exist for an outsider, what a viewer may not do,
// signing out. Every page is checked with axe-core, at desktop width and at
// 375 px (with a screenshot), and no page may break its Content Security
// Policy or throw.
//
// Started by web/browser_test.go, which runs incidentflow dev and passes:
//   BASE       the app's address (http://127.0.0.1:PORT)
//   REPLICA    a second api replica's address, on the same database
//   DEV_LOG    the file dev's output goes to (sign-in links arrive there)
//   TOKEN      dev's admin API token
//   SHOTS      the directory for screenshots
//   OIDC       the test OpenID Provider's issuer, when it runs
//   CHROMIUM   the browser (default /usr/bin/chromium)
//   DEBUG_AXE  when set, what axe could not decide, element by element
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const base = process.env.BASE;
const replica = process.env.REPLICA || base;
const devLog = process.env.DEV_LOG;
const token = process.env.TOKEN;
const shots = process.env.SHOTS;
const oidc = process.env.OIDC || '';
const axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const timeout = 20000;

const checkedPages = [];
// unsure counts what axe could not decide (needs a person to look), by rule.
const unsure = new Map();
const screenshots = [];

function check(ok, message) {
  if (!ok) throw new Error(message);
}

// step runs one scenario and says how it went; the first failure ends the run.
async function step(name, fn) {
  const started = Date.now();
  try {
    await fn();
  } catch (e) {
    console.log(`FAIL ${name}: ${e.stack || e.message}`);
    throw new Error(`${name} failed`);
  }
  console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
}

// api calls the HTTP API with dev's admin token.
async function api(method, p, body) {
  const res = await fetch(base + p, {
    method,
    headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  check(res.ok, `${method} ${p} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}

// watch fails a page that breaks its Content Security Policy or throws.
function watch(page) {
  page.problems = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) page.problems.push('CSP: ' + m.text());
  });
  page.on('pageerror', (e) => page.problems.push('script error: ' + e.message));
  return page;
}

async function newPage(context) {
  const page = watch(await context.newPage());
  page.setDefaultTimeout(timeout);
  return page;
}

function clean(page) {
  check(page.problems.length === 0, `${page.url()}: ${page.problems.join('; ')}`);
}

// axe runs axe-core in the page (injected through the debugging protocol,
// not a script tag, so the page's CSP stays as strict as ever) and fails on
// any violation.
async function axe(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document));
  for (const v of result.incomplete) unsure.set(v.id, (unsure.get(v.id) || 0) + v.nodes.length);
  if (process.env.DEBUG_AXE) for (const v of result.incomplete) for (const n of v.nodes.slice(0, 3)) console.log(label, v.id, n.target.join(' '), (n.any[0] || n.all[0] || n.none[0] || {}).message);
  const found = result.violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(', ')}`);
  check(found.length === 0, `axe found on ${label}:\n  ${found.join('\n  ')}`);
  clean(page);
  checkedPages.push(label);
}

// narrow checks a page at 375 px: axe again, no sideways scrolling of the
// page itself, and a screenshot.
async function narrow(page, name) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 375, height: 812 });
  await page.waitForTimeout(100);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  if (width > 375) {
    // Name the elements that stick out, innermost first, so the failure says what to fix.
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > 375 && ![...e.children].some((c) => c.getBoundingClientRect().right > 375))
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}${e.className ? '.' + String(e.className).split(' ').join('.') : ''} "${(e.textContent || '').trim().slice(0, 60)}"`));
    check(false, `${name} is ${width}px wide at 375px: it scrolls sideways; sticking out: ${wide.join('; ')}`);
  }
  await axe(page, name + ' at 375px');
  const file = path.join(shots, name + '-375.png');
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
  await page.setViewportSize(size);
}

// both checks a page at desktop width and at 375 px, with a screenshot of each.
async function both(page, name) {
  await axe(page, name);
  const file = path.join(shots, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  screenshots.push(file);
  await narrow(page, name);
}

// linkFor waits until dev's output holds a sign-in link for the person,
// written after offset.
async function linkFor(person, offset) {
  const pattern = new RegExp(`\\(${person}\\) via #console: Sign in to incidentflow \\(works once, for 15 minutes\\): (\\S+)`);
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const m = fs.readFileSync(devLog).subarray(offset).toString('utf8').match(pattern);
    if (m) return m[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no sign-in link for ${person} in dev's output`);
}

// signIn signs a person in with a dev link, as they would: the form, the
// link from their channel, the button.
async function signIn(browser, person, typed, opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await newPage(context);
  await page.goto(base + (opts.next || '/'));
  check(new URL(page.url()).pathname === '/signin', `not sent to sign in but to ${page.url()}`);
  if (opts.axe) await both(page, 'signin');
  await page.getByLabel('Your id in the directory, or your e-mail address').fill(typed || person);
  const offset = fs.statSync(devLog).size;
  await page.getByRole('button', { name: 'Send me a sign-in link' }).click();
  await page.getByRole('heading', { name: 'Check your messages' }).waitFor();
  const link = await linkFor(person, offset);
  await page.goto(link);
  if (opts.axe) await both(page, 'signin-link');
  await page.getByRole('button', { name: /^Sign in as / }).click();
  await page.waitForURL((u) => u.pathname === (opts.next || '/'));
  clean(page);
  return { context, page };
}

// atProvider opens path, follows "Sign in with" to the OpenID Provider and
// logs in there as a user of web/e2e/oidc-users.json.
async function atProvider(page, p, username) {
  await page.goto(base + p);
  await page.getByRole('link', { name: /^Sign in with / }).click();
  await page.locator('#username').fill(username);
  await page.locator('#password').fill('verysecure');
  await page.getByRole('button', { name: 'Login' }).click();
  return page;
}

// tabTo presses Tab until the element matching selector has the focus.
async function tabTo(page, selector) {
  for (let i = 0; i < 80; i++) {
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

// submitAs sends a form the page does not offer, as a stale page or a
// hand-made request would: with the person's own CSRF token.
async function submitAs(page, action, fields) {
  await Promise.all([
    page.waitForNavigation(),
    page.evaluate(([action, fields]) => {
      const f = document.createElement('form');
      f.method = 'post';
      f.action = action;
      const all = Object.assign({ csrf: document.querySelector('input[name=csrf]').value }, fields);
      for (const [k, v] of Object.entries(all)) {
        const i = document.createElement('input');
        i.type = 'hidden';
        i.name = k;
        i.value = v;
        f.appendChild(i);
      }
      document.body.appendChild(f);
      f.submit();
    }, [action, fields]),
  ]);
}

// assign gives a person a role with the incident page's form.
async function assign(page, role, person) {
  await page.getByText('Assign a role').click();
  await page.getByLabel('Role').selectOption(role);
  await page.getByLabel('Person').selectOption(person);
  await page.getByRole('button', { name: 'Assign' }).click();
}

async function text(page, selector) {
  return (await page.locator(selector).innerText()).replace(/\s+/g, ' ');
}

(async () => {
  fs.mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  let alice, bob, erin, ref;
  try {
    await step('the checks can fail: axe sees an unlabelled control, the CSP watch an inline script', async () => {
      const page = await newPage(await browser.newContext());
      await page.goto(base + '/signin');
      await page.evaluate(() => {
        const b = document.createElement('button');
        document.querySelector('main').appendChild(b);
        const s = document.createElement('script');
        s.textContent = 'window.ran = true';
        document.body.appendChild(s);
      });
      let failed = '';
      try {
        await axe(page, 'a broken page');
      } catch (e) {
        failed = e.message;
      }
      check(failed.includes('button-name'), `axe missed a button without a name: ${failed}`);
      check(!(await page.evaluate(() => window.ran)), 'an inline script ran');
      check(page.problems.some((p) => p.startsWith('CSP:')), `the inline script was not reported: ${page.problems}`);
      checkedPages.pop();
      await page.context().close();
    });

    await step('a dev sign-in link through the console signs Alice in (by her e-mail, in capitals)', async () => {
      alice = await signIn(browser, 'alice', 'ALICE@example.com', { axe: true });
      check((await text(alice.page, 'header')).includes('Alice Ng'), 'the header does not name Alice');
      await both(alice.page, 'work');
    });

    await step('a sign-in link works once', async () => {
      const context = await browser.newContext();
      const page = await newPage(context);
      await page.goto(base + '/signin');
      await page.getByLabel('Your id in the directory, or your e-mail address').fill('bob');
      const offset = fs.statSync(devLog).size;
      await page.getByRole('button', { name: 'Send me a sign-in link' }).click();
      const link = await linkFor('bob', offset);
      await page.goto(link);
      await page.getByRole('button', { name: /^Sign in as / }).click();
      await page.waitForURL(base + '/');
      const again = await newPage(await browser.newContext());
      await again.goto(link);
      await again.getByRole('button', { name: /^Sign in as / }).click();
      await again.getByText('This sign-in link was used on').waitFor();
      check(new URL(again.url()).pathname !== '/', 'a used link signed in again');
      await context.close();
    });

    await step('asking for a link names nobody: an unknown address gets the same answer', async () => {
      const page = await newPage(await browser.newContext());
      await page.goto(base + '/signin');
      await page.getByLabel('Your id in the directory, or your e-mail address').fill('nobody@example.com');
      await page.getByRole('button', { name: 'Send me a sign-in link' }).click();
      await page.getByRole('heading', { name: 'Check your messages' }).waitFor();
      check((await text(page, 'main')).includes('If “nobody@example.com” is someone in the directory'), 'the answer differs');
      await page.context().close();
    });

    if (oidc) {
      await step('the OpenID Provider signs in its user, matched to Tess by verified e-mail', async () => {
        const context = await browser.newContext();
        const page = await atProvider(await newPage(context), '/incidents', 'test-user@localhost');
        await page.waitForURL(base + '/incidents');
        check((await text(page, 'header')).includes('Tess Tester'), 'signed in as someone else');
        await axe(page, 'incidents (signed in with OpenID Connect)');
        await context.close();
      });

      await step('the OpenID Provider user nobody in the directory has is told why', async () => {
        const page = await atProvider(await newPage(await browser.newContext()), '/signin', 'test-user2');
        await page.getByText("Nobody in incidentflow's directory has the e-mail address test-user2@zitadel.ch").waitFor();
        check(new URL(page.url()).pathname === '/signin/callback', 'not on the callback page');
        await axe(page, 'signin refused');
        await page.goto(base + '/');
        check(new URL(page.url()).pathname === '/signin', 'the refused user has a session');
        await page.context().close();
      });

      await step('an address the OpenID Provider has not verified signs nobody in, even one the directory knows', async () => {
        const page = await atProvider(await newPage(await browser.newContext()), '/signin', 'unverified');
        await page.getByText('Your e-mail address erin@example.com is not verified by the OpenID Provider').waitFor();
        await page.goto(base + '/');
        check(new URL(page.url()).pathname === '/signin', 'an unverified address has a session');
        await page.goto(base + '/signin/callback?state=forged&code=forged');
        await page.getByText('This sign-in was not started in this browser').waitFor();
        await page.context().close();
      });
    }

    await step('declaring with the keyboard alone, the API\'s messages beside the fields', async () => {
      const page = alice.page;
      await page.goto(base + '/declare');
      await both(page, 'declare');
      await page.goto(base + '/declare/outage');
      await page.keyboard.press('Tab');
      check(await page.evaluate(() => document.activeElement.textContent) === 'Skip to the content', 'the first Tab is not the skip link');
      check(await page.evaluate(() => document.activeElement.getBoundingClientRect().left >= 0), 'the skip link stays off screen when focused');
      await page.keyboard.press('Enter');
      check(await page.evaluate(() => document.activeElement.id) === 'main', 'the skip link does not lead to the content');
      await tabTo(page, '#d-title');
      await page.keyboard.type('Payments API is down');
      await tabTo(page, 'input[name=severity]');
      await page.keyboard.press('ArrowUp'); // minor → major
      await page.keyboard.press('ArrowUp'); // → critical
      await tabTo(page, '#d-summary');
      await page.keyboard.type('Card payments fail at checkout.');
      await tabTo(page, '#d-field-details');
      await page.keyboard.type('HTTP 502 from the payments gateway');
      await tabTo(page, '#d-field-customer_impact');
      await page.keyboard.press('Space'); // unticks the default
      await tabTo(page, '#d-field-affected');
      await page.keyboard.press('Control+A');
      await page.keyboard.type('1200');
      await tabTo(page, '#d-field-cost');
      await page.keyboard.type('99.5');
      await tabTo(page, '#d-field-region');
      await page.keyboard.type('us');
      await tabTo(page, '#d-field-components');
      await page.keyboard.type('gateway');
      await page.keyboard.press('Enter');
      await page.keyboard.type('ledger');
      await tabTo(page, 'button.primary');
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      // The service was left out: the API says so next to it.
      const error = await text(page, '#d-field-service-error');
      check(error.includes('is required'), `no message beside the service field: ${error}`);
      check(await page.locator('#d-field-service').getAttribute('aria-invalid') === 'true', 'the field is not marked invalid');
      check(await page.evaluate(() => document.activeElement.id) === 'problems', 'the problems are not where the focus is');
      check(await page.locator('#problems a[href="#d-field-service"]').innerText() === 'service is required', 'the summary does not lead to the field');
      check(await page.locator('#d-title').inputValue() === 'Payments API is down', 'the title was lost');
      check(!(await page.locator('#d-field-customer_impact').isChecked()), 'the unticked box came back ticked');
      await both(page, 'declare-form-errors');
      await tabTo(page, '#d-field-service');
      await page.keyboard.type('payments');
      await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
      const h1 = await text(page, 'h1');
      const m = h1.match(/^(INC-\d+): Payments API is down$/);
      check(m, `not on the incident's page: ${h1}`);
      ref = m[1];
      const summary = await text(page, '#summary');
      for (const want of ['critical', 'service payments', 'customer impact no', 'affected 1200', 'cost 99.5', 'region us', 'components gateway, ledger']) {
        check(summary.includes(want), `the incident does not show "${want}": ${summary}`);
      }
      check((await text(page, '#messages')).includes(`You declared ${ref}`), 'no word of the declaration');
    });

    await step('declaring with the mouse: a time field is read in the declarer\'s zone', async () => {
      const page = alice.page;
      await page.goto(base + '/declare/outage');
      await page.getByLabel('Title').fill('Search is slow');
      await page.getByLabel('major').check();
      await page.getByLabel('service').fill('search');
      await page.getByLabel('started (Europe/London)').fill('2026-07-01T09:30');
      await page.getByRole('button', { name: 'Declare the incident' }).click();
      await page.waitForURL(/\/incidents\/INC-\d+$/);
      const summary = await text(page, '#summary');
      check(summary.includes('started Wed 1 Jul 2026 09:30 BST'), `the time is not as typed: ${summary}`);
    });

    await step('the incident page changes live, without reloading, as Bob acknowledges through another replica', async () => {
      const page = alice.page;
      await page.goto(base + '/incidents/' + ref);
      await page.locator('#now').getByText('paged').first().waitFor();
      await both(page, 'incident');
      // Alice watches through the second replica; Bob acts through dev's.
      const watching = await newPage(alice.context);
      await watching.goto(replica + '/incidents/' + ref);
      await watching.evaluate(() => { window.stayed = true; });
      bob = await signIn(browser, 'bob', 'bob', { next: '/incidents/' + ref });
      await bob.page.getByRole('button', { name: 'Acknowledge' }).click();
      await bob.page.getByText(`You acknowledged ${ref}.`).waitFor();
      await watching.locator('#summary').getByText('acknowledged by bob').waitFor({ timeout: 10000 });
      check(!(await watching.getByRole('button', { name: 'Acknowledge' }).isVisible()), 'Alice may still acknowledge');
      await bob.page.getByLabel('Add a note to the timeline').fill('Rolled back the gateway deploy');
      await bob.page.getByRole('button', { name: 'Add the note' }).click();
      await bob.page.getByText('Your note is on the timeline.').waitFor();
      await watching.locator('#timeline').getByText('Rolled back the gateway deploy').waitFor({ timeout: 10000 });
      check(await watching.evaluate(() => window.stayed === true), 'the page reloaded');
      clean(watching);
      await watching.close();
    });

    await step('a signal meets the clock; the severity is lowered with a note', async () => {
      const page = bob.page;
      await page.getByText('Send a signal').click();
      await page.getByLabel('Signal').selectOption('customers_told');
      await page.getByRole('button', { name: 'Send' }).click();
      await page.getByText('You sent customers_told.').waitFor();
      await page.locator('#clocks').getByText('met').waitFor({ timeout: 10000 });
      await page.getByText('Change the severity').click();
      await page.getByLabel('Severity', { exact: true }).selectOption('major');
      await page.locator('#a-severity-note').fill('Only card payments fail');
      await page.getByRole('button', { name: 'Set the severity' }).click();
      await page.getByText(`${ref} is now major.`).waitFor();
      await page.locator('#summary').getByText('major').waitFor();
    });

    await step('two notes from one page both land, and a status note being typed stays', async () => {
      const page = bob.page;
      await page.getByText('Change the status').click();
      await page.locator('#a-status-note').fill('Half typed');
      for (const note of ['Rolled back the deploy', 'Error rate is back to normal']) {
        await page.locator('#a-note').fill(note);
        await page.getByRole('button', { name: 'Add the note' }).click();
        await page.locator('#timeline').getByText(note).waitFor({ timeout: 10000 });
      }
      check(await page.locator('#a-status-note').inputValue() === 'Half typed', 'the status note being typed was lost when a note was sent');
      check(await page.locator('#a-note').inputValue() === '', 'the note form still holds the note sent');
      await page.locator('#a-status-note').fill('');
    });

    await step('a second acknowledgement is refused with the run\'s reason', async () => {
      await submitAs(bob.page, `/incidents/${ref}/acknowledge`, {});
      const problem = await text(bob.page, '#messages');
      check(problem.includes('was already acknowledged by bob'), `not refused as it should be: ${problem}`);
    });

    await step('only the comms may approve: Erin cannot make herself comms, Bob is refused, Erin approves', async () => {
      erin = await signIn(browser, 'erin', 'erin', { next: '/incidents/' + ref });
      await assign(erin.page, 'comms', 'erin');
      await erin.page.getByText('Erin Park cannot give themselves the comms role').waitFor();
      const page = alice.page;
      await assign(page, 'comms', 'erin');
      await page.getByText(`erin is now the comms of ${ref}.`).waitFor();
      await submitAs(bob.page, `/incidents/${ref}/approve`, { step: 'Approve the status page message' });
      const refused = await text(bob.page, '#messages');
      check(refused.includes('bob cannot approve') && refused.includes('needs the comms (erin)'), `Bob was not refused: ${refused}`);
      await erin.page.goto(base + '/');
      await erin.page.locator('section', { has: erin.page.getByRole('heading', { name: 'Approvals waiting for me' }) })
        .getByRole('link', { name: `${ref} Approve the status page message` }).click();
      await erin.page.getByRole('button', { name: 'Approve Approve the status page message' }).click();
      await erin.page.getByText('You approved Approve the status page message.').waitFor();
      await page.locator('#approvals').getByText('approved by erin').waitFor({ timeout: 10000 });
    });

    await step('Alice completes her follow-up from My work', async () => {
      const page = alice.page;
      await page.goto(base + '/');
      await both(page, 'work-busy');
      await page.getByRole('button', { name: `Mark ${ref}-T1 done` }).click();
      await page.getByText(`You marked ${ref}-T1 done.`).waitFor();
      await page.goto(base + '/incidents/' + ref);
      check((await text(page, '#tasks')).includes('done by alice'), 'the task is not done');
    });

    await step('resolving schedules the review; marking it held closes the incident', async () => {
      const page = alice.page;
      await assign(page, 'lead', 'alice');
      await page.getByText(`alice is now the lead of ${ref}.`).waitFor();
      await page.getByText('Change the status').click();
      await page.getByLabel('Status', { exact: true }).selectOption('resolved');
      await page.getByRole('button', { name: 'Set the status' }).click();
      await page.getByText(`${ref} is now resolved.`).waitFor();
      await page.locator('#review').getByText('scheduled for').waitFor({ timeout: 10000 });
      await page.getByText('Move the review').click();
      const start = await page.getByLabel(/^New start/).inputValue();
      const later = start.replace(/T(\d\d)/, (_, h) => 'T' + String((Number(h) + 1) % 24).padStart(2, '0'));
      await page.getByLabel(/^New start/).fill(later);
      await page.getByRole('button', { name: 'Move it' }).click();
      await page.getByText('The review is moved').waitFor();
      await page.getByText('Mark the review held').click();
      await page.getByLabel('Link to the write-up (optional)').fill('https://wiki.example.com/postmortems/payments');
      await page.getByRole('button', { name: 'Mark held' }).click();
      await page.getByText('The review is marked held.').waitFor();
      await page.locator('#summary').getByText('closed').waitFor({ timeout: 15000 });
      await page.reload();
      check(!(await page.getByRole('heading', { name: 'Act' }).isVisible()), 'a closed incident still offers actions');
      await axe(page, 'incident (closed)');
    });

    let secret;
    await step('a restricted incident is the privacy office\'s, and does not exist for an outsider', async () => {
      secret = (await api('POST', '/v1/incidents', { type: 'breach', title: 'Customer export left public', severity: 'high' })).ref;
      check(/^INC-[A-Z][A-Z0-9]{5}$/.test(secret), `a restricted incident's ref counts nothing: ${secret}`);
      const dan = await signIn(browser, 'dan', 'dan@example.com', { next: '/incidents' });
      await dan.page.getByRole('link', { name: secret }).waitFor();
      await dan.page.getByRole('link', { name: secret }).click();
      await dan.page.locator('#summary').getByText('restricted').waitFor();
      await dan.page.goto(base + '/deadlines');
      await dan.page.getByText('Notify the supervisory authority (GDPR Art. 33)').waitFor();
      await both(dan.page, 'deadlines');
      await dan.page.goto(base + '/insights');
      const danTotal = Number((await text(dan.page, 'main')).match(/(\d+) incidents you may see/)[1]);
      const danCSV = await (await dan.context.request.get(base + '/insights/incidents.csv?weeks=4')).text();
      check(danCSV.includes(secret + ',breach'), 'the privacy office\'s CSV lacks it');

      const mallory = await signIn(browser, 'mallory', 'mallory', { next: '/incidents' });
      const list = await text(mallory.page, 'main');
      check(list.includes(ref) && !list.includes(secret), `the outsider's list: ${list}`);
      const res = await mallory.page.goto(base + '/incidents/' + secret);
      check(res.status() === 404, `the outsider got ${res.status()}`);
      check((await text(mallory.page, 'main')).includes('no incident ' + secret), 'not told it does not exist');
      await axe(mallory.page, 'not found');
      await mallory.page.goto(base + '/deadlines');
      check(!(await text(mallory.page, 'main')).includes('GDPR'), 'the outsider sees its clock');
      await mallory.page.goto(base + '/insights');
      const malloryTotal = Number((await text(mallory.page, 'main')).match(/(\d+) incidents you may see/)[1]);
      check(malloryTotal === danTotal - 1, `insights count it for the outsider: ${malloryTotal} vs ${danTotal}`);
      const csv = await (await mallory.context.request.get(base + '/insights/incidents.csv?weeks=4')).text();
      check(!csv.includes(secret) && csv.includes(ref), `the outsider's CSV: ${csv}`);
      const stream = await mallory.context.request.get(base + `/incidents/${secret}/stream`);
      check(stream.status() === 404, `the outsider may watch it: ${stream.status()}`);
      await dan.context.close();
      await mallory.context.close();
    });

    await step('a viewer reads, and is offered nothing to do', async () => {
      const carol = await signIn(browser, 'carol', 'carol', { next: '/incidents/' + ref });
      check(!(await carol.page.getByRole('heading', { name: 'Act' }).count()), 'a viewer sees actions');
      check(!(await carol.page.locator('form[action*="/incidents/"]').count()), 'a viewer has forms to act');
      check(!(await carol.page.getByRole('link', { name: 'Declare' }).count()), 'a viewer is offered to declare');
      await carol.page.goto(base + '/declare/outage');
      await carol.page.getByText('You may read incidents but not declare them').waitFor();
      check(!(await carol.page.getByRole('button', { name: 'Declare the incident' }).count()), 'a viewer has the declare button');
      await submitAs(carol.page, `/incidents/${ref}/notes`, { text: 'sneaky' });
      check((await text(carol.page, '#messages')).includes('only responders act on incidents'), 'the viewer was not refused');
      await carol.context.close();
    });

    await step('every other page, at desktop width and 375 px', async () => {
      const page = alice.page;
      for (const [p, name] of [['/incidents', 'incidents'], ['/incidents?type=outage&status=closed', 'incidents-filtered'],
        ['/oncall', 'oncall'], ['/processes', 'processes'], ['/processes/outage', 'process'], ['/insights', 'insights'],
        ['/insights?weeks=52', 'insights-year']]) {
        const res = await page.goto(base + p);
        check(res.status() === 200, `${p} answered ${res.status()}`);
        await both(page, name);
      }
      await page.goto(base + '/incidents');
      check((await text(page, 'main')).includes(ref), 'the list lacks the incident');
      await page.goto(base + '/incidents?severity=nonsense');
      check((await text(page, 'main')).includes('severity must be one of'), 'a wrong filter is not explained');
      const csv = await page.context().request.get(base + '/insights/response.csv');
      check(csv.headers()['content-type'].startsWith('text/csv') && (await csv.text()).startsWith('by,name,incidents'), 'no response CSV');
      await page.goto(base + '/oncall');
      check((await text(page, 'main')).includes('sre-primary'), 'no schedule on the on-call page');
    });

    await step('the incidents list pages, and keeps its filters from page to page', async () => {
      for (let i = 0; i < 26; i++) await api('POST', '/v1/incidents', { type: 'outage', title: `Batch ${i}`, severity: 'minor', fields: { service: 'batch' } });
      const page = alice.page;
      await page.goto(base + '/incidents');
      await page.getByLabel('Severity').selectOption('minor');
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL(/severity=minor/);
      check((await page.locator('tbody tr').count()) === 25, 'a page is not 25 incidents');
      await page.getByRole('link', { name: 'Older incidents' }).click();
      await page.waitForURL(/after=/);
      check(new URL(page.url()).searchParams.get('severity') === 'minor', 'the filter was lost');
      check((await page.locator('tbody tr').count()) >= 1, 'the second page is empty');
      check(!(await page.locator('tbody th a').allInnerTexts()).includes(ref), 'a major incident in the minor list');
      await page.getByRole('link', { name: 'Newest incidents' }).waitFor();

      await page.goto(base + '/incidents');
      await page.getByLabel('Ref or title').fill('batch 7');
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL(/q=batch/);
      const found = await page.locator('tbody th').allInnerTexts();
      check(found.length === 1 && found[0].endsWith('Batch 7'), `searching "batch 7" found ${found}`);
      const batch = (await page.locator('tbody th a').allInnerTexts())[0];
      await page.goto(base + '/incidents?q=' + encodeURIComponent(batch.toLowerCase()));
      check((await page.locator('tbody th a').allInnerTexts()).join() === batch, `${batch} is not found by its ref`);
      await page.goto(base + '/incidents?q=batch+7');
      await page.getByLabel('Open or closed').selectOption('closed');
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL(/state=closed/);
      await page.getByText('No incident you may see matches.').waitFor();
      await page.getByLabel('Open or closed').selectOption('open');
      await page.getByLabel('Only mine').check();
      await page.getByRole('button', { name: 'Show' }).click();
      await page.waitForURL(/mine=1/);
      check(new URL(page.url()).searchParams.get('q') === 'batch 7', 'the search was lost');
      await both(page, 'incidents-searched');
    });

    await step('an action link from a page shows its one button, axe-clean', async () => {
      const m = fs.readFileSync(devLog, 'utf8').match(/Acknowledge: (http:\/\/\S+\/act\/\S+)/);
      check(m, 'no action link in dev\'s output');
      const page = await newPage(await browser.newContext());
      await page.goto(m[1]);
      await both(page, 'action-link');
      await page.context().close();
    });

    await step('signing out ends the session everywhere', async () => {
      const cookies = await alice.context.cookies();
      await alice.page.getByRole('button', { name: 'Sign out' }).click();
      await alice.page.getByText('You are signed out.').waitFor();
      const context = await browser.newContext();
      await context.addCookies(cookies);
      const page = await newPage(context);
      for (const at of [base, replica]) {
        await page.goto(at + '/');
        check(new URL(page.url()).pathname === '/signin', `the old session cookie still works at ${at}`);
      }
      await context.close();
    });
  } finally {
    await browser.close();
  }
  console.log(`axe-core found nothing on ${checkedPages.length} page checks: ${checkedPages.join(', ')}`);
  console.log(`axe-core could not decide (for a person to look at): ${[...unsure].map(([id, n]) => `${id} ×${n}`).join(', ') || 'nothing'}`);
  console.log(`screenshots, at desktop width and at 375px:\n  ${screenshots.join('\n  ')}`);
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
