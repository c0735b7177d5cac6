// Browser journeys over the web pages, one browser context per role, through
// the real server (tests/browser/run.sh starts it and creates the accounts).
//
// On every page visited, in Chinese and in English (switched with the
// page's own language link):
// - axe-core's basic rules (labels, contrast, headings, names, language);
// - at 375 px wide, no horizontal scrolling;
// - no untranslated key shown (`status.filed` and the like, from the groups
//   of gateway/locales/en.toml), no Chinese left on an English page beyond
//   what people typed, no English string left on a Chinese page;
// - full-page screenshots at 375 and 1280 px:
//   <artifacts>/screens/<role>-<step>-<lang>-<width>.png, compared at the
//   end with the previous run's (target/browser-screens), pages that changed
//   flagged in <artifacts>/screens-changed.json with a diff image each.
//
// Problems of accessibility, layout and translation are gathered and
// reported together at the end; a journey that cannot go on stops at once.

import { chromium } from 'playwright-core';
import { createRequire } from 'node:module';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { compareScreens } from './screens.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const BASE = need('LIANXI_BASE');
const XIAOQU = need('LIANXI_XIAOQU');
const PASSWORD = need('LIANXI_PASSWORD');
const CHROMIUM = process.env.LIANXI_CHROMIUM || '/usr/bin/chromium';
const ARTIFACTS = process.env.LIANXI_ARTIFACTS || join(repo, 'target', 'browser-artifacts');
const WIDTH = 375;
/// The desktop width every page is also photographed at.
const DESKTOP = 1280;
const SCREENS = join(ARTIFACTS, 'screens');
/// The previous run's screenshots, kept across runs (tests/browser/run.sh).
const PREVIOUS = process.env.LIANXI_PREVIOUS_SCREENS || join(repo, 'target', 'browser-screens');
mkdirSync(SCREENS, { recursive: true });
/// How long a read model may lag behind the log before a journey gives up.
const CATCH_UP_MS = 20_000;

/// The rules every page must pass.
const RULES = [
  'label',
  'color-contrast',
  'heading-order',
  'page-has-heading-one',
  'empty-heading',
  'document-title',
  'html-has-lang',
  'html-lang-valid',
  'valid-lang',
  'image-alt',
  'svg-img-alt',
  'button-name',
  'link-name',
  'select-name',
  'input-button-name',
  'form-field-multiple-labels',
  'duplicate-id-aria',
  'aria-allowed-attr',
  'aria-valid-attr',
  'aria-valid-attr-value',
  'list',
  'listitem',
  'definition-list',
  'dlitem',
  'th-has-data-cells',
  'landmark-one-main',
  'nested-interactive',
  'frame-title',
  'meta-viewport',
];

/// Rules whose violations are noted for a person to look at, not failed
/// (none at present: scrolling tables are focusable regions).
const ADVISORY = [];

function need(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`journey: ${name} is not set; run tests/browser/run.sh`);
    process.exit(2);
  }
  return value;
}

// ---------------------------------------------------------------- locales

/// The `[strings]` of a locale file: `"group.key" = "text"` lines.
function locale(lang) {
  const text = readFileSync(join(repo, 'gateway', 'locales', `${lang}.toml`), 'utf8');
  const strings = new Map();
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*"([^"]+)"\s*=\s*("(?:[^"\\]|\\.)*")\s*$/);
    if (m) strings.set(m[1], JSON.parse(m[2]));
  }
  if (strings.size === 0) throw new Error(`no strings in gateway/locales/${lang}.toml`);
  return strings;
}
const EN = locale('en');
const ZH = locale('zh');
const GROUPS = [...new Set([...EN.keys()].map((k) => k.split('.')[0]))];
/// A key shown as itself: a group, a dot, a key (`status.filed`,
/// `event.GrievanceFiled`, `meeting.error.quorum`).
const KEY = new RegExp(`(?<![\\w./-])(?:${GROUPS.join('|')})\\.[A-Za-z][A-Za-z0-9_]*(?:\\.[A-Za-z0-9_]+)*(?![\\w/-])`, 'g');
const zhValues = new Set(ZH.values());
const enValues = new Set(EN.values());
/// English strings that must not be left on a Chinese page.
const ENGLISH_ONLY = new Set([...enValues].filter((v) => !zhValues.has(v) && /[A-Za-z]{3}/.test(v)));
const HAN = /\p{Script=Han}+/gu;

// ---------------------------------------------------------------- checks

/// What people typed (and the xiaoqu's name): shown as typed in both languages.
const typed = new Set(['幸福里']);
const problems = [];
const notes = [];
let pagesChecked = 0;

function problem(where, what) {
  problems.push(`${where}: ${what}`);
  console.error(`  PROBLEM ${where}: ${what}`);
}

async function langOf(page) {
  const tag = await page.getAttribute('html', 'lang');
  return tag && tag.startsWith('en') ? 'en' : 'zh';
}

/// Every check of one page as it stands, then its screenshot.
async function check(page, role, step) {
  const lang = await langOf(page);
  const where = `${role}-${step}-${lang} (${new URL(page.url()).pathname})`;
  pagesChecked += 1;

  // Accessibility: axe-core's basic rules.
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) {
    await page.addScriptTag({ content: AXE });
  }
  const result = await page.evaluate(
    (rules) => window.axe.run(document, { runOnly: { type: 'rule', values: rules } }),
    [...RULES, ...ADVISORY],
  );
  for (const v of result.violations) {
    for (const node of v.nodes) {
      if (ADVISORY.includes(v.id)) {
        notes.push(`${where}: axe ${v.id}: ${node.target.join(' ')} ${node.html.slice(0, 120)}`);
        continue;
      }
      const summary = (node.failureSummary || '').replace(/\s+/g, ' ').trim();
      problem(where, `axe ${v.id} (${v.impact}): ${node.target.join(' ')} ${node.html.slice(0, 160)} — ${summary}`);
    }
  }
  // What axe could not decide (a colour over an image, say) is noted too.
  for (const v of result.incomplete) {
    for (const node of v.nodes) notes.push(`${where}: axe ${v.id} undecided: ${node.target.join(' ')} ${node.html.slice(0, 120)}`);
  }

  // Layout: nothing wider than the phone.
  const widths = await page.evaluate(() => {
    const wide = [];
    const limit = document.documentElement.clientWidth;
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > limit + 0.5 && !el.closest('.scroll')) {
        wide.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.split(' ').join('.') : ''} (right edge ${Math.round(r.right)})`);
      }
    }
    return { scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 5) };
  });
  if (widths.scroll > WIDTH) {
    problem(where, `scrolls horizontally at ${WIDTH} px: scrollWidth ${widths.scroll}; too wide: ${widths.wide.join(', ')}`);
  }

  // Translation: visible text, the title and texts given to assistive technology.
  const shown = await page.evaluate(() => {
    const parts = [document.title, document.body.innerText];
    for (const el of document.querySelectorAll('[placeholder], [aria-label], [title], [alt]')) {
      for (const a of ['placeholder', 'aria-label', 'title', 'alt']) {
        if (el.hasAttribute(a)) parts.push(el.getAttribute(a));
      }
    }
    for (const t of document.querySelectorAll('svg title')) parts.push(t.textContent);
    // The other language's link names that language, in it.
    const other = document.querySelector('a[href^="/lang/"]');
    return { text: parts.join('\n'), other: other ? other.textContent.trim() : '' };
  });
  const keys = [...new Set(shown.text.match(KEY) || [])];
  if (keys.length) problem(where, `untranslated keys shown: ${keys.join(', ')}`);
  let text = shown.text;
  for (const t of [...typed].sort((a, b) => b.length - a.length)) text = text.split(t).join(' ');
  if (lang === 'en') {
    text = text.split(shown.other).join(' ');
    const han = [...new Set(text.match(HAN) || [])];
    if (han.length) problem(where, `Chinese left on the English page: ${han.join(', ')}`);
  } else {
    const segments = text.split(/[\n·:：;；、|]+/).map((s) => s.trim()).filter(Boolean);
    const english = [...new Set(segments.filter((s) => ENGLISH_ONLY.has(s) && s !== shown.other))];
    if (english.length) problem(where, `English left on the Chinese page: ${english.join(', ')}`);
  }

  await photograph(page, `${role}-${step}-${lang}`);
}

/// Full-page screenshots at the phone's width and a desktop's. What changes
/// from run to run by nature (times, ids, hashes) is masked, so that a
/// comparison with the previous run flags layout and wording only.
async function photograph(page, name) {
  const mask = [page.locator('code'), page.getByText(/\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}/)];
  const shoot = (width) =>
    page.screenshot({ path: join(SCREENS, `${name}-${width}.png`), fullPage: true, mask, animations: 'disabled', caret: 'hide' });
  await shoot(WIDTH);
  await page.setViewportSize({ width: DESKTOP, height: 800 });
  await shoot(DESKTOP);
  await page.setViewportSize({ width: WIDTH, height: 800 });
}

/// Follows a link or submits a form; the answer of the page it lands on.
async function go(page, act, expectStatus = 200) {
  const landed = page.waitForNavigation({ waitUntil: 'load', timeout: 15_000 });
  landed.catch(() => {}); // awaited below, unless the action itself fails
  await act();
  const response = await landed;
  const status = response ? response.status() : 0;
  if (status !== expectStatus) {
    const body = (await page.innerText('main').catch(() => '')).slice(0, 400);
    throw new Error(`${page.url()} answered ${status}, expected ${expectStatus}: ${body}`);
  }
  return response;
}

/// Presses the back button until the page at `pathname` is shown again
/// (switching language adds history entries of its own).
async function backTo(page, pathname) {
  for (let presses = 0; presses < 8; presses += 1) {
    await go(page, () => page.goBack());
    if (new URL(page.url()).pathname === pathname) return;
  }
  fail(`the back button never came back to ${pathname}: ${page.url()}`);
}

/// Switches language with the page's own link; the page comes back in it.
async function switchLanguage(page) {
  const before = await langOf(page);
  await go(page, () => page.click('header a[href^="/lang/"]'));
  const after = await langOf(page);
  if (after === before) throw new Error(`the language link of ${page.url()} left the page in ${before}`);
}

/// Checks the page in both languages, with `expect(lang)` run in each, and
/// leaves it in the language it was in.
async function both(page, role, step, expect = async () => {}) {
  const first = await langOf(page);
  await expect(first);
  await check(page, role, step);
  await switchLanguage(page);
  await expect(await langOf(page));
  await check(page, role, step);
  await switchLanguage(page);
  if ((await langOf(page)) !== first) throw new Error('switching twice did not come back');
}

function fail(message) {
  throw new Error(message);
}

async function shows(page, text, what = text) {
  const body = await page.innerText('body');
  if (!body.includes(text)) fail(`${page.url()} does not show ${what}: ${body.slice(0, 600)}`);
}

/// Reloads until `ready()` holds: read models follow the log a moment later.
async function until(page, ready, what) {
  const deadline = Date.now() + CATCH_UP_MS;
  for (;;) {
    if (await ready()) return;
    if (Date.now() > deadline) fail(`${what} within ${CATCH_UP_MS / 1000} s on ${page.url()}`);
    await page.waitForTimeout(250);
    await go(page, () => page.reload());
  }
}

/// A form on a grievance page, by its action (`accept`, `triage`, …).
function actionForm(page, action) {
  return page.locator(`form.action[action$="/${action}"]`);
}

// ---------------------------------------------------------------- roles

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--font-render-hinting=none'],
});
const contexts = [];

/// A person at their own phone: a 375 px wide context of their own, in
/// Chinese (the default), pages' CSP bypassed only to inject axe-core.
async function person(role) {
  const context = await browser.newContext({
    viewport: { width: WIDTH, height: 800 },
    deviceScaleFactor: 1,
    bypassCSP: true,
    acceptDownloads: true,
    locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai',
  });
  context.setDefaultTimeout(15_000);
  contexts.push([role, context]);
  const page = await context.newPage();
  page.on('pageerror', (e) => problem(role, `script error: ${e.message}`));
  return page;
}

async function signIn(page, role, login) {
  await go(page, () => page.goto(`${BASE}/login`));
  await both(page, role, 'login', async (lang) => {
    await shows(page, lang === 'zh' ? ZH.get('login.title') : EN.get('login.title'));
  });
  await page.fill('#login', login);
  await page.fill('#password', PASSWORD);
  await go(page, () => page.click('main button[type=submit]'));
  if (new URL(page.url()).pathname !== '/') fail(`${login} did not land on / after signing in: ${page.url()}`);
}

function t(lang, key) {
  return (lang === 'en' ? EN : ZH).get(key) ?? fail(`no ${key} in ${lang}.toml`);
}

// ---------------------------------------------------------------- journeys

const TITLE = '地下车库车位被长期占用';
const DESCRIPTION = 'B2层车位长期被占用,晚上回家无处停车';
const AREA = '地下车库B2';
const NOTE = '三天内划线';
const RESPONSE = '已联系车主,周五前划线';
const RESOLUTION = '已划线并张贴告示';
const COMMENT = '处理及时';
for (const s of [TITLE, DESCRIPTION, AREA, NOTE, RESPONSE, RESOLUTION, COMMENT]) typed.add(s);

/// A phone photo: a JPEG drawn by the browser, with an EXIF block as
/// phones write it (Orientation 6, a GPS position; as tests/src/lib.rs).
async function phonePhoto() {
  const context = await browser.newContext();
  const page = await context.newPage();
  const dataUrl = await page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = 96;
    canvas.height = 64;
    const g = canvas.getContext('2d');
    g.fillStyle = '#2f6f4f';
    g.fillRect(0, 0, 96, 64);
    g.fillStyle = '#f2c94c';
    g.fillRect(10, 10, 40, 20);
    return canvas.toDataURL('image/jpeg', 0.9);
  });
  await context.close();
  const jpeg = Buffer.from(dataUrl.split(',')[1], 'base64');
  const le16 = (n) => [n & 0xff, (n >> 8) & 0xff];
  const le32 = (n) => [...le16(n & 0xffff), ...le16(n >>> 16)];
  const tiff = [
    ...Buffer.from('II*\0', 'latin1'), ...le32(8), ...le16(2),
    0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0,
    0x25, 0x88, 4, 0, 1, 0, 0, 0, 38, 0, 0, 0, ...le32(0),
    ...le16(2),
    0x01, 0x00, 2, 0, 2, 0, 0, 0, 0x4e, 0, 0, 0,
    0x02, 0x00, 5, 0, 3, 0, 0, 0, 68, 0, 0, 0, ...le32(0),
    ...le32(31), ...le32(1), ...le32(0), ...le32(1), ...le32(0), ...le32(1),
  ];
  const exif = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), Buffer.from(tiff)]);
  const length = exif.length + 2;
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, length >> 8, length & 0xff]), exif]);
  return Buffer.concat([jpeg.subarray(0, 2), app1, jpeg.subarray(2)]);
}

/// Fills the filing form and submits it, with `photo` chosen in the file
/// field if given; when open grievances that look like it are shown first,
/// files anyway. Lands on the confirmation (post/redirect/get), checked in
/// both languages; the new grievance's path.
async function fillFiling(resident, title, photo = null) {
  if (photo) await resident.setInputFiles('#photos', { name: 'IMG_0001.jpg', mimeType: 'image/jpeg', buffer: photo });
  await resident.selectOption('#category', 'parking');
  await resident.fill('#title', title);
  await resident.fill('#description', DESCRIPTION);
  await resident.fill('#common_area', AREA);
  await resident.selectOption('#respondent', 'property_company');
  await go(resident, () => resident.click('main button[type=submit]'));
}

/// The likely duplicates are shown above the form: someone's, or the filer's own.
async function similarShown(resident) {
  return new URL(resident.url()).pathname === '/file' && (await resident.locator('#similar-title').count()) > 0;
}

async function submitFiling(resident, title, photo = null) {
  const fill = () => fillFiling(resident, title, photo);
  await fill();
  let switched = false;
  if (await similarShown(resident)) {
    // Seen in both languages: the language link comes back to a fresh form.
    for (let round = 0; round < 2; round += 1) {
      const lang = await langOf(resident);
      const heading = await resident.innerText('#similar-title');
      if (![t(lang, 'file.similar_title'), t(lang, 'file.own_title')].includes(heading.trim())) {
        fail(`the likely duplicates are headed ${heading}`);
      }
      if ((await resident.inputValue('#title')) !== title) fail('the form shown with similar grievances lost the title');
      await check(resident, 'resident', 'file-similar');
      if (round === 0) {
        await switchLanguage(resident);
        await fill();
        if (!(await similarShown(resident))) fail('the similar grievances were shown in one language only');
      }
    }
    switched = true;
    await go(resident, () => resident.click('main button[type=submit]'));
  }
  const confirmation = new URL(resident.url()).pathname;
  const m = confirmation.match(/^(\/g\/[0-9a-f-]{36})\/filed$/);
  if (!m) fail(`filing did not land on its confirmation: ${confirmation}`);
  const path = m[1];
  await both(resident, 'resident', 'filed', async (lang) => {
    await shows(resident, t(lang, 'filed.title'));
    await shows(resident, t(lang, 'filed.next'));
    await shows(resident, path.slice(3), 'the grievance number');
  });
  if (switched) await switchLanguage(resident);
  return path;
}

/// The resident signs in and files, once with the title left out.
async function residentFiles(resident) {
  await signIn(resident, 'resident', 'wangxm');
  await both(resident, 'resident', 'home', async (lang) => shows(resident, t(lang, 'home.title')));
  await go(resident, () => resident.click(`main a[href="/file"]`));
  await both(resident, 'resident', 'file', async (lang) => shows(resident, t(lang, 'file.title')));

  // No title: the error next to the field, in the page's language, and
  // everything typed kept; in both languages.
  for (let round = 0; round < 2; round += 1) {
    const lang = await langOf(resident);
    await resident.selectOption('#category', 'parking');
    await resident.fill('#title', '');
    await resident.fill('#description', DESCRIPTION);
    await resident.fill('#common_area', AREA);
    await resident.selectOption('#respondent', 'property_company');
    await go(resident, () => resident.click('main button[type=submit]'), 422);
    const error = resident.locator('#title-error');
    if (!(await error.isVisible())) fail('no error next to the title');
    if ((await error.innerText()).trim() !== t(lang, 'reason.empty')) {
      fail(`the title's error is not in ${lang}: ${await error.innerText()}`);
    }
    if ((await resident.getAttribute('#title', 'aria-describedby')) !== 'title-error') {
      fail('the title field is not described by its error');
    }
    const kept = [
      [await resident.inputValue('#description'), DESCRIPTION],
      [await resident.inputValue('#common_area'), AREA],
      [await resident.inputValue('#category'), 'parking'],
    ];
    for (const [value, want] of kept) if (value !== want) fail(`the form lost what was typed: ${value} for ${want}`);
    await check(resident, 'resident', 'file-error');
    // The language link goes back to a fresh form in the other language.
    await switchLanguage(resident);
  }

  // Filed with a photo taken on the phone (its location inside).
  const photo = await phonePhoto();
  if (!photo.includes(Buffer.from('Exif', 'latin1'))) fail('the test photo carries no EXIF');
  const path = await submitFiling(resident, TITLE, photo);

  // Back to the form, and filed again, in each language: the resident's own
  // grievance is offered to follow, and following it files nothing.
  await backTo(resident, '/file');
  const home = async () => {
    await go(resident, () => resident.click('header nav a[href="/"]'));
    await until(resident, async () => (await resident.locator(`main a[href="${path}"]`).count()) > 0, 'the grievance listed on /');
  };
  // (The likely duplicates come from the list, a moment behind the log.)
  await home();
  await backTo(resident, '/file');
  for (let round = 0; round < 2; round += 1) {
    const lang = await langOf(resident);
    await fillFiling(resident, TITLE);
    if (!(await similarShown(resident))) fail(`filing the same matter again (${lang}) showed no likely duplicate`);
    await shows(resident, t(lang, 'file.own_title'));
    await shows(resident, t(lang, 'file.yours'));
    const follow = resident.locator('#follow-own');
    if ((await follow.getAttribute('href')) !== path) fail(`the own grievance offered is ${await follow.getAttribute('href')}, not ${path}`);
    await check(resident, 'resident', 'file-own-duplicate');
    if (round === 0) {
      await switchLanguage(resident);
    } else {
      await go(resident, () => follow.click());
      if (new URL(resident.url()).pathname !== path) fail(`following the own grievance led to ${resident.url()}`);
      await switchLanguage(resident);
    }
  }
  await home();
  const listed = await resident.locator('main ul.items a[href^="/g/"]').count();
  if (listed !== 1) fail(`the resident has ${listed} grievances after filing one and trying again twice`);
  await go(resident, () => resident.click(`main a[href="${path}"]`));

  await both(resident, 'resident', 'grievance', async (lang) => {
    await shows(resident, TITLE);
    await shows(resident, t(lang, 'grievance.attachments'));
    await shows(resident, t(lang, 'status.filed'));
    await shows(resident, t(lang, 'event.GrievanceFiled'));
    await shows(resident, t(lang, 'grievance.timeline'));
  });

  // Listed on the resident's page (a read model, a moment behind).
  await go(resident, () => resident.click('header nav a[href="/"]'));
  await until(resident, async () => (await resident.locator(`main a[href="${path}"]`).count()) > 0, 'the grievance listed on /');
  await both(resident, 'resident', 'home-listed', async () => shows(resident, TITLE));
  await go(resident, () => resident.click(`main a[href="${path}"]`));
  return path;
}

/// The branch finds it in its queue, accepts, triages and assigns it.
async function branchTriages(branch, path) {
  await signIn(branch, 'branch', 'lishuji');
  await until(branch, async () => (await branch.locator(`main a[href="${path}"]`).count()) > 0, 'the grievance in the branch queue');
  await both(branch, 'branch', 'queue', async (lang) => {
    await shows(branch, t(lang, 'dashboard.title'));
    await shows(branch, t(lang, 'dashboard.due'));
  });
  await go(branch, () => branch.click(`main a[href="${path}"]`));
  await both(branch, 'branch', 'grievance-filed', async (lang) => shows(branch, t(lang, 'action.accept')));
  await photoSeenByBranch(branch, path);

  await go(branch, () => actionForm(branch, 'accept').locator('button').click());
  await both(branch, 'branch', 'grievance-accepted', async (lang) => shows(branch, t(lang, 'status.accepted')));

  const triage = actionForm(branch, 'triage');
  await triage.locator('#matter_class').selectOption('minor');
  await triage.locator('#party-triage').selectOption('property_company');
  await go(branch, () => triage.locator('button').click());
  await both(branch, 'branch', 'grievance-triaged', async (lang) => shows(branch, t(lang, 'status.triaged')));

  const assign = actionForm(branch, 'assign');
  await assign.locator('#party-assign').selectOption('property_company');
  await assign.locator('#reason-assign').fill(NOTE);
  await go(branch, () => assign.locator('button').click());
  await both(branch, 'branch', 'grievance-assigned', async (lang) => shows(branch, t(lang, 'status.assigned')));
}

/// The resident's photo is a thumbnail on the branch's page at 375 px, and
/// the original, opened from it, carries no EXIF block (no GPS).
async function photoSeenByBranch(branch, path) {
  const thumbnail = branch.locator('ul.files img').first();
  if ((await thumbnail.count()) === 0) fail('no thumbnail on the branch\'s grievance page');
  await thumbnail.scrollIntoViewIfNeeded();
  const shown = await thumbnail.evaluate((img) => img.complete && img.naturalWidth > 0 ? img.getBoundingClientRect().width : 0);
  if (!(shown > 0 && shown <= WIDTH)) fail(`the thumbnail is not shown within the page (${shown} px wide)`);
  const href = await branch.locator('ul.files a').first().getAttribute('href');
  if (!href || !href.startsWith(`${path}/files/`)) fail(`the thumbnail links elsewhere: ${href}`);
  const original = await branch.request.get(`${BASE}${href}`);
  if (original.status() !== 200) fail(`the original answered ${original.status()}`);
  const bytes = await original.body();
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) fail('the original is not a JPEG');
  if (bytes.includes(Buffer.from('Exif', 'latin1'))) fail('the original still carries EXIF (GPS) metadata');
  // Nobody signed out reads it.
  const anonymous = await fetch(`${BASE}${href}`, { redirect: 'manual' });
  if (anonymous.status !== 303) fail(`a signed-out request for the photo answered ${anonymous.status}`);
}

/// The property company, the respondent, answers on the grievance's page.
async function companyResponds(company, path) {
  await signIn(company, 'company', 'wuye');
  await both(company, 'company', 'home');
  const listed = company.locator(`main a[href="${path}"]`);
  await until(company, async () => (await listed.count()) > 0, "the grievance on the company's page");
  await go(company, () => listed.first().click());
  await both(company, 'company', 'grievance', async (lang) => shows(company, t(lang, 'action.respond')));
  const body = await company.innerText('body');
  if (body.includes('王小明') || body.includes('13800138000')) fail("the company's page names the resident");
  const respond = actionForm(company, 'respond');
  await respond.locator('#summary').fill(RESPONSE);
  await go(company, () => respond.locator('button').click());
  await both(company, 'company', 'grievance-responded', async (lang) => shows(company, t(lang, 'status.responded')));
}

async function branchResolves(branch, path) {
  await go(branch, () => branch.click('header nav a[href="/"]'));
  await go(branch, () => branch.click(`main a[href="${path}"]`));
  await shows(branch, t(await langOf(branch), 'action.resolve'));
  const resolve = actionForm(branch, 'resolve');
  await resolve.locator('#summary').fill(RESOLUTION);
  await go(branch, () => resolve.locator('button').click());
  await both(branch, 'branch', 'grievance-resolved', async (lang) => shows(branch, t(lang, 'status.resolved')));
}

async function residentRates(resident, path) {
  await go(resident, () => resident.click('header nav a[href="/"]'));
  await go(resident, () => resident.click(`main a[href="${path}"]`));
  await both(resident, 'resident', 'grievance-resolved', async (lang) => {
    await shows(resident, t(lang, 'action.rate'));
    await shows(resident, t(lang, 'action.reopen'));
  });
  const rate = actionForm(resident, 'rate');
  await rate.locator('#rating').selectOption('satisfied');
  await rate.locator('#comment').fill(COMMENT);
  await go(resident, () => rate.locator('button').click());
  await both(resident, 'resident', 'grievance-rated', async (lang) => {
    await shows(resident, t(lang, 'status.closed'));
    await shows(resident, t(lang, 'event.OutcomeRated'));
  });
}

/// The auditor verifies the case's chains, asks for a past state, and
/// downloads the dossier, printable and JSON.
async function auditorVerifies(auditor, path) {
  const id = path.split('/').pop();
  await signIn(auditor, 'auditor', 'shenji');
  await both(auditor, 'auditor', 'home');
  const listed = auditor.locator(`main a[href="${path}"]`);
  await until(auditor, async () => (await listed.count()) > 0, "the grievance on the auditor's page");
  await go(auditor, () => listed.first().click());
  await both(auditor, 'auditor', 'grievance');
  await go(auditor, () => auditor.click(`main a[href="/audit/${id}"]`));
  await both(auditor, 'auditor', 'audit', async (lang) => {
    await shows(auditor, t(lang, 'audit.verified'));
    await shows(auditor, t(lang, 'audit.story'));
    await shows(auditor, 'GrievanceFiled');
    await shows(auditor, 'OutcomeRated');
  });
  const page = await auditor.innerText('body');
  if (page.includes('王小明') || page.includes('wangxm')) fail('the audit page names the resident');

  // The state as of an instant: a bad one is refused next to the field,
  // a good one shows the state then.
  await auditor.fill('#as_of', 'yesterday');
  await go(auditor, () => auditor.click('form[method=get] button[type=submit]'));
  if (!(await auditor.locator('#as_of-error').isVisible())) fail('no error next to the instant');
  if ((await auditor.inputValue('#as_of')) !== 'yesterday') fail('the typed instant was not kept');
  await both(auditor, 'auditor', 'audit-as-of-invalid', async (lang) => shows(auditor, t(lang, 'audit.as_of_invalid')));
  await auditor.fill('#as_of', '2000-01-01T00:00:00+08:00');
  await go(auditor, () => auditor.click('form[method=get] button[type=submit]'));
  await both(auditor, 'auditor', 'audit-before-filing', async (lang) => shows(auditor, t(lang, 'audit.not_yet_filed')));
  await auditor.fill('#as_of', new Date(Date.now() + 60_000).toISOString().replace(/\.\d+Z$/, 'Z'));
  await go(auditor, () => auditor.click('form[method=get] button[type=submit]'));
  await both(auditor, 'auditor', 'audit-as-of-now', async (lang) => {
    await shows(auditor, t(lang, 'audit.version'));
    await shows(auditor, t(lang, 'status.closed'));
  });

  // The dossier, by its links.
  const download = async (href) => {
    const [file] = await Promise.all([
      auditor.waitForEvent('download'),
      auditor.click(`main a[href="${href}"]`),
    ]);
    const to = join(ARTIFACTS, file.suggestedFilename());
    await file.saveAs(to);
    return { name: file.suggestedFilename(), text: readFileSync(to, 'utf8') };
  };
  const printable = await download(`/audit/${id}/dossier`);
  if (!/^\s*(<!doctype html|<html)/i.test(printable.text)) fail(`the dossier ${printable.name} is not an HTML page`);
  if (!printable.text.includes(TITLE) || !printable.text.includes(id)) fail(`the dossier ${printable.name} does not tell the grievance`);
  const json = await download(`/audit/${id}/dossier?format=json`);
  let dossier;
  try {
    dossier = JSON.parse(json.text);
  } catch (e) {
    fail(`the JSON dossier ${json.name} does not parse: ${e.message}`);
  }
  if (dossier.format !== 'lianxi-dossier-v1') fail(`the JSON dossier's format is ${dossier.format}`);
  if (!json.text.includes(id)) fail('the JSON dossier does not name the grievance');
  if (!dossier.streams?.every((s) => s.chain?.ok === true)) fail('a stream of the JSON dossier does not verify');
  for (const f of [printable, json]) {
    if (f.text.includes('王小明') || f.text.includes('13800138000')) fail(`the dossier ${f.name} names the resident`);
  }
}

/// A4 in CSS pixels (96 per inch), and the report's page margins
/// (`@page` in gateway/static/app.css: 14 mm top and bottom, 12 mm sides).
const MM = 96 / 25.4;
const A4 = { width: 210 * MM, height: 297 * MM, marginX: 12 * MM, marginY: 14 * MM };

/// How many A4 pages the report should print on, from its layout in print
/// media at the printable width: one per sheet (each starts a page), each
/// sheet no taller than a page; and every element wider than the page.
async function printLayout(page) {
  const printable = { width: A4.width - 2 * A4.marginX, height: A4.height - 2 * A4.marginY };
  await page.emulateMedia({ media: 'print' });
  await page.setViewportSize({ width: Math.floor(printable.width), height: Math.floor(printable.height) });
  const layout = await page.evaluate((limit) => {
    const sheets = [...document.querySelectorAll('.report > .sheet')].map((el) => el.getBoundingClientRect().height);
    const wide = [];
    for (const el of document.querySelectorAll('main *')) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > limit + 0.5) wide.push(`${el.tagName.toLowerCase()} ${Math.round(r.right)}px`);
    }
    return { sheets, wide: wide.slice(0, 5) };
  }, printable.width);
  // Back to no emulation: a page emulating `screen` would print as it shows.
  await page.emulateMedia({ media: null });
  await page.setViewportSize({ width: WIDTH, height: 800 });
  const tall = layout.sheets
    .map((h, i) => [i + 1, h])
    .filter(([, h]) => h > printable.height)
    .map(([i, h]) => `sheet ${i} is ${Math.round(h)} px, a page ${Math.round(printable.height)} px`);
  return { pages: layout.sheets.length, wide: layout.wide, tall };
}

/// The branch opens this month's report and prints it to PDF (A4), in both
/// languages, and downloads the month's ledgers.
async function branchReports(branch) {
  await go(branch, () => branch.click('header nav a[href="/reports"]'));
  await both(branch, 'branch', 'reports', async (lang) => shows(branch, t(lang, 'reports.title')));
  await go(branch, () => branch.click('form[action="/reports/view"] button[type=submit]'));
  for (let round = 0; round < 2; round += 1) {
    const lang = await langOf(branch);
    await shows(branch, t(lang, 'reports.monthly'));
    await shows(branch, t(lang, 'reports.open'));
    await shows(branch, t(lang, 'reports.by_company'));
    await check(branch, 'branch', 'report');
    const expected = await printLayout(branch);
    if (expected.wide.length) problem(`branch-report-${lang}`, `wider than an A4 page: ${expected.wide.join(', ')}`);
    if (expected.tall.length) problem(`branch-report-${lang}`, `taller than an A4 page: ${expected.tall.join(', ')}`);
    const pdf = await branch.pdf({ format: 'A4', printBackground: true, preferCSSPageSize: true });
    writeFileSync(join(ARTIFACTS, `report-${lang}.pdf`), pdf);
    writeFileSync(join(ARTIFACTS, `report-${lang}.html`), await branch.content());
    const printed = (pdf.toString('latin1').match(/\/Type\s*\/Page(?!s)/g) || []).length;
    if (printed !== expected.pages) {
      problem(`branch-report-${lang}`, `printed on ${printed} A4 page(s), not one per sheet (${expected.pages})`);
    }
    console.log(`journey: the ${lang} report prints on ${printed} A4 page(s)`);
    await switchLanguage(branch);
  }
  // This month's ledgers, from the report's own link: a workbook.
  const [file] = await Promise.all([
    branch.waitForEvent('download'),
    branch.click('main a[href^="/reports/ledger?"]'),
  ]);
  const to = join(ARTIFACTS, file.suggestedFilename());
  await file.saveAs(to);
  const bytes = readFileSync(to);
  if (!file.suggestedFilename().endsWith('.xlsx') || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    fail(`the ledger download is not a workbook: ${file.suggestedFilename()}`);
  }
}

/// The xiaoqu's public board, without signing in.
async function publicBoard(visitor) {
  await go(visitor, () => visitor.goto(`${BASE}/board/${XIAOQU}`));
  await until(visitor, async () => (await visitor.innerText('main table')).includes('100%'), 'the satisfaction rate on the board');
  await both(visitor, 'public', 'board', async (lang) => {
    await shows(visitor, t(lang, 'board.title'));
    await shows(visitor, t(lang, 'board.satisfaction_rate'));
  });
  if ((await visitor.locator('main svg rect').count()) === 0) fail('the board draws no bars');
  await both(visitor, 'public', 'board-projects', async (lang) => {
    await shows(visitor, t(lang, 'board.projects'));
    await shows(visitor, PROJECT_TITLE);
    await shows(visitor, t(lang, 'project_status.approved'));
    await shows(visitor, FUND_NAME);
    await shows(visitor, '¥500.00');
  });
  const body = await visitor.innerText('body');
  if (body.includes('王小明') || body.includes(TITLE) || body.includes(DONOR)) fail('the board shows a person, a donor or a grievance');
}

/// Joint meetings: a second grievance referred to a meeting; the branch
/// convenes it, takes attendance, records the decision with each party's
/// position and an action item, closes it; the resident reads the minutes.
/// Runs only when the branch's page links to /meetings.
const MEETING_TITLE = '地下车库公共车位被长期占用';
const PLACE = '小区党群服务站';
const DISCUSSION = '业委会与物业就占用公共车位的车辆处理方式充分讨论';
const DECISION = '划定访客临时车位,物业两周内完成标线';
const ACTION = '完成地下车库访客车位标线';
const PUBLIC_SUMMARY = '本次会议议定地下车库访客车位方案';
for (const s of [MEETING_TITLE, PLACE, DISCUSSION, DECISION, ACTION, PUBLIC_SUMMARY]) typed.add(s);

/// `datetime-local` / `date` values `days` from now, China time.
function chinaTime(days) {
  const at = new Date(Date.now() + days * 86_400_000 + 8 * 3_600_000);
  return at.toISOString().slice(0, 16);
}

async function jointMeeting(resident, branch, company) {
  // The resident files; the branch triages it and refers it to a meeting.
  await go(resident, () => resident.click('header nav a[href="/file"]'));
  const path = await submitFiling(resident, MEETING_TITLE);
  await go(branch, () => branch.click('header nav a[href="/"]'));
  await until(branch, async () => (await branch.locator(`main a[href="${path}"]`).count()) > 0, 'the second grievance in the queue');
  await go(branch, () => branch.click(`main a[href="${path}"]`));
  await go(branch, () => actionForm(branch, 'accept').locator('button').click());
  const triage = actionForm(branch, 'triage');
  await triage.locator('#matter_class').selectOption('minor');
  await triage.locator('#party-triage').selectOption('property_company');
  await go(branch, () => triage.locator('button').click());
  await go(branch, () => actionForm(branch, 'refer-to-meeting').locator('button').click());
  await both(branch, 'branch', 'grievance-referred', async (lang) => shows(branch, t(lang, 'event.MeetingRequested')));

  // Convene, from the proposed agenda.
  await go(branch, () => branch.click('a[href="/meetings"]'));
  const item = branch.locator(`input[name=item][value="grievance:${path.split('/').pop()}"]`);
  await until(branch, async () => (await item.count()) > 0, 'the referred grievance on the proposed agenda');
  await both(branch, 'branch', 'meetings', async (lang) => shows(branch, t(lang, 'meetings.convene')));
  await branch.check('input[name=kind][value=regular]');
  await branch.fill('#scheduled_for', chinaTime(1));
  await branch.fill('#place', PLACE);
  await item.check();
  await go(branch, () => branch.click('main form[action="/meetings"] button[type=submit]'));
  const meeting = new URL(branch.url()).pathname;
  if (!/^\/meetings\/[0-9a-f-]{36}$/.test(meeting)) fail(`convening did not land on the meeting: ${meeting}`);
  await both(branch, 'branch', 'meeting-convened', async (lang) => {
    await shows(branch, t(lang, 'meeting_status.convened'));
    await shows(branch, MEETING_TITLE);
  });

  // Attendance: two parties are no quorum, refused next to the boxes;
  // four parties are.
  for (const p of ['party_branch', 'owners_committee']) {
    await branch.check(`input[name=present][value=${p}]`);
  }
  await go(branch, () => branch.click(`form[action="${meeting}/open"] button[type=submit]`), 422);
  await shows(branch, t(await langOf(branch), 'meeting.error.quorum'));
  await check(branch, 'branch', 'meeting-no-quorum');
  for (const p of ['party_branch', 'owners_committee', 'supervisory_committee', 'property_company']) {
    await branch.check(`input[name=present][value=${p}]`);
  }
  await go(branch, () => branch.click(`form[action="${meeting}/open"] button[type=submit]`));
  await both(branch, 'branch', 'meeting-open', async (lang) => shows(branch, t(lang, 'meeting.quorum_met')));

  // The decision, each party's position and an action item.
  const decide = branch.locator(`form[action="${meeting}/decide"]`).first();
  await decide.locator('textarea[name=summary]').fill(DISCUSSION);
  await decide.locator('textarea[name=decision]').fill(DECISION);
  for (const [p, stance] of [
    ['party_branch', 'agree'],
    ['owners_committee', 'agree'],
    ['supervisory_committee', 'abstain'],
    ['property_company', 'object'],
  ]) {
    await decide.locator(`select[name=stance_${p}]`).selectOption(stance);
  }
  await decide.locator('select[name=action_owner]').selectOption('property_company');
  await decide.locator('input[name=action_description]').fill(ACTION);
  await decide.locator('input[name=action_due]').fill(chinaTime(14).slice(0, 10));
  await go(branch, () => decide.locator('button[type=submit]').click());
  await both(branch, 'branch', 'meeting-decided', async (lang) => {
    await shows(branch, t(lang, 'outcome.decided'));
    await shows(branch, ACTION);
  });

  // The property company finds the action item on its home page and
  // marks it done on the meeting's page.
  await go(company, () => company.click('header nav a[href="/"]'));
  await both(company, 'company', 'home-todo', async (lang) => {
    await shows(company, t(lang, 'home.todo'));
    await shows(company, ACTION);
  });
  await go(company, () => company.click(`main a[href="${meeting}"]`));
  await both(company, 'company', 'meeting', async (lang) => shows(company, t(lang, 'meeting.complete')));
  await go(company, () => company.click(`form[action="${meeting}/complete"] button[type=submit]`));
  await both(company, 'company', 'meeting-action-done', async (lang) => shows(company, t(lang, 'meeting.done')));
  await go(branch, () => branch.reload());

  // Closed: the minutes are published.
  await branch.fill('#public_summary', PUBLIC_SUMMARY);
  await go(branch, () => branch.click(`form[action="${meeting}/close"] button[type=submit]`));
  await both(branch, 'branch', 'meeting-closed', async (lang) => shows(branch, t(lang, 'meeting_status.closed')));

  // A resident reads the minutes from the list of meetings.
  await go(resident, () => resident.click('header nav a[href="/meetings"]'));
  const listed = resident.locator(`main a[href="${meeting}"]`);
  await until(resident, async () => (await listed.count()) > 0, "the meeting on the resident's list");
  await both(resident, 'resident', 'meetings');
  await go(resident, () => listed.click());
  // The meeting's page is its minutes for a resident, or links to them.
  const link = resident.locator(`main a[href="${meeting}/minutes"]`);
  if ((await link.count()) > 0) await go(resident, () => link.click());
  await both(resident, 'resident', 'minutes', async (lang) => {
    await shows(resident, t(lang, 'minutes.title'));
    await shows(resident, DECISION);
    await shows(resident, PUBLIC_SUMMARY);
    await shows(resident, `${t(lang, 'party.property_company')}${t(lang, 'punct.colon')}${t(lang, 'stance.object')}`);
  });
  const minutes = await resident.innerText('body');
  for (const secret of ['李书记', '物业客服', '王小明', '13800138000']) {
    if (minutes.includes(secret)) fail(`the minutes show ${secret}`);
  }
}

const CASE_TITLE = '楼上装修噪音影响休息';
const MATTER = '装修噪音纠纷';
for (const s of [CASE_TITLE, MATTER]) typed.add(s);

/// The branch opens a mediation case for a triaged grievance (once with
/// the matter left out); the respondent reads the case.
async function mediation(resident, branch, company) {
  await go(resident, () => resident.click('header nav a[href="/file"]'));
  const path = await submitFiling(resident, CASE_TITLE);
  await go(branch, () => branch.click('header nav a[href="/"]'));
  await until(branch, async () => (await branch.locator(`main a[href="${path}"]`).count()) > 0, 'the third grievance in the queue');
  await go(branch, () => branch.click(`main a[href="${path}"]`));
  await go(branch, () => actionForm(branch, 'accept').locator('button').click());
  const triage = actionForm(branch, 'triage');
  await triage.locator('#matter_class').selectOption('private');
  await triage.locator('#party-triage').selectOption('property_company');
  await go(branch, () => triage.locator('button').click());
  const open = branch.locator(`main a[href="/cases/new?grievance=${path.split('/').pop()}"]`);
  if ((await open.count()) === 0) fail('the triaged grievance offers no mediation case');
  await go(branch, () => open.click());
  await both(branch, 'branch', 'case-new', async (lang) => shows(branch, t(lang, 'case.open')));
  await branch.fill('#matter', '');
  await go(branch, () => branch.click('main form[action="/cases"] button[type=submit]'), 422);
  await shows(branch, t(await langOf(branch), 'case.error.matter'));
  await check(branch, 'branch', 'case-new-refused');
  await branch.fill('#matter', MATTER);
  await branch.selectOption('#respondent', 'property_company');
  await go(branch, () => branch.click('main form[action="/cases"] button[type=submit]'));
  const casePath = new URL(branch.url()).pathname;
  if (!/^\/cases\/[0-9a-f-]{36}$/.test(casePath)) fail(`opening did not land on the case: ${casePath}`);
  await both(branch, 'branch', 'case', async (lang) => {
    await shows(branch, t(lang, 'case_status.open'));
    await shows(branch, MATTER);
  });
  await go(company, () => company.goto(`${BASE}${casePath}`));
  await both(company, 'company', 'case', async (lang) => shows(company, t(lang, 'party.property_company')));
  const seen = await company.innerText('body');
  for (const secret of ['王小明', '13800138000']) {
    if (seen.includes(secret)) fail(`the company's case page shows ${secret}`);
  }
}

// ---------------------------------------------------------------- owners' votes

const QUESTION = '动用维修资金更换1栋电梯';
const EXPLANATION = '电梯已运行十八年,维保单位建议更换,报价32万元,详见附件。';
const ADDRESSES = ['1栋 / 1单元 / 101', '1栋 / 1单元 / 102', '商铺 / S01'];
for (const s of [QUESTION, EXPLANATION, ...ADDRESSES, '1栋', '1单元', '商铺']) typed.add(s);
/// The register: the resident's flat, a flat and a shop not sold yet, and
/// a row whose area does not read (reported, line 5).
const REGISTER = [
  '楼栋,单元,房号,面积,业主',
  '1栋,1单元,101,89.37,wangxm',
  '1栋,1单元,102,76.50,开发商',
  '商铺,,S01,120.00,developer',
  '1栋,1单元,103,八十,wangxm',
].join('\n') + '\n';

/// A `datetime-local` value `ms` from now, in China time (the form's).
function chinaLocal(ms) {
  return new Date(Date.now() + ms + 8 * 3600_000).toISOString().slice(0, 16);
}

/// The owners' committee imports the register (a bad row reported) and
/// opens a vote on the maintenance fund taking online and paper ballots,
/// closing in three minutes; it enters a paper ballot for a shop. Returns the
/// vote's path and when it closes.
async function committeeOpensVote(committee) {
  await signIn(committee, 'committee', 'yewei');
  await go(committee, () => committee.click('header nav a[href="/votes"]'));
  await both(committee, 'committee', 'votes-empty', async (lang) => shows(committee, t(lang, 'votes.no_register')));
  await committee.setInputFiles('#register-file', { name: 'owners.csv', mimeType: 'text/csv', buffer: Buffer.from(REGISTER) });
  await go(committee, () => committee.click('main form[action="/votes/register"] button[type=submit]'));
  const lang = await langOf(committee);
  await shows(committee, t(lang, 'votes.imported'));
  await shows(committee, t(lang, 'register_problem.unreadable'));
  const report = await committee.innerText('main table');
  if (!/\b5\b/.test(report)) fail(`the import report does not name line 5: ${report}`);
  await check(committee, 'committee', 'register-imported');
  // No question: the error next to the field, what was typed kept.
  const closes = Date.now() + 180_000;
  await committee.selectOption('#matter', 'use_maintenance_fund');
  await committee.fill('#question', '');
  await committee.fill('#explanation', EXPLANATION);
  await committee.fill('#closes_at', chinaLocal(180_000));
  await committee.check('input[name=paper]');
  await go(committee, () => committee.click('main form[action="/votes"] button[type=submit]'), 422);
  await shows(committee, t(await langOf(committee), 'vote.error.question'));
  if ((await committee.inputValue('#explanation')) !== EXPLANATION) fail('the vote form lost the explanation');
  await check(committee, 'committee', 'vote-open-refused');
  await committee.fill('#question', QUESTION);
  await go(committee, () => committee.click('main form[action="/votes"] button[type=submit]'));
  const path = new URL(committee.url()).pathname;
  if (!/^\/votes\/[0-9a-f-]{36}$/.test(path)) fail(`opening did not land on the vote: ${path}`);
  await both(committee, 'committee', 'vote-open', async (lang) => {
    await shows(committee, QUESTION);
    await shows(committee, t(lang, 'vote_status.open'));
    await shows(committee, t(lang, 'vote.paper_entry'));
  });
  await committee.selectOption('#paper-unit', { label: '商铺 / S01' });
  await committee.check('main form[action$="/paper"] input[value=oppose]');
  await go(committee, () => committee.click('main form[action$="/paper"] button[type=submit]'));
  await shows(committee, t(await langOf(committee), 'vote.done.paper'));
  // The committee sees how many voted, never how.
  if ((await committee.innerText('main')).includes(t(await langOf(committee), 'vote.your_ballot'))) fail('the committee sees a ballot');
  return { path, closes };
}

/// The resident votes for their flat, changes their mind, and sees their
/// own ballot.
async function residentVotes(resident, path) {
  await go(resident, () => resident.click('header nav a[href="/votes"]'));
  await both(resident, 'resident', 'votes', async () => shows(resident, QUESTION));
  await go(resident, () => resident.click(`main a[href="${path}"]`));
  await both(resident, 'resident', 'vote', async (lang) => {
    await shows(resident, '1栋 / 1单元 / 101');
    await shows(resident, t(lang, 'vote.no_ballot'));
  });
  await resident.check('main form[action$="/ballot"] input[value=approve]');
  await go(resident, () => resident.click('main form[action$="/ballot"] button[type=submit]'));
  await resident.check('main form[action$="/ballot"] input[value=oppose]');
  await go(resident, () => resident.click('main form[action$="/ballot"] button[type=submit]'));
  await both(resident, 'resident', 'vote-cast', async (lang) => {
    await shows(resident, t(lang, 'vote.done.ballot'));
    await shows(resident, `${t(lang, 'vote.your_ballot')}${t(lang, 'punct.colon')}${t(lang, 'choice.oppose')}`);
  });
}

/// Once the window has passed the committee closes the vote; the tally is
/// shown to all, the resident sees their ballot counted, and the property
/// company sees the result without any ballot.
async function voteCloses(committee, resident, company, path, closes) {
  // The form keeps whole minutes: the window closed at or before `closes`.
  const wait = closes - Date.now() + 1_000;
  if (wait > 0) await committee.waitForTimeout(wait);
  await go(committee, () => committee.goto(`${BASE}${path}`));
  await go(committee, () => committee.click('main form[action$="/close"] button[type=submit]'));
  await both(committee, 'committee', 'vote-closed', async (lang) => {
    await shows(committee, t(lang, 'vote.done.close'));
    await shows(committee, t(lang, 'vote_outcome.rejected'));
    await shows(committee, t(lang, 'vote.tally.participated'));
  });
  await go(resident, () => resident.goto(`${BASE}${path}`));
  await both(resident, 'resident', 'vote-counted', async (lang) => {
    await shows(resident, t(lang, 'vote.counted'));
    await shows(resident, t(lang, 'vote.result'));
  });
  await go(company, () => company.goto(`${BASE}${path}`));
  await both(company, 'company', 'vote', async (lang) => shows(company, t(lang, 'vote.result')));
  const seen = await company.innerText('main');
  for (const lang of ['zh', 'en']) {
    if (seen.includes(t(lang, 'vote.your_ballot'))) fail('the property company sees a ballot');
  }
}

/// Micro-projects (五微工作法): the branch opens the xiaoqu's micro-fund and
/// records a named donation; the micro-organization proposes a project
/// (first without a title: the error next to the field, what was typed
/// kept); the resident supports it; the branch shortlists and approves it.
/// The public board then lists the project and the fund's balance.
const FUND_NAME = '幸福里微基金';
const DONOR = '3栋王女士';
const PROJECT_TITLE = '楼道口微花园';
const PLAN = '在5栋楼道口空地种植花草,志愿者每周养护。';
const OPINION = '五方联席会议评审通过,预算合理';
for (const s of [FUND_NAME, DONOR, PROJECT_TITLE, PLAN, OPINION]) typed.add(s);

async function microProjects(branch, group, resident) {
  await go(branch, () => branch.click('header nav a[href="/projects"]'));
  await both(branch, 'branch', 'projects-empty', async (lang) => shows(branch, t(lang, 'board.no_funds')));
  await branch.fill('#name', FUND_NAME);
  await go(branch, () => branch.click('main form input[name=open_fund] ~ button[type=submit]'));
  await shows(branch, t(await langOf(branch), 'project.done.fund'));
  await go(branch, () => branch.click(`main a:has-text("${FUND_NAME}")`));
  await branch.fill('#income-amount', '500');
  await branch.fill('#income-name', DONOR);
  await go(branch, () => branch.click('main form[action$="/income"] button[type=submit]'));
  await both(branch, 'branch', 'fund', async (lang) => {
    await shows(branch, t(lang, 'fund.done.income'));
    await shows(branch, '¥500.00');
    await shows(branch, DONOR);
    await shows(branch, t(lang, 'fund.nothing_payable'));
  });

  await signIn(group, 'group', 'weizuzhi');
  await go(group, () => group.click('header nav a[href="/projects"]'));
  await both(group, 'group', 'projects', async (lang) => shows(group, t(lang, 'projects.propose')));
  await group.fill('#title', '');
  await group.fill('#plan', PLAN);
  await group.fill('#budget', '1200');
  await go(group, () => group.click('main form[action="/projects"] button[type=submit]'), 422);
  await shows(group, t(await langOf(group), 'project.error.title'));
  if ((await group.inputValue('#plan')) !== PLAN) fail('the proposal form lost the plan');
  await check(group, 'group', 'project-propose-refused');
  await group.fill('#title', PROJECT_TITLE);
  await go(group, () => group.click('main form[action="/projects"] button[type=submit]'));
  const path = new URL(group.url()).pathname;
  if (!/^\/projects\/[0-9a-f-]{36}$/.test(path)) fail(`proposing did not land on the project: ${path}`);
  await both(group, 'group', 'project-proposed', async (lang) => {
    await shows(group, t(lang, 'project.done.propose'));
    await shows(group, t(lang, 'project_status.proposed'));
    await shows(group, '¥1200.00');
  });

  await go(resident, () => resident.click('header nav a[href="/projects"]'));
  await go(resident, () => resident.click(`main a[href="${path}"]`));
  await go(resident, () => resident.click('main form[action$="/support"] button[type=submit]'));
  await both(resident, 'resident', 'project-supported', async (lang) => {
    await shows(resident, t(lang, 'project.done.support'));
    await shows(resident, t(lang, 'project.supported'));
  });

  await go(branch, () => branch.goto(`${BASE}${path}`));
  await go(branch, () => branch.click('main form[action$="/shortlist"] button[type=submit]'));
  await branch.fill('#opinion', OPINION);
  await go(branch, () => branch.click('main form[action$="/review"] button[type=submit]'));
  await both(branch, 'branch', 'project-approved', async (lang) => {
    await shows(branch, t(lang, 'project.done.review'));
    await shows(branch, t(lang, 'project_status.approved'));
    await shows(branch, OPINION);
    await shows(branch, t(lang, 'project.publish'));
  });
}

// ---------------------------------------------------------------- run

mkdirSync(ARTIFACTS, { recursive: true });
const started = Date.now();
let meetings = 'not run: the branch page does not link to /meetings';
try {
  const resident = await person('resident');
  const branch = await person('branch');
  const company = await person('company');
  const auditor = await person('auditor');
  const visitor = await person('public');
  const committee = await person('committee');
  const group = await person('group');

  console.log("journey: the owners' committee imports the register and opens a vote");
  const vote = await committeeOpensVote(committee);

  console.log('journey: the resident files');
  const path = await residentFiles(resident);
  console.log('journey: the resident votes for their flat and changes their mind');
  await residentVotes(resident, vote.path);
  console.log(`journey: the branch triages and assigns ${path}`);
  await branchTriages(branch, path);
  console.log('journey: the property company responds');
  await companyResponds(company, path);
  await go(branch, () => branch.click('header nav a[href="/"]'));
  if ((await branch.locator('a[href="/meetings"]').count()) > 0) {
    console.log('journey: the branch runs a joint meeting; the resident reads the minutes');
    await jointMeeting(resident, branch, company);
    meetings = 'run';
    console.log('journey: the branch opens a mediation case; the company reads it');
    await mediation(resident, branch, company);
  }
  console.log('journey: the branch resolves');
  await branchResolves(branch, path);
  console.log('journey: the resident rates');
  await residentRates(resident, path);
  console.log('journey: the branch opens a micro-fund, a micro-organization proposes a project, the resident supports it, the branch approves it');
  await microProjects(branch, group, resident);
  console.log('journey: the auditor verifies and downloads the dossier');
  await auditorVerifies(auditor, path);
  console.log('journey: the branch prints the monthly report and downloads the ledgers');
  await branchReports(branch);
  console.log('journey: the public board');
  await publicBoard(visitor);
  console.log('journey: the window passes; the committee closes the vote and the tally shows');
  await voteCloses(committee, resident, company, vote.path, vote.closes);
} catch (e) {
  for (const [role, context] of contexts) {
    for (const page of context.pages()) {
      await page.screenshot({ path: join(ARTIFACTS, `failure-${role}.png`), fullPage: true }).catch(() => {});
    }
  }
  console.error(`journey: FAILED: ${e.stack || e}`);
  problems.unshift(`the journey stopped: ${e.message}`);
} finally {
  await browser.close();
}

const seconds = ((Date.now() - started) / 1000).toFixed(1);
// The visual check, once the journey went all the way (a partial run would
// replace the previous screenshots with fewer).
if (!problems.some((p) => p.startsWith('the journey stopped'))) {
  const seen = compareScreens(SCREENS, PREVIOUS, join(ARTIFACTS, 'screens-diff'), join(ARTIFACTS, 'screens-changed.json'));
  if (!seen.baseline) {
    console.log(`journey: screenshots: no previous run to compare with; these are kept in ${PREVIOUS} for the next`);
  } else {
    console.log(`journey: screenshots: ${seen.compared} compared with the previous run, ${seen.changed.length} changed, ${seen.added.length} new, ${seen.removed.length} gone (screens-changed.json, screens-diff/)`);
    for (const c of seen.changed) console.log(`  changed: ${c.name}: ${c.why}`);
    for (const n of seen.added) console.log(`  new: ${n}`);
    for (const n of seen.removed) console.log(`  gone: ${n}`);
  }
}
writeFileSync(join(ARTIFACTS, 'problems.txt'), problems.join('\n') + (problems.length ? '\n' : ''));
writeFileSync(join(ARTIFACTS, 'axe-notes.txt'), notes.join('\n') + (notes.length ? '\n' : ''));
if (notes.length) console.log(`journey: ${notes.length} note(s) for a person to look at (advisory rules, checks axe could not decide) in axe-notes.txt`);
console.log(`journey: ${pagesChecked} page views checked in ${seconds} s; joint meetings ${meetings}`);
if (problems.length) {
  console.error(`journey: ${problems.length} problem(s):`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log(`journey: no problem; screenshots in ${ARTIFACTS}`);
