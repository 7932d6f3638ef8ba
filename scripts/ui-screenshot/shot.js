// node shot.js URL OUT.png STEP... — opens URL in chromium and goes through the
// steps: TEXT waits until the text is on the page (failing after 30s if it
// never is), click:TEXT clicks it, shot:NAME saves a screenshot as
// OUT-NAME.png. The page as it ends is saved as OUT.png.
const { chromium } = require('playwright-core');

// seen waits until text is on the page or in one of its frames: the UI
// renders summaries (markdown) in sandboxed iframes.
async function seen(page, text) {
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    for (const frame of page.frames()) {
      const found = await frame.evaluate((t) => !!document.body && document.body.innerText.includes(t), text).catch(() => false);
      if (found) return;
    }
    await page.waitForTimeout(250);
  }
  throw new Error('not seen');
}

(async () => {
  const [url, out, ...texts] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    for (const text of texts) {
      if (text.startsWith('click:')) {
        await page.getByText(text.slice(6), { exact: true }).first().click();
        continue;
      }
      if (text.startsWith('shot:')) {
        const file = out.replace(/\.png$/, '') + '-' + text.slice(5) + '.png';
        await page.waitForTimeout(1000);
        await page.screenshot({ path: file });
        console.log(`screenshot in ${file}`);
        continue;
      }
      try {
        await seen(page, text);
      } catch {
        await page.screenshot({ path: out }); // to see what it showed instead
        throw new Error(`the page never showed "${text}" (what it showed is in ${out})`);
      }
      console.log(`seen: ${text}`);
    }
    await page.waitForTimeout(1000);
    await page.screenshot({ path: out });
    console.log(`screenshot of ${page.url()} in ${out}`);
  } finally {
    await browser.close();
  }
})().catch((e) => { console.error(e.message); process.exit(1); });
