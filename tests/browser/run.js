#!/usr/bin/env node
'use strict';
/* Browser tests of the page: the real binary (MINTRAC_BIN, the ASan build
 * under `make test`) with a demo user, devices and fixes, driven in
 * Debian's headless Chromium by playwright-core (never a downloaded
 * browser). Map tiles point at a closed loopback port, so nothing leaves
 * the machine; the track must draw without them.
 *
 *   MINTRAC_BIN=build/asan/mintrac node tests/browser/run.js [-k SUBSTRING]...
 *
 * Last line: "browser: N passed, N failed"; exit 1 on any failure.
 * Screenshots go to build/test-output/screenshots/. */
const assert = require('assert/strict');
const fs = require('fs');
const path = require('path');
const { Mintrac, freePort, sleep } = require('./server');

const ROOT = path.resolve(__dirname, '..', '..');
const SHOTS = path.join(ROOT, 'build', 'test-output', 'screenshots');
const CHROMIUM = '/usr/bin/chromium';
const TEST_TIMEOUT_MS = 30000;
const LIVE_WITHIN_MS = 2000;
const USER = 'demo';
const PASSWORD = 'demo-password-1';
const EMPTY_USER = 'newbie';
const EMPTY_PASSWORD = 'newbie-password-1';
const TODAY_FIXES = 120;
const OLD_FIXES = 20;
const EVIL_NAME = '<img src=x onerror=alert(1)>';

function summary(passed, failed) {
	console.log('browser: ' + passed + ' passed, ' + failed + ' failed');
}

let chromium;
try {
	({ chromium } = require(path.join(ROOT, 'web', 'node_modules', 'playwright-core')));
} catch (e) {
	console.log('playwright-core is not installed (run scripts/setup.sh, or npm ci in web/): ' +
		e.message.split('\n')[0]);
	summary(0, 1);
	process.exit(1);
}
if (!fs.existsSync(CHROMIUM)) {
	console.log(CHROMIUM + ' is missing (Debian package chromium; scripts/setup.sh installs it)');
	summary(0, 1);
	process.exit(1);
}
const BIN = path.resolve(process.env.MINTRAC_BIN || path.join(ROOT, 'build', 'asan', 'mintrac'));

/* A zone where it is about noon now, so "today" and "yesterday" in the
 * browser are well away from midnight whenever the tests run, and the
 * zone differs from the machine's. Etc/GMT-N is UTC+N. */
function middayZone() {
	const now = new Date();
	const off = Math.round(12 - (now.getUTCHours() + now.getUTCMinutes() / 60));
	return off === 0 ? 'Etc/GMT' : off > 0 ? 'Etc/GMT-' + off : 'Etc/GMT+' + (-off);
}

/* A loop around a point with speeds in every colour bucket. */
function todayFixes(now) {
	const out = [];
	const speeds = [1, 4, 10, 20, 30, 0.5];
	for (let i = 0; i < TODAY_FIXES; i++) {
		const a = (i / TODAY_FIXES) * 2 * Math.PI;
		out.push({
			t: now - 62 * 60000 + i * 30000,
			lat: 48.137 + 0.02 * Math.sin(a),
			lon: 11.575 + 0.03 * Math.cos(a) * (1 + 0.3 * Math.sin(3 * a)),
			speed: speeds[Math.floor(i / 20) % speeds.length],
			alt: 520 + (i % 7),
			acc: 4 + (i % 3),
			batt: 95 - Math.floor(i / 10),
		});
	}
	return out;
}

function osmandQuery(token, f) {
	const q = new URLSearchParams({
		token, lat: f.lat.toFixed(7), lon: f.lon.toFixed(7), timestamp: String(f.t),
	});
	if (f.speed !== undefined) q.set('speed', String(f.speed));
	if (f.alt !== undefined) q.set('altitude', String(f.alt));
	if (f.acc !== undefined) q.set('hdop', String(f.acc));
	if (f.batt !== undefined) q.set('batproc', String(f.batt));
	return '/osmand?' + q.toString();
}

const T = {
	m: null,
	browser: null,
	ctx: null,
	page: null,
	tileBase: '',
	zone: middayZone(),
	tokens: {},
	problems: [],       /* console errors, page errors, CSP violations */
	pages: [],
};

/* Console errors fail the run, except the ones the tests cause on purpose
 * or cannot avoid: the 401 of /api/session before signing in and of a
 * wrong password, and tiles from the closed tile port. */
function watch(page, label) {
	T.pages.push(page);
	page.on('console', (msg) => {
		if (msg.type() !== 'error' && !/Content.Security.Policy/i.test(msg.text())) return;
		const url = (msg.location() && msg.location().url) || '';
		const text = msg.text();
		if (/^Failed to load resource/.test(text)) {
			if (url.startsWith(T.tileBase)) return;
			if (T.webappDown && /net::ERR_/.test(text)) return;
			if (/status of 401/.test(text) && /\/api\/(session|login)$/.test(url)) return;
		}
		T.problems.push(label + ': console ' + msg.type() + ': ' + text + (url ? ' (' + url + ')' : ''));
	});
	page.on('pageerror', (e) => T.problems.push(label + ': page error: ' + e.message));
}

async function newPage(label, opts) {
	const ctx = await T.browser.newContext(Object.assign({
		viewport: { width: 1280, height: 800 },
		timezoneId: T.zone,
		locale: 'en-US',
		serviceWorkers: 'block',
	}, opts || {}));
	/* Runs before the page's own scripts; CDP-injected, so the CSP does
	 * not apply to it. */
	await ctx.addInitScript(() => {
		window.__csp = [];
		document.addEventListener('securitypolicyviolation', (e) => {
			window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
		});
	});
	const page = await ctx.newPage();
	page.setDefaultTimeout(10000);
	watch(page, label);
	return { ctx, page };
}

async function cspViolations(page) {
	try {
		return await page.evaluate(() => window.__csp || []);
	} catch (e) {
		return [];
	}
}

async function login(page, user, password) {
	await page.goto(T.m.base + '/');
	await page.waitForSelector('#login-form', { state: 'visible' });
	await page.fill('#login-user', user);
	await page.fill('#login-password', password);
	await page.click('#login-submit');
	await page.waitForSelector('#app', { state: 'visible' });
}

/* Vertices of the drawn track, the map's counters and the range in use. */
function trackInfo(page) {
	return page.evaluate(() => {
		const paths = Array.from(document.querySelectorAll('#map path.track'));
		const verts = paths.map((p) => (p.getAttribute('d').match(/[ML]/g) || []).length);
		const map = document.getElementById('map');
		const href = document.getElementById('download').getAttribute('href') || '';
		const q = new URLSearchParams(href.split('?')[1] || '');
		return {
			paths: paths.length,
			vertices: verts.reduce((a, b) => a + b, 0),
			points: Number(map.dataset.points),
			zoom: map.dataset.zoom,
			device: q.get('device'),
			from: q.get('from'),
			to: q.get('to'),
			summary: document.getElementById('track-summary').textContent,
		};
	});
}

/* Features the API returns to the signed-in page. */
function apiCount(page, params) {
	return page.evaluate(async (p) => {
		const r = await fetch('/api/points?' + new URLSearchParams(p).toString());
		if (!r.ok) return 'status ' + r.status;
		return (await r.json()).features.length;
	}, params);
}

/* A point on the drawn track that is really the track (not under a
 * marker or a control), in page coordinates. */
function pointOnTrack(page) {
	return page.evaluate(() => {
		const paths = Array.from(document.querySelectorAll('#map path.track'));
		paths.sort((a, b) => b.getTotalLength() - a.getTotalLength());
		for (const p of paths) {
			const len = p.getTotalLength();
			for (const frac of [0.5, 0.3, 0.7, 0.1, 0.9]) {
				const q = p.getPointAtLength(len * frac);
				const m = p.getScreenCTM();
				const x = m.a * q.x + m.c * q.y + m.e;
				const y = m.b * q.x + m.d * q.y + m.f;
				if (document.elementFromPoint(x, y) === p) return { x, y };
			}
		}
		return null;
	});
}

async function selectDevice(page, name) {
	await page.click('#device-list li[data-device="' + name.replace(/["\\]/g, '\\$&') + '"]');
}

async function waitTrack(page, min) {
	await page.waitForFunction((n) => {
		const s = document.getElementById('track-summary').textContent;
		return Number(document.getElementById('map').dataset.points) >= n && !/Loading/.test(s);
	}, min || 1);
}

/* Each test on the main page starts from the same place, whatever the
 * test before it left behind: no dialog or popup, phone selected, today,
 * the track fitted. */
async function home(page) {
	await page.evaluate(() => {
		const d = document.getElementById('devices-dialog');
		if (d.open) d.close();
	});
	await page.keyboard.press('Escape');
	const sel = await page.$('#device-list li[aria-selected="true"]');
	if (!sel || (await sel.getAttribute('data-device')) !== 'phone')
		await selectDevice(page, 'phone');
	if ((await page.inputValue('#range-preset')) !== 'today')
		await page.selectOption('#range-preset', 'today');
	await waitTrack(page, 2);
	await page.click('#fit');
}

/* Hours the test zone is ahead of UTC (Etc/GMT-N is UTC+N). */
function zoneHours() {
	const m = /^Etc\/GMT([+-]\d+)?$/.exec(T.zone);
	return m && m[1] ? -Number(m[1]) : 0;
}

/* yyyy-mm-dd in the test zone, n days from today there. */
function zoneDate(now, n) {
	const h = zoneHours() * 3600000;
	return new Date(Math.floor((now + h) / DAY_MS) * DAY_MS + n * DAY_MS).toISOString().slice(0, 10);
}

const CAR_HOME = [52.5200, 13.4000];
const CAR_WORK = [52.5650, 13.4600];   /* ~6.5 km north-east */

function carDays(now) {
	const h = zoneHours() * 3600000;
	const midnight = Math.floor((now + h) / DAY_MS) * DAY_MS - h;   /* today's, in UTC ms */
	const out = [];
	let t;
	const stay = (at, minutes, every) => {
		for (let i = 0; i < minutes * 60 / every; i++) {
			const j = ((i * 7919) % 11 - 5) * 1e-5;
			out.push({ t, lat: at[0] + j, lon: at[1] - j });
			t += every * 1000;
		}
	};
	const drive = (a, b, minutes, every) => {
		const n = minutes * 60 / every;
		for (let i = 1; i <= n; i++) {
			out.push({ t, lat: a[0] + (b[0] - a[0]) * i / n, lon: a[1] + (b[1] - a[1]) * i / n });
			t += every * 1000;
		}
	};
	t = midnight - 2 * DAY_MS + 10 * 3600000;
	stay(CAR_WORK, 30, 60);
	t = midnight - DAY_MS + 8 * 3600000;
	stay(CAR_HOME, 20, 30);
	drive(CAR_HOME, CAR_WORK, 12, 10);
	stay(CAR_WORK, 30, 60);
	drive(CAR_WORK, CAR_HOME, 12, 10);
	stay(CAR_HOME, 20, 30);
	return out;
}

const DAY_MS = 86400000;

/* The test zone's offset as ISO 8601 (+HH:00 / -HH:00). */
function zoneOffset() {
	const h = zoneHours();
	return (h < 0 ? '-' : '+') + String(Math.abs(h)).padStart(2, '0') + ':00';
}

const tests = [];
/* always: run even when -k leaves the test out (later tests need it). */
const test = (name, fn, always) => tests.push({ name, fn, always: !!always });

/* ------------------------------------------------------------------ */

test('static: page and assets served from memory with type, ETag, CSP', async () => {
	const m = T.m;
	let r = await m.web('GET', '/');
	assert.equal(r.status, 200);
	assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
	assert.equal(r.headers['cache-control'], 'no-cache');
	assert.equal(r.body.toString(), fs.readFileSync(path.join(ROOT, 'web', 'index.html'), 'utf8'));
	const csp = r.headers['content-security-policy'] || '';
	for (const want of ["default-src 'none'", "script-src 'self'", "style-src 'self'",
		"connect-src 'self'", "frame-ancestors 'none'"])
		assert.ok(csp.includes(want), 'CSP lacks ' + want + ': ' + csp);
	assert.match(csp, new RegExp("img-src 'self' data: " + T.tileBase.replace(/[.]/g, '\\.') + '(;|$)'));
	assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), 'CSP allows unsafe-*: ' + csp);
	const etag = r.headers.etag;
	assert.match(etag || '', /^"[^"]+"$/);

	r = await m.web('GET', '/', { 'If-None-Match': etag });
	assert.equal(r.status, 304);
	assert.equal(r.body.length, 0);
	assert.equal(r.headers.etag, etag);
	r = await m.web('GET', '/', { 'If-None-Match': '"nope", W/' + etag });
	assert.equal(r.status, 304, 'weak ETag in a list');
	r = await m.web('GET', '/', { 'If-None-Match': '"nope"' });
	assert.equal(r.status, 200);
	r = await m.web('HEAD', '/');
	assert.equal(r.status, 200);
	assert.equal(r.body.length, 0);

	const types = {
		'/static/app.js': 'text/javascript; charset=utf-8',
		'/static/style.css': 'text/css; charset=utf-8',
		'/static/leaflet.js': 'text/javascript; charset=utf-8',
		'/static/leaflet.css': 'text/css; charset=utf-8',
		'/static/qrcode.js': 'text/javascript; charset=utf-8',
		'/static/images/marker-icon.png': 'image/png',
		'/static/images/layers-2x.png': 'image/png',
	};
	for (const p of Object.keys(types)) {
		r = await m.web('GET', p);
		assert.equal(r.status, 200, p);
		assert.equal(r.headers['content-type'], types[p], p);
		assert.ok(r.headers.etag && r.headers['content-security-policy'], p + ' lacks ETag or CSP');
		assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
	}
	r = await m.web('GET', '/static/leaflet.js');
	assert.ok(r.body.equals(fs.readFileSync(path.join(ROOT, 'web/node_modules/leaflet/dist/leaflet.js'))),
		'leaflet.js differs from web/node_modules');
	r = await m.web('GET', '/static/images/marker-icon.png');
	assert.equal(r.body.subarray(1, 4).toString(), 'PNG');
	r = await m.web('GET', '/static/app.js', { 'If-None-Match': (await m.web('GET', '/static/app.js')).headers.etag });
	assert.equal(r.status, 304);

	/* Only table keys: nothing reaches the filesystem. */
	for (const p of ['/static/../Makefile', '/static/%2e%2e/Makefile', '/static/..%2fMakefile',
		'/static/nope.js', '/static/web/index.html', '/static//etc/passwd', '/static/images/',
		'/static/app.js/', '/index.html', '/app.js'])
		assert.equal((await m.web('GET', p)).status, 404, p);
});

test('CSP: the tile host from tile_url, {s} as a wildcard, nothing for odd values', async () => {
	const cases = [
		['https://{s}.tile.example.org/{z}/{x}/{y}.png', ' https://*.tile.example.org'],
		['https://a{s}.example.org/{z}/{x}/{y}.png', ' https://*.example.org'],
		['http://tiles.example.org:8080/t/{z}/{x}/{y}.png?key=k', ' http://tiles.example.org:8080'],
		['/tiles/{z}/{x}/{y}.png', ''],
		['https://evil.example; script-src *', ''],
		['https://{s}.org/{z}/{x}/{y}.png', ''],
	];
	const m = new Mintrac(BIN);
	try {
		for (const [url, want] of cases) {
			await m.run({ MINTRAC_TILE_URL: url });
			const r = await m.web('GET', '/');
			const problems = await m.stop();
			assert.equal(r.status, 200);
			const img = /img-src ([^;]*)/.exec(r.headers['content-security-policy'])[1];
			assert.equal(img, "'self' data:" + want, 'tile_url ' + url);
			assert.equal(problems, '');
		}
	} finally {
		m.close();
	}
});

test('login: a wrong password shows #login-error', async () => {
	const { page } = await newPage('main');
	T.page = page;
	T.ctx = page.context();
	await page.goto(T.m.base + '/');
	await page.waitForSelector('#login-form', { state: 'visible' });
	assert.equal(await page.isVisible('#app'), false, '#app visible before signing in');
	await page.fill('#login-user', USER);
	await page.fill('#login-password', 'not-the-password');
	await page.click('#login-submit');
	await page.waitForSelector('#login-error', { state: 'visible' });
	assert.match(await page.textContent('#login-error'), /wrong/i);
	assert.equal(await page.isVisible('#app'), false);
}, true);

test('login: the right password shows #app with the user name', async () => {
	const page = T.page;
	await page.fill('#login-password', PASSWORD);
	await page.click('#login-submit');
	await page.waitForSelector('#app', { state: 'visible' });
	assert.equal(await page.isVisible('#login-form'), false);
	assert.equal((await page.textContent('#user-name')).trim(), USER);
}, true);

test('devices: listed with the last fix; names are text, never HTML', async () => {
	const page = T.page;
	await page.waitForSelector('#device-list li[data-device="phone"]');
	const li = await page.$('#device-list li[data-device="phone"]');
	assert.match(await li.textContent(), /ago|just now/);
	assert.match(await li.textContent(), new RegExp(TODAY_FIXES + ' fixes'));
	const evil = await page.evaluate((name) => {
		const el = Array.from(document.querySelectorAll('#device-list li')).find((x) => x.dataset.device === name);
		return el ? { text: el.querySelector('.name').textContent, imgs: el.querySelectorAll('img').length } : null;
	}, EVIL_NAME);
	assert.ok(evil, 'device ' + EVIL_NAME + ' not listed');
	assert.equal(evil.text, EVIL_NAME);
	assert.equal(evil.imgs, 0);
	assert.equal(await page.isVisible('#devices-empty'), false);
	/* The device that moved last is selected at start. */
	assert.equal(await li.getAttribute('aria-selected'), 'true');
});

test('range: yesterday shows the empty state, today the track', async () => {
	const page = T.page;
	await waitTrack(page, 1);
	await page.selectOption('#range-preset', 'yesterday');
	await page.waitForSelector('#track-empty', { state: 'visible' });
	assert.match(await page.textContent('#track-empty'), /No fixes/);
	assert.equal(await page.$$eval('#map path.track', (l) => l.length), 0);
	assert.equal(await page.getAttribute('#map', 'data-points'), '0');
	/* It offers the day that has data. */
	assert.equal(await page.isVisible('#track-suggest'), true);
	await page.selectOption('#range-preset', 'today');
	await waitTrack(page, 2);
	assert.equal(await page.isVisible('#track-empty'), false);
	assert.ok((await page.$$('#map path.track')).length > 0);
});

test('track: the vertices drawn are the fixes the API returns for that zoom', async () => {
	const page = T.page;
	const info = await trackInfo(page);
	assert.equal(info.device, 'phone');
	assert.ok(info.zoom !== undefined, '#map has no data-zoom');
	/* Neighbouring colour runs share the fix where the colour changes. */
	assert.equal(info.vertices - (info.paths - 1), info.points, JSON.stringify(info));
	const thinned = await apiCount(page, { device: 'phone', from: info.from, to: info.to, zoom: info.zoom });
	assert.equal(info.points, thinned, 'drawn vs API at zoom ' + info.zoom);
	const all = await apiCount(page, { device: 'phone', from: info.from, to: info.to });
	assert.equal(all, TODAY_FIXES, 'fixes stored today');
	assert.ok(thinned <= all);
	assert.ok(info.paths >= 3, 'speeds in several buckets should give several colours, got ' + info.paths);
	assert.ok(info.summary.includes(thinned.toLocaleString('en-US') + ' fix'), info.summary);
});

test('7 days: zooming in two levels fetches the track for the new zoom', async () => {
	const page = T.page;
	await home(page);
	await page.selectOption('#range-preset', '7d');
	await waitTrack(page, 2);
	const z0 = Number((await trackInfo(page)).zoom);
	for (let i = 0; i < 2; i++) {
		await page.click('.leaflet-control-zoom-in');
		await page.waitForTimeout(400);   /* the zoom animation */
	}
	await page.waitForFunction((z) => Number(document.getElementById('map').dataset.zoom) === z + 2,
		z0, { timeout: 5000 });
	await waitTrack(page, 2);
	/* Parts of the track now off screen are not drawn (Leaflet skips
	 * them), so only the count of fixes is compared. */
	const info = await trackInfo(page);
	assert.equal(info.points, await apiCount(page, { device: 'phone', from: info.from, to: info.to, zoom: info.zoom }));
	await page.selectOption('#range-preset', 'today');
	await waitTrack(page, 2);
});

test('popup: a click on the track shows the nearest fix with its time zone', async () => {
	const page = T.page;
	await home(page);
	const pt = await pointOnTrack(page);
	assert.ok(pt, 'no clickable point on the track');
	await page.mouse.click(pt.x, pt.y);
	await page.waitForSelector('.fix-popup', { state: 'visible', timeout: 3000 });
	const text = await page.textContent('.fix-popup');
	const zone = await page.evaluate(() => new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' })
		.formatToParts(new Date()).find((p) => p.type === 'timeZoneName').value);
	assert.ok(text.includes(zone), 'popup time lacks the zone ' + zone + ': ' + text);
	assert.match(text, /km\/h/);
	assert.match(text, /Altitude/);
	assert.match(text, /Accuracy/);
	assert.match(text, /Battery\s*\d+ %/);
	fs.mkdirSync(SHOTS, { recursive: true });
	await page.waitForTimeout(400);   /* the popup's fade and auto-pan */
	await page.screenshot({ path: path.join(SHOTS, 'popup-1280x800.png') });
});

test('units: mph is remembered across a reload, and so is the session', async () => {
	const page = T.page;
	await home(page);
	await page.selectOption('#units', 'mph');
	let pt = await pointOnTrack(page);
	await page.mouse.click(pt.x, pt.y);
	await page.waitForFunction(() => /mph/.test((document.querySelector('.fix-popup') || {}).textContent || ''));
	await page.reload();
	await page.waitForSelector('#app', { state: 'visible' });
	assert.equal(await page.inputValue('#units'), 'mph');
	await waitTrack(page, 2);
	pt = await pointOnTrack(page);
	await page.mouse.click(pt.x, pt.y);
	await page.waitForSelector('.fix-popup', { state: 'visible' });
	assert.match(await page.textContent('.fix-popup'), /mph/);
	await page.selectOption('#units', 'kmh');
});

test('live: a fix posted to the receiver shows within 2 s', async () => {
	const page = T.page;
	await home(page);
	await page.waitForFunction(() => document.getElementById('live-status').textContent === 'live',
		null, { timeout: 5000 });
	const before = await page.evaluate(() => ({
		points: Number(document.getElementById('map').dataset.points),
		marker: (document.querySelector('path.live-marker[data-device="phone"]') || {}).getAttribute
			? document.querySelector('path.live-marker[data-device="phone"]').getAttribute('d') : null,
	}));
	assert.ok(before.marker, 'no .live-marker for phone');
	const fix = { t: Date.now(), lat: 48.15, lon: 11.60, speed: 3, alt: 530, acc: 5, batt: 70 };
	const r = await T.m.receiver('GET', osmandQuery(T.tokens.phone, fix));
	assert.equal(r.status, 200, 'receiver: ' + r.body);
	const t0 = Date.now();
	await page.waitForFunction((b) => {
		const m = document.querySelector('path.live-marker[data-device="phone"]');
		return Number(document.getElementById('map').dataset.points) === b.points + 1 &&
			m && m.getAttribute('d') !== b.marker;
	}, before, { timeout: LIVE_WITHIN_MS + 500 });
	const took = Date.now() - t0;
	assert.ok(took <= LIVE_WITHIN_MS, 'live fix took ' + took + ' ms');
	T.liveFixes = 1;
});

test('a device with no fix today shows the day of its last fix and says so', async () => {
	const page = T.page;
	await home(page);
	await selectDevice(page, 'old trip');
	await page.waitForSelector('#range-note', { state: 'visible' });
	assert.match(await page.textContent('#range-note'), /No fixes today/);
	assert.equal(await page.inputValue('#range-preset'), 'custom');
	await waitTrack(page, 2);
	const info = await trackInfo(page);
	const n = await apiCount(page, { device: 'old trip', from: info.from, to: info.to, zoom: info.zoom });
	assert.equal(info.points, n);
	await selectDevice(page, 'phone');
	await page.waitForFunction(() => document.getElementById('range-preset').value === 'today');
	await waitTrack(page, 2);
});

test('download: the link is for the device, range and format shown', async () => {
	const page = T.page;
	await home(page);
	await page.selectOption('#download-format', 'gpx');
	const href = await page.getAttribute('#download', 'href');
	const q = new URLSearchParams(href.split('?')[1]);
	assert.equal(q.get('device'), 'phone');
	assert.equal(q.get('format'), 'gpx');
	assert.ok(!q.has('zoom'), 'a download is never thinned');
	const got = await page.evaluate(async (u) => {
		const r = await fetch(u);
		return { status: r.status, text: await r.text() };
	}, href);
	assert.equal(got.status, 200);
	assert.equal((got.text.match(/<trkpt /g) || []).length, TODAY_FIXES + (T.liveFixes || 0));
	await page.selectOption('#download-format', 'csv');
	assert.match(await page.getAttribute('#download', 'href'), /format=csv/);
});

test('devices dialog: add shows a token that works at the receiver', async () => {
	const page = T.page;
	await home(page);
	await page.click('#add-device');
	await page.waitForSelector('#devices-dialog', { state: 'visible' });
	await page.fill('#new-device-name', 'bike');
	await page.click('#new-device-submit');
	await page.waitForFunction(() => document.getElementById('device-token').textContent.length > 0,
		null, { timeout: 5000 });
	const token = (await page.textContent('#device-token')).trim();
	assert.match(token, /^[A-Za-z0-9_-]{22,}$/);
	assert.ok((await page.textContent('#device-settings')).includes(token), 'settings text lacks the token');
	assert.match(await page.getAttribute('#device-qr', 'src'), /^data:image\//);
	const r = await T.m.receiver('GET', osmandQuery(token, { t: Date.now(), lat: 48.1, lon: 11.5 }));
	assert.equal(r.status, 200, 'receiver refused the new token: ' + r.body);
	await page.waitForSelector('#device-list li[data-device="bike"]');
	T.tokens.bike = token;
	fs.mkdirSync(SHOTS, { recursive: true });
	await page.screenshot({ path: path.join(SHOTS, 'devices-dialog-1280x800.png') });
});

test('devices dialog: rename, new token (old one refused), delete', async () => {
	const page = T.page;
	if (await page.isVisible('#devices-dialog')) {
		await page.click('#dialog-close');
		await page.waitForSelector('#devices-dialog', { state: 'hidden' });
	}
	await selectDevice(page, 'bike');
	await page.click('#edit-device');
	await page.fill('#rename-name', 'bike 2');
	await page.click('#rename-device');
	await page.waitForSelector('#device-list li[data-device="bike 2"]');
	assert.equal(await page.$('#device-list li[data-device="bike"]'), null);

	page.once('dialog', (d) => d.accept());
	await page.click('#regen-token');
	await page.waitForFunction((old) => {
		const t = document.getElementById('device-token').textContent;
		return t && t !== old;
	}, T.tokens.bike, { timeout: 5000 });
	const token = (await page.textContent('#device-token')).trim();
	const fix = { t: Date.now(), lat: 48.2, lon: 11.4 };
	assert.equal((await T.m.receiver('GET', osmandQuery(T.tokens.bike, fix))).status, 401, 'old token still works');
	assert.equal((await T.m.receiver('GET', osmandQuery(token, fix))).status, 200, 'new token refused');

	let asked = '';
	page.once('dialog', (d) => { asked = d.message(); d.accept(); });
	await page.click('#delete-device');
	await page.waitForSelector('#device-list li[data-device="bike 2"]', { state: 'detached' });
	assert.match(asked, /bike 2/);
	assert.ok(!T.m.cli('device', 'list', USER).includes('bike'), 'device still in device list');
});

test('delete a range: the count first, nothing gone until confirmed, then the track refreshes', async () => {
	const page = T.page;
	const token = T.m.addDevice(USER, 'walk').token;
	const now = Date.now();
	/* 20 fixes in the last 40 minutes (today in the browser's zone, where
	 * it is about noon) and 10 the day before. */
	for (let i = 0; i < 30; i++) {
		const f = i < 20
			? { t: now - 40 * 60000 + i * 120000, lat: 48.1 + i * 0.001, lon: 11.5, speed: 5 }
			: { t: now - DAY_MS + (i - 20) * 60000, lat: 48.2, lon: 11.6 + i * 0.001, speed: 5 };
		const r = await T.m.receiver('GET', osmandQuery(token, f));
		assert.equal(r.status, 200, r.body);
	}
	const today = zoneDate(now, 0);
	const yesterday = zoneDate(now, -1);
	const day = (d) => ({ device: 'walk', from: d + 'T00:00:00' + zoneOffset(), to: d + 'T23:59:59.999' + zoneOffset() });
	await page.evaluate(() => {
		const d = document.getElementById('devices-dialog');
		if (d.open) d.close();
	});
	await page.reload();
	await page.waitForSelector('#app', { state: 'visible' });
	await selectDevice(page, 'walk');
	if ((await page.inputValue('#range-preset')) !== 'today')
		await page.selectOption('#range-preset', 'today');
	await waitTrack(page, 2);
	await page.click('#edit-device');
	await page.waitForSelector('#dlg-delete-range', { state: 'visible' });
	/* The range shown on the map is offered. */
	assert.equal(await page.inputValue('#delete-from'), today);
	assert.equal(await page.inputValue('#delete-to'), today);
	await page.click('#delete-count');
	await page.waitForSelector('#delete-confirm', { state: 'visible' });
	assert.match(await page.textContent('#delete-count-text'), /^20 fixes of \u201cwalk\u201d on .* will be deleted for good\.$/);
	assert.equal(await page.textContent('#delete-range'), 'Delete 20 fixes');
	fs.mkdirSync(SHOTS, { recursive: true });
	await page.screenshot({ path: path.join(SHOTS, 'delete-range-1280x800.png') });
	/* Counting deleted nothing; a changed range asks for a new count. */
	assert.equal(await apiCount(page, { device: 'walk', from: yesterday + 'T00:00:00' + zoneOffset(),
		to: today + 'T23:59:59' + zoneOffset() }), 30);
	await page.fill('#delete-from', yesterday);
	await page.waitForSelector('#delete-confirm', { state: 'hidden' });
	await page.fill('#delete-from', today);
	await page.click('#delete-count');
	await page.waitForSelector('#delete-range', { state: 'visible' });
	await page.click('#delete-range');
	await page.waitForFunction(() => document.getElementById('delete-done').textContent === 'Deleted 20 fixes.');
	/* The map shows today's track again: nothing left. */
	await page.waitForFunction(() => document.getElementById('map').dataset.points === '0' &&
		!/Loading/.test(document.getElementById('track-summary').textContent));
	assert.equal(await apiCount(page, day(today)), 0);
	assert.equal(await apiCount(page, day(yesterday)), 10);
	const devs = await page.evaluate(async () => (await (await fetch('/api/devices')).json()));
	assert.equal(devs.find((d) => d.name === 'walk').points, 10);
	await page.click('#dialog-close');
	T.m.cli('device', 'del', USER, 'walk');
	await page.reload();
	await page.waitForSelector('#app', { state: 'visible' });
});

test('import dialog: a file uploads with a progress bar, then its summary; a bad one says why', async () => {
	const page = T.page;
	T.m.addDevice(USER, 'imported');
	await page.reload();
	await page.waitForSelector('#app', { state: 'visible' });
	await selectDevice(page, 'imported');
	await page.click('#edit-device');
	await page.waitForSelector('#dlg-import', { state: 'visible' });
	/* 400 fixes of a GPX track an hour ago, one a second. */
	const t0 = Date.now() - 3600 * 1000;
	let pts = '';
	for (let i = 0; i < 400; i++)
		pts += '<trkpt lat="' + (48.1 + i * 1e-4).toFixed(6) + '" lon="11.5"><time>' +
			new Date(t0 + i * 1000).toISOString() + '</time></trkpt>\n';
	const gpx = '<gpx version="1.1"><trk><trkseg>\n' + pts + '</trkseg></trk></gpx>\n';
	await page.setInputFiles('#import-file', { name: 'walk.gpx', mimeType: 'application/gpx+xml',
		buffer: Buffer.from(gpx) });
	await page.click('#import-submit');
	await page.waitForSelector('#import-summary', { state: 'visible' });
	assert.equal(await page.textContent('#import-summary-text'), '400 fixes read, 400 stored, 0 already stored.');
	assert.equal(await page.evaluate(() => document.getElementById('import-progress').value), 1);
	assert.equal(await page.textContent('#import-status'), 'Done.');
	fs.mkdirSync(SHOTS, { recursive: true });
	await page.screenshot({ path: path.join(SHOTS, 'import-1280x800.png') });
	const devs = await page.evaluate(async () => (await (await fetch('/api/devices')).json()));
	assert.equal(devs.find((d) => d.name === 'imported').points, 400);
	/* The same file again: nothing twice. A cut-off file: nothing of it, and why. */
	await page.setInputFiles('#import-file', { name: 'walk.gpx', mimeType: 'application/gpx+xml',
		buffer: Buffer.from(gpx) });
	await page.click('#import-submit');
	await page.waitForFunction(() => document.getElementById('import-summary-text').textContent ===
		'400 fixes read, 0 stored, 400 already stored.');
	await page.setInputFiles('#import-file', { name: 'cut.gpx', mimeType: 'application/gpx+xml',
		buffer: Buffer.from(gpx.slice(0, gpx.length / 2)) });
	await page.click('#import-submit');
	await page.waitForFunction(() => /^Import failed: cut\.gpx.*Nothing of that file was stored\.$/.test(
		document.getElementById('import-summary-text').textContent));
	let jobs = await page.evaluate(async () => (await (await fetch('/api/imports')).json()));
	assert.deepEqual(jobs.map((j) => j.state), ['failed', 'done', 'done']);
	/* A folder of tracks: the files one after the other, a line each. */
	const day2 = (k) => gpx.replace(/<time>([^<]+)<\/time>/g, (m, t) =>
		'<time>' + new Date(Date.parse(t) - k * 86400000).toISOString() + '</time>');
	await page.setInputFiles('#import-file', [
		{ name: 'a.gpx', mimeType: 'application/gpx+xml', buffer: Buffer.from(day2(1)) },
		{ name: 'b.gpx', mimeType: 'application/gpx+xml', buffer: Buffer.from(day2(2)) },
	]);
	await page.click('#import-submit');
	await page.waitForFunction(() => document.getElementById('import-summary-text').textContent ===
		'2 files: 800 fixes read, 800 stored, 0 already stored.');
	assert.deepEqual(await page.$$eval('#import-files li', (els) => els.map((e) => e.textContent)),
		['a.gpx: 400 stored, 0 already stored', 'b.gpx: 400 stored, 0 already stored']);
	jobs = await page.evaluate(async () => (await (await fetch('/api/imports')).json()));
	assert.deepEqual(jobs.slice(0, 2).map((j) => j.name), ['b.gpx', 'a.gpx']);
	/* Dropped on the section: the same as chosen. */
	await page.evaluate((text) => {
		const dt = new DataTransfer();
		dt.items.add(new File([text], 'dropped.gpx', { type: 'application/gpx+xml' }));
		const sec = document.getElementById('dlg-import');
		sec.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
		sec.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
	}, day2(3));
	await page.waitForFunction(() => document.getElementById('import-summary-text').textContent ===
		'400 fixes read, 400 stored, 0 already stored.');
	const after = await page.evaluate(async () => (await (await fetch('/api/devices')).json()));
	assert.equal(after.find((d) => d.name === 'imported').points, 1600);
	await page.click('#dialog-close');
	T.m.cli('device', 'del', USER, 'imported');
	await page.reload();
	await page.waitForSelector('#app', { state: 'visible' });
});

test('screenshots: 1280x800 and 390x844 look right', async () => {
	const page = T.page;
	await home(page);
	fs.mkdirSync(SHOTS, { recursive: true });
	await selectDevice(page, 'phone');
	await waitTrack(page, 2);
	await page.click('#fit');
	await page.screenshot({ path: path.join(SHOTS, 'map-1280x800.png') });
	let box = await page.evaluate(() => {
		const r = (id) => document.getElementById(id).getBoundingClientRect();
		return { map: r('map'), panel: r('panel') };
	});
	assert.ok(box.panel.right <= box.map.left + 1, 'desktop: panel beside the map');
	assert.ok(box.map.width > 700 && box.map.height > 600, 'desktop: map size ' + JSON.stringify(box.map));

	await page.setViewportSize({ width: 390, height: 844 });
	await page.waitForTimeout(200);
	await page.click('#fit');
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.screenshot({ path: path.join(SHOTS, 'map-390x844.png') });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.screenshot({ path: path.join(SHOTS, 'map-390x844-dark.png'), fullPage: true });
	box = await page.evaluate(() => {
		const r = (id) => document.getElementById(id).getBoundingClientRect();
		return { map: r('map'), panel: r('panel'), scrollWidth: document.documentElement.scrollWidth };
	});
	assert.ok(box.panel.top >= box.map.bottom - 1, 'phone: panel under the map');
	assert.ok(box.map.width >= 389 && box.map.height > 300, 'phone: map size ' + JSON.stringify(box.map));
	assert.ok(box.scrollWidth <= 390, 'phone: page scrolls sideways (' + box.scrollWidth + ' px)');
	await page.emulateMedia({ colorScheme: 'light' });
	await page.setViewportSize({ width: 1280, height: 800 });
	for (const f of ['map-1280x800.png', 'map-390x844.png', 'map-390x844-dark.png'])
		assert.ok(fs.statSync(path.join(SHOTS, f)).size > 5000, f);
});

test('keyboard: device list items are reachable and selectable, focus is visible', async () => {
	const page = T.page;
	await home(page);
	await page.focus('#device-list li:first-child');
	await page.keyboard.press('ArrowDown');
	const focused = await page.evaluate(() => document.activeElement.dataset.device);
	assert.ok(focused, 'ArrowDown left the list');
	await page.keyboard.press('Enter');
	await page.waitForFunction((n) => {
		const li = Array.from(document.querySelectorAll('#device-list li')).find((x) => x.dataset.device === n);
		return li && li.getAttribute('aria-selected') === 'true';
	}, focused);
	await page.keyboard.press('Tab');
	const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
	assert.notEqual(outline, 'none', 'no visible focus on ' + await page.evaluate(() => document.activeElement.id));
	await selectDevice(page, 'phone');
	await waitTrack(page, 2);
});

/* Runs before the day view's tests: they count days in the browser's zone. */
test('zone: the page offers the browser zone when the user has another, and PATCHes it', async () => {
	const page = T.page;
	const me = await page.evaluate(async () => (await fetch('/api/me')).json());
	const bz = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
	assert.notEqual(me.timezone, bz, 'the user starts in the browser zone; the test needs them to differ');
	await page.waitForSelector('#zone-offer', { state: 'visible' });
	const text = await page.textContent('#zone-offer-text');
	assert.ok(text.includes(me.timezone) && text.includes(bz), text);
	const [req] = await Promise.all([
		page.waitForRequest((r) => r.url().endsWith('/api/me') && r.method() === 'PATCH'),
		page.click('#zone-use'),
	]);
	assert.deepEqual(JSON.parse(req.postData()), { timezone: bz });
	await page.waitForSelector('#zone-offer', { state: 'hidden' });
	const after = await page.evaluate(async () => (await fetch('/api/me')).json());
	assert.equal(after.timezone, bz);
}, true);

async function timeline(page, device, date) {
	return page.evaluate(async (q) => (await fetch('/api/timeline?' + new URLSearchParams(q))).json(),
		{ device, date });
}

/* The car's yesterday, once the deriver has made its stays and trips. */
async function carDay(page) {
	await home(page);
	const date = zoneDate(Date.now(), -1);
	for (let i = 0; i < 100; i++) {
		const tl = await timeline(page, 'car', date);
		if (tl.segments && tl.segments.filter((s) => s.kind === 'stay').length >= 3 &&
			tl.segments.some((s) => s.kind === 'trip')) break;
		await sleep(100);
	}
	await selectDevice(page, 'car');
	await waitTrack(page, 2);
	await page.waitForFunction(() => document.getElementById('day-date').dataset.date);
	for (let i = 0; i < 10; i++) {
		const shown = await page.getAttribute('#day-date', 'data-date');
		if (shown === date) break;
		await page.click(shown > date ? '#day-prev' : '#day-next');
		await page.waitForFunction((d) => document.getElementById('day-date').dataset.date !== d, shown);
	}
	await page.waitForFunction(() => document.querySelectorAll('#day-list li[data-kind="trip"]').length >= 2);
	return { date, tl: await timeline(page, 'car', date) };
}

test('day view: stays and trips of a day, times in the user zone, distance and mode', async () => {
	const page = T.page;
	const { tl } = await carDay(page);
	const shown = await page.$$eval('#day-list li', (l) => l.map((x) => ({
		kind: x.dataset.kind, what: x.querySelector('.what').textContent, when: x.querySelector('.when').textContent,
	})));
	assert.equal(shown.length, tl.segments.length);
	const clock = new Intl.DateTimeFormat('en-US', { timeZone: tl.timezone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
	assert.equal(tl.timezone, await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone));
	for (let i = 0; i < shown.length; i++) {
		const s = tl.segments[i];
		assert.equal(shown[i].kind, s.kind);
		assert.ok(shown[i].when.includes(clock.format(new Date(s.start)) + '\u2013'), shown[i].when);
		if (s.kind === 'trip') {
			assert.ok(shown[i].what.includes((s.distance / 1000).toFixed(1) + ' km'), shown[i].what);
			assert.ok(shown[i].what.includes(s.mode), shown[i].what + ' lacks ' + s.mode);
		} else if (s.place) {
			const p = s.place;
			assert.equal(shown[i].what, p.name || [p.city, p.country].filter(Boolean).join(', ') || 'Unnamed place');
		}
	}
	/* The day's first stay starts at 08:00 in the browser's zone, the user's now. */
	const first = shown.find((x) => x.kind === 'stay');
	assert.ok(first.when.startsWith('08:00'), first.when);
	assert.ok(shown.filter((x) => x.kind === 'stay').length >= 3);
	assert.ok(tl.segments.some((s) => s.kind === 'trip' && s.distance > 5000));
});

test('day view: previous and next day change the date and the entries', async () => {
	const page = T.page;
	const { date } = await carDay(page);
	await page.click('#day-prev');
	const before = zoneDate(Date.now(), -2);
	await page.waitForFunction((d) => document.getElementById('day-date').dataset.date === d, before);
	/* That day: the stay at work from 10:00, then the gap to the next morning. */
	await page.waitForFunction(() => {
		const stays = document.querySelectorAll('#day-list li[data-kind="stay"]');
		return stays.length === 1 && /^10:00/.test(stays[0].querySelector('.when').textContent) &&
			document.querySelectorAll('#day-list li[data-kind="trip"]').length <= 1;
	});
	await page.click('#day-prev');
	await page.waitForFunction((d) => document.getElementById('day-date').dataset.date === d, zoneDate(Date.now(), -3));
	await page.waitForSelector('#day-empty', { state: 'visible' });
	assert.match(await page.textContent('#day-empty'), /no stays or trips/i);
	await page.click('#day-next');
	await page.click('#day-next');
	await page.waitForFunction((d) => document.getElementById('day-date').dataset.date === d, date);
	await page.waitForFunction(() => document.querySelectorAll('#day-list li[data-kind="trip"]').length >= 2);
	assert.equal(await page.isVisible('#day-empty'), false);
});

test('day view: a click on an entry fits the map to it', async () => {
	const page = T.page;
	const { tl } = await carDay(page);
	/* The page keeps the map's view in data attributes after each move. */
	const view = () => page.evaluate(() => {
		const d = document.getElementById('map').dataset;
		const [s, w, n, e] = d.bounds.split(',').map(Number);
		const [lat, lon] = d.center.split(',').map(Number);
		return { s, w, n, e, lat, lon };
	});
	const trip = tl.segments.findIndex((s) => s.kind === 'trip');
	await page.click('#day-list li:nth-child(' + (trip + 1) + ')');
	let v = await view();
	const s = tl.segments[trip];
	for (const p of [s.from, s.to])
		assert.ok(p.lat >= v.s && p.lat <= v.n && p.lon >= v.w && p.lon <= v.e, JSON.stringify({ p, v }));
	const stay = tl.segments.findIndex((x) => x.kind === 'stay');
	await page.focus('#day-list li:nth-child(' + (stay + 1) + ')');
	await page.keyboard.press('Enter');
	v = await view();
	const st = tl.segments[stay];
	assert.ok(st.lat >= v.s && st.lat <= v.n && st.lon >= v.w && st.lon <= v.e, JSON.stringify({ st, v }));
	assert.ok(v.n - v.s < 0.05, 'the stay fills the map: ' + JSON.stringify(v));
	assert.ok(Math.abs(v.lat - st.lat) < 0.001 && Math.abs(v.lon - st.lon) < 0.001, 'centred on the stay');
});

test('day view: renaming a place in place names every stay of it', async () => {
	const page = T.page;
	const { tl, date } = await carDay(page);
	const homeStays = tl.segments.filter((s) => s.kind === 'stay' && s.place &&
		Math.abs(s.lat - CAR_HOME[0]) < 0.001);
	assert.ok(homeStays.length >= 2, 'two stays at home: ' + JSON.stringify(tl.segments));
	const id = String(homeStays[0].place.id);
	assert.ok(homeStays.every((s) => String(s.place.id) === id), 'one place for home');
	const li = '#day-list li[data-place="' + id + '"]';
	await page.click(li + ' .rename-place');
	await page.fill(li + ' form input', 'Home sweet home');
	await page.keyboard.press('Enter');
	await page.waitForFunction((sel) => {
		const l = Array.from(document.querySelectorAll(sel));
		return l.length >= 2 && l.every((x) => x.querySelector('.what').textContent === 'Home sweet home' && !x.querySelector('form'));
	}, li);
	const after = await timeline(page, 'car', date);
	const named = after.segments.filter((s) => s.kind === 'stay' && s.place && String(s.place.id) === id);
	assert.ok(named.length >= 2 && named.every((s) => s.place.name === 'Home sweet home'), JSON.stringify(named));
	const places = await page.evaluate(async () => (await fetch('/api/places')).json());
	assert.ok(JSON.stringify(places).includes('Home sweet home'));
});

test('stats view: month bars and totals match /api/stats', async () => {
	const page = T.page;
	await carDay(page);
	await page.click('#stats-load');
	await page.waitForSelector('#stats-chart .bar');
	const st = await page.evaluate(async () => (await fetch('/api/stats?device=car')).json());
	assert.ok(st.months.length >= 1 && st.distance > 10000, JSON.stringify(st));
	const bars = await page.$$eval('#stats-chart .bar', (l) => l.map((b) => ({
		month: b.dataset.month, distance: Number(b.dataset.distance), h: b.querySelector('.fill').getBoundingClientRect().height,
	})));
	assert.deepEqual(bars.map((b) => [b.month, b.distance]), st.months.map((m) => [m.month, m.distance]));
	const top = Math.max(...bars.map((b) => b.distance));
	const tallest = bars.find((b) => b.distance === top);
	assert.ok(tallest.h > 50, 'tallest bar ' + tallest.h + ' px');
	const totals = await page.textContent('#stats-totals');
	assert.ok(totals.includes((st.distance / 1000).toFixed(1) + ' km'), totals);
	assert.ok(totals.includes(st.days + ' day'), totals);
	const countries = await page.textContent('#stats-countries');
	for (const c of st.countries) assert.ok(countries.includes(c.name || c.code), countries);
	const cities = await page.textContent('#stats-cities');
	for (const c of st.cities) assert.ok(cities.includes(c.name), cities);
});

test('clean: the toggle adds clean=1 to the track request and is remembered', async () => {
	const page = T.page;
	await home(page);
	const points = (r) => r.url().includes('/api/points?') && !r.url().includes('format=');
	const clean = (r) => new URL(r.url()).searchParams.get('clean');
	/* Other fetches (a zoom's) may be in flight: wait for one asked after the change. */
	await Promise.all([
		page.waitForRequest((r) => points(r) && clean(r) === '1'),
		page.check('#clean'),
	]);
	assert.equal(new URL(await page.getAttribute('#download', 'href'), T.m.base).searchParams.get('clean'), '1');
	await waitTrack(page, 2);
	await page.reload();
	await page.waitForSelector('#app', { state: 'visible' });
	assert.equal(await page.isChecked('#clean'), true);
	await waitTrack(page, 2);
	assert.equal(new URL(await page.getAttribute('#download', 'href'), T.m.base).searchParams.get('clean'), '1');
	await Promise.all([
		page.waitForRequest((r) => points(r) && clean(r) === null),
		page.uncheck('#clean'),
	]);
	assert.equal(new URL(await page.getAttribute('#download', 'href'), T.m.base).searchParams.get('clean'), null);
	await waitTrack(page, 2);
});

test('history views at 390x844 and in dark mode do not overflow', async () => {
	const page = T.page;
	await carDay(page);
	await page.click('#stats-load');
	await page.waitForSelector('#stats-chart .bar');
	await page.setViewportSize({ width: 390, height: 844 });
	await page.emulateMedia({ colorScheme: 'dark' });
	await page.waitForTimeout(200);
	fs.mkdirSync(SHOTS, { recursive: true });
	await page.screenshot({ path: path.join(SHOTS, 'history-390x844-dark.png'), fullPage: true });
	const r = await page.evaluate(() => {
		const out = { scrollWidth: document.documentElement.scrollWidth, wide: [] };
		for (const e of document.querySelectorAll('#day-list li, #day-list li *, .day .section-head *, #stats-body *')) {
			const b = e.getBoundingClientRect();
			if (b.width && b.right > 391) out.wide.push(e.tagName + '.' + e.className + ' ' + b.right);
		}
		const li = document.querySelector('#day-list li');
		out.fg = getComputedStyle(li.querySelector('.what')).color;
		out.bg = getComputedStyle(document.getElementById('panel')).backgroundColor;
		return out;
	});
	await page.emulateMedia({ colorScheme: 'light' });
	await page.setViewportSize({ width: 1280, height: 800 });
	assert.ok(r.scrollWidth <= 390, 'scrolls sideways: ' + r.scrollWidth);
	assert.deepEqual(r.wide, []);
	const lum = (c) => { const n = c.match(/\d+/g).map(Number); return n[0] + n[1] + n[2]; };
	assert.ok(lum(r.fg) > 450 && lum(r.bg) < 200, 'dark: text ' + r.fg + ' on ' + r.bg);
});

test('empty account: says how to add a device', async () => {
	const { ctx, page } = await newPage('newbie', { viewport: { width: 390, height: 844 } });
	try {
		await login(page, EMPTY_USER, EMPTY_PASSWORD);
		await page.waitForSelector('#devices-empty', { state: 'visible' });
		assert.match(await page.textContent('#devices-empty'), /Add device/);
		assert.equal(await page.$$eval('#device-list li', (l) => l.length), 0);
		const csp = await cspViolations(page);
		T.problems.push(...csp.map((v) => 'newbie: CSP violation: ' + v));
	} finally {
		await ctx.close();
	}
});

test('live: after the webapp restarts the stream comes back with the fixes missed', async () => {
	const page = T.page;
	await home(page);
	await page.waitForFunction(() => document.getElementById('live-status').textContent === 'live');
	const pids = T.m.log().match(/webapp started, pid \d+/g) || [];
	assert.ok(pids.length, 'no webapp pid in run.log');
	const pid = Number(pids[pids.length - 1].split('pid ')[1]);
	T.webappDown = true;
	process.kill(pid, 'SIGKILL');
	await page.waitForFunction(() => document.getElementById('live-status').textContent !== 'live',
		null, { timeout: 5000 });
	/* Stored while the page has no stream. */
	const fix = { t: Date.now(), lat: 48.14, lon: 11.58, speed: 2 };
	const r = await T.m.receiver('GET', osmandQuery(T.tokens.phone, fix));
	assert.equal(r.status, 200);
	const iso = new Date(fix.t).toISOString();
	await page.waitForFunction((last) => document.getElementById('live-status').textContent === 'live' &&
		document.getElementById('map').dataset.last === last, iso, { timeout: 15000 });
	await sleep(300);
	T.webappDown = false;
});

test('logout: back to the login form, the session is gone', async () => {
	const page = T.page;
	await page.click('#logout');
	await page.waitForSelector('#login-form', { state: 'visible' });
	assert.equal(await page.isVisible('#app'), false);
	const st = await page.evaluate(async () => (await fetch('/api/session')).status);
	assert.equal(st, 401);
	assert.equal(await page.textContent('#live-status'), 'offline');
});

test('no console errors and no CSP violations', async () => {
	for (const p of T.pages) {
		if (p.isClosed()) continue;
		T.problems.push(...(await cspViolations(p)).map((v) => 'CSP violation: ' + v));
	}
	assert.deepEqual(T.problems, []);
});

/* ------------------------------------------------------------------ */

function withTimeout(promise, ms, name) {
	let timer;
	return Promise.race([
		promise,
		new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(name + ': timed out after ' + ms + ' ms')), ms); }),
	]).finally(() => clearTimeout(timer));
}

async function setUp() {
	const tilePort = await freePort();   /* nothing listens there */
	T.tileBase = 'http://127.0.0.1:' + tilePort;
	T.m = new Mintrac(BIN, {
		tile_url: T.tileBase + '/{z}/{x}/{y}.png',
		tile_attribution: 'Test tiles',
	});
	T.m.addUser(USER, PASSWORD);
	T.m.addUser(EMPTY_USER, EMPTY_PASSWORD);
	T.tokens.phone = T.m.addDevice(USER, 'phone').token;
	T.tokens.old = T.m.addDevice(USER, 'old trip').token;
	T.m.addDevice(USER, EVIL_NAME);
	T.tokens.car = T.m.addDevice(USER, 'car').token;
	await T.m.run();
	const now = Date.now();
	for (const f of todayFixes(now - 60000)) {
		const r = await T.m.receiver('GET', osmandQuery(T.tokens.phone, f));
		if (r.status !== 200) throw new Error('receiver: ' + r.status + ' ' + r.body);
	}
	for (let i = 0; i < OLD_FIXES; i++) {
		const f = { t: now - 3 * 86400000 + i * 60000, lat: 47.5 + i * 0.001 + (i % 2) * 0.0005, lon: 11.0 + i * 0.002, speed: 8 };
		const r = await T.m.receiver('GET', osmandQuery(T.tokens.old, f));
		if (r.status !== 200) throw new Error('receiver: ' + r.status + ' ' + r.body);
	}
	/* The car's yesterday (in the browser's zone): home, drive, work,
	 * drive, home; the day before: a stay at work. */
	const feats = [];
	for (const f of carDays(now)) {
		feats.push({ type: 'Feature', geometry: { type: 'Point', coordinates: [f.lon, f.lat] },
			properties: { timestamp: new Date(f.t).toISOString(), horizontal_accuracy: 8 } });
	}
	const ov = await T.m.receiver('POST', '/overland', {
		Authorization: 'Bearer ' + T.tokens.car, 'Content-Type': 'application/json',
	}, JSON.stringify({ locations: feats }));
	if (ov.status !== 200) throw new Error('overland: ' + ov.status + ' ' + ov.body);
	T.browser = await chromium.launch({
		executablePath: CHROMIUM,
		headless: true,
		args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
			'--disable-background-networking', '--disable-component-update', '--disable-sync'],
		timeout: 30000,
	});
}

async function main() {
	const only = [];
	const argv = process.argv.slice(2);
	for (let i = 0; i < argv.length; i++)
		if (argv[i] === '-k' && argv[i + 1]) only.push(argv[++i]);
	let passed = 0;
	let failed = 0;
	let setupError = null;
	try {
		await withTimeout(setUp(), 60000, 'set-up');
	} catch (e) {
		setupError = e;
	}
	if (setupError) {
		console.log('set-up failed: ' + (setupError.stack || setupError));
		failed++;
	} else {
		console.log('chromium ' + T.browser.version() + ', time zone ' + T.zone + ', ' + T.m.base);
		for (const t of tests) {
			if (only.length && !t.always && !only.some((k) => t.name.includes(k))) continue;
			const t0 = Date.now();
			try {
				await withTimeout(t.fn(), TEST_TIMEOUT_MS, t.name);
				passed++;
				console.log('ok    ' + t.name + ' (' + (Date.now() - t0) + ' ms)');
			} catch (e) {
				failed++;
				console.log('FAIL  ' + t.name + ' (' + (Date.now() - t0) + ' ms)\n      ' +
					String(e && e.message ? e.message : e).split('\n').slice(0, 12).join('\n      '));
				if (T.page && !T.page.isClosed()) {
					fs.mkdirSync(SHOTS, { recursive: true });
					const f = path.join(SHOTS, 'fail-' + t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60) + '.png');
					await T.page.screenshot({ path: f }).catch(() => {});
					console.log('      screenshot: ' + path.relative(ROOT, f));
				}
			}
		}
	}
	if (T.browser) await T.browser.close().catch(() => {});
	if (T.m) {
		const problems = await T.m.stop();
		if (problems) {
			failed++;
			console.log('FAIL  server stopped cleanly\n      ' + problems.split('\n').join('\n      '));
		}
		if (failed && process.env.MINTRAC_KEEP_LOG !== '0') {
			const log = T.m.log().split('\n').slice(-30).join('\n');
			if (log.trim()) console.log('last lines of run.log:\n' + log);
		}
		T.m.close();
	}
	summary(passed, failed);
	return failed ? 1 : 0;
}

main().then((rc) => process.exit(rc), (e) => {
	console.log(e && e.stack ? e.stack : String(e));
	summary(0, 1);
	process.exit(1);
});
